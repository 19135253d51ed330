"""Every location in the lake, resolved from the lake root in one place.

    <lake>/bronze/<source>                   raw rows as landed, one Delta table per source
    <lake>/silver/<table>                    cleaned tables, quarantine, history, dq_issues
    <lake>/gold/<table>                      lifecycle snapshot, unified complaints
    <lake>/_runs/<date>/<run id>.{json,html} run reports
    <lake>/_manifests/bronze/<source>/...    one lineage manifest per ingested input
    <lake>/_quality/validations/...          Great Expectations results (the Data Docs' input)
    <lake>/_state/silver/<entity>.json       which dimension snapshot silver last processed
    <lake>/_data_docs                        the Data Docs site, unless settings put it elsewhere

No other module joins these folder names onto the lake root.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from coretelecoms.platform import storage

if TYPE_CHECKING:  # settings resolve their default report folders here: no import cycle at run time
    from coretelecoms.platform.settings import Settings


def bronze(settings: Settings, source: str) -> str:
    return storage.join(settings.lake, "bronze", source)


def silver(settings: Settings, table: str) -> str:
    return storage.join(settings.lake, "silver", table)


def gold(settings: Settings, table: str) -> str:
    return storage.join(settings.lake, "gold", table)


def runs(settings: Settings) -> str:
    return default_runs(settings.lake)


def default_runs(lake_root: str) -> str:
    return storage.join(lake_root, "_runs")


def default_data_docs(lake_root: str) -> str:
    return storage.join(lake_root, "_data_docs")


def manifest(settings: Settings, source: str, source_date: str, file_name: str) -> str:
    return storage.join(settings.lake, "_manifests", "bronze", source, source_date, file_name)


def validations(settings: Settings) -> str:
    return storage.join(settings.lake, "_quality", "validations")


def processed_dimension(settings: Settings, entity: str) -> str:
    return storage.join(settings.lake, "_state", "silver", f"{entity}.json")
