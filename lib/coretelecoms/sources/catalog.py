"""Where each source is found, by name and run date (SPEC §2)."""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from coretelecoms.platform import storage
from coretelecoms.platform.settings import Settings
from coretelecoms.platform.tables import channels

CUSTOMERS, AGENTS = "customers", "agents"
CALL_LOGS, SM_COMPLAINTS, WEB_COMPLAINTS = "call_logs", "sm_complaints", "web_complaints"

CUSTOMERS_KEY = "customers/customers_dataset.csv"
WEB_FORMS_SCHEMA = "customer_complaints"


def call_logs_key(day: dt.date) -> str:
    return f"call logs/call_logs_day_{day.isoformat()}.csv"  # the space in the prefix is real


def sm_complaints_key(day: dt.date) -> str:
    return f"social_medias/media_complaint_day_{day.isoformat()}.json"


def web_forms_table(day: dt.date) -> str:
    return f"web_form_request_{day.strftime('%Y_%m_%d')}"


@dataclass(frozen=True)
class SourceInput:
    """One input of one source: a file in the landing, a worksheet, or a table in the source database."""

    source: str
    location: str  # file URI/path, `sheets:<id>/<worksheet>`, or `schema.table`
    source_date: dt.date  # the file or table date; for dimensions the run date that read it
    kind: str  # csv, json, sheets, jdbc

    @property
    def name(self) -> str:
        return self.location.rstrip("/").rsplit("/", 1)[-1]


def dimension_inputs(settings: Settings, run_date: dt.date) -> list[SourceInput]:
    customers = SourceInput(CUSTOMERS, storage.join(settings.landing, CUSTOMERS_KEY), run_date, "csv")
    if settings.agents.reader == "sheets":
        location = f"sheets:{settings.agents.spreadsheet_id}/{settings.agents.worksheet}"
        agents = SourceInput(AGENTS, location, run_date, "sheets")
    else:
        agents = SourceInput(AGENTS, storage.join(settings.landing, settings.agents.csv_key), run_date, "csv")
    return [customers, agents]


# Each complaint channel's daily input; a new channel adds its locator here (README: Adding a source).
COMPLAINT_INPUTS: dict[str, Callable[[Settings, dt.date], SourceInput]] = {
    CALL_LOGS: lambda settings, day: SourceInput(CALL_LOGS, storage.join(settings.landing, call_logs_key(day)), day, "csv"),
    SM_COMPLAINTS: lambda settings, day: SourceInput(
        SM_COMPLAINTS, storage.join(settings.landing, sm_complaints_key(day)), day, "json"),
    WEB_COMPLAINTS: lambda settings, day: SourceInput(
        WEB_COMPLAINTS, f"{WEB_FORMS_SCHEMA}.{web_forms_table(day)}", day, "jdbc"),
}


def complaint_inputs(settings: Settings, run_date: dt.date) -> list[SourceInput]:
    return [COMPLAINT_INPUTS[channel](settings, run_date) for channel in channels()]
