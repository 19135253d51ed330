"""The conformance stage of one run: silver merges in the lake, then one PostgreSQL transaction.

Order: dimensions (SCD2) first, then each complaint channel: orphans are split off against the
current dimension keys, open orphans whose parents now exist are replayed through the same path,
complaints keep their current state, every status change is appended to the history, and last the
quarantine takes the run's orphans and resolves what was loaded, in one write.

PostgreSQL is loaded from what the lake holds *for the run date* (versions valid from it, complaints
changed on it, history observed on it, orphans seen or resolved on it), never from this run's diff:
a run that failed after the lake merges re-stages the same rows when re-run, so the database
reaches the same final state.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from contextlib import ExitStack
from functools import reduce

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from coretelecoms.conformance.load import (
    LoadCounts,
    RunLoad,
    clear_staging,
    load_run,
    loaded_versions,
    staging_lock,
    write_staging,
)
from coretelecoms.conformance.merge import append_status_history, merge_complaints, merge_dimension_scd2, newest_per_key
from coretelecoms.conformance.orphans import ORPHAN_SCHEMA, check_parents, replayable, split_orphans, update_quarantine
from coretelecoms.platform import delta, lake
from coretelecoms.platform.delta import LakeVersion, cached, computed_once
from coretelecoms.platform.settings import Settings
from coretelecoms.platform.tables import (
    ENTITIES,
    FIRST_SEEN,
    IS_CURRENT,
    LAST_CHANGED,
    ORPHANED_COMPLAINTS,
    RESOLVED_ORPHANS,
    ROW_HASH,
    STATUS_HISTORY,
    TABLES,
    VALID_FROM,
    VALID_TO,
    channels,
    dimensions,
    schema,
    staging_columns,
)
from coretelecoms.quality.stage import QualityResult

SILVER_ONLY_COLUMNS = (ROW_HASH, FIRST_SEEN, LAST_CHANGED)  # added by the complaint merge


@dataclass
class ConformanceResult:
    dimensions: dict[str, dict[str, int]] = field(default_factory=dict)  # entity -> inserted/updated/unchanged
    orphaned: dict[str, int] = field(default_factory=dict)  # channel -> orphans seen this run
    replayed: dict[str, int] = field(default_factory=dict)  # channel -> orphans loaded this run
    changed: dict[str, int] = field(default_factory=dict)  # channel -> complaints new or changed
    transitions: dict[str, int] = field(default_factory=dict)  # channel -> history rows appended
    staged: dict[str, int] = field(default_factory=dict)
    already_loaded: list[str] = field(default_factory=list)  # staging tables the database held at this lake version
    load: LoadCounts | None = None


def _current_keys(spark: SparkSession, settings: Settings, entity: str) -> DataFrame:
    """The entity's current keys, hash-partitioned and sorted by key: every join with them (each
    channel's parent check and replay) then shuffles and sorts only its own side."""
    key = ENTITIES[entity].key
    location = lake.silver(settings, entity)
    if not delta.exists(spark, location):
        return spark.createDataFrame([], schema((TABLES[entity].column(key),)))
    current = delta.snapshot(spark, location).where(F.col(IS_CURRENT)).select(key)
    return current.repartition(key).sortWithinPartitions(key)


def _complaint_schema(spark: SparkSession, settings: Settings, channel: str, checked: QualityResult):
    """The silver-ready row schema of a channel: today's batch's, else the stored table's."""
    if channel in checked.batches:
        return checked.batches[channel].rows.schema
    location = lake.silver(settings, channel)
    if not delta.exists(spark, location):
        return None
    return T.StructType([f for f in delta.snapshot(spark, location).schema.fields if f.name not in SILVER_ONLY_COLUMNS])


def merge_silver(spark: SparkSession, settings: Settings, run_id: str, run_date: dt.date, checked: QualityResult,
                 progress=print) -> ConformanceResult:
    result = ConformanceResult()
    for entity in dimensions():
        if entity in checked.batches:
            batch = checked.batches[entity]
            result.dimensions[entity] = merge_dimension_scd2(
                spark, lake.silver(settings, entity), batch.rows, TABLES[entity], run_date, batch.accounting.kept)
    # Every channel checks its parents against these keys, several times: read them once.
    with cached(_current_keys(spark, settings, "customers")) as customer_keys, \
            cached(_current_keys(spark, settings, "agents")) as agent_keys:
        _merge_channels(spark, settings, run_id, run_date, checked, customer_keys, agent_keys, result, progress)
    return result


def _merge_channels(spark: SparkSession, settings: Settings, run_id: str, run_date: dt.date, checked: QualityResult,
                    customer_keys: DataFrame, agent_keys: DataFrame, result: ConformanceResult, progress) -> None:
    """Load each channel's complaints with its replayed orphans, append the status history, then
    quarantine the run's orphans and resolve the loaded ones: one write per table for all channels."""
    orphans_path = lake.silver(settings, ORPHANED_COMPLAINTS)
    schemas = {channel: row_schema for channel in channels()
               if (row_schema := _complaint_schema(spark, settings, channel, checked)) is not None}
    if not schemas:
        return
    with ExitStack() as held:  # every cached frame is released once the last write is done
        parents_checked = {
            channel: held.enter_context(cached(check_parents(checked.batches[channel].rows, customer_keys, agent_keys)))
            for channel in schemas if channel in checked.batches
        }
        split = {channel: split_orphans(rows, channel) for channel, rows in parents_checked.items()}
        # Computed once: each channel's replay and the quarantine write use them, and a short plan
        # costs less to analyse than the checks of every channel behind it.
        orphans = (computed_once(reduce(DataFrame.unionByName, [orphans for _, orphans in split.values()])) if split
                   else spark.createDataFrame([], ORPHAN_SCHEMA))
        result.orphaned = {channel: 0 for channel in split}
        if split:
            result.orphaned.update({row["channel"]: row["count"] for row in orphans.groupBy("channel").count().collect()})
        loads = {}
        for channel, row_schema in schemas.items():
            entity = ENTITIES[channel]
            replayed = held.enter_context(cached(
                replayable(spark, orphans_path, customer_keys, agent_keys, channel, row_schema, orphans)))
            result.replayed[channel] = replayed.count()
            batch = split[channel][0] if channel in split else spark.createDataFrame([], row_schema)
            # Deduplicated once here; the writes below find it already partitioned and sorted by key.
            loads[channel] = held.enter_context(cached(
                newest_per_key(batch.unionByName(replayed), entity.key, entity.generation_date)))
            applied = merge_complaints(spark, lake.silver(settings, channel), loads[channel], TABLES[channel], run_date)
            result.changed[channel] = applied.written
            progress(f"  conformance {channel:<15} changed {result.changed[channel]:>8,}"
                     f"  orphaned {result.orphaned.get(channel, 0):>6,}  replayed {result.replayed[channel]:>6,}")
        result.transitions = append_status_history(spark, lake.silver(settings, STATUS_HISTORY), loads, run_date,
                                                   {channel: lake.silver(settings, channel) for channel in loads})
        # Every complaint loaded now resolves its quarantine entry, replayed or arrived again with parents.
        update_quarantine(spark, orphans_path, orphans, reduce(DataFrame.unionByName, [
            rows.select(F.lit(channel).alias("channel"), F.col(ENTITIES[channel].key).cast("string").alias("complaint_id"))
            for channel, rows in loads.items()
        ]), run_id, run_date)
        progress("  conformance status history  " + "  ".join(
            f"{channel} {added:,}" for channel, added in result.transitions.items()) + " rows added")


Staged = tuple[DataFrame, LakeVersion]  # a staging table's rows and the lake table version they come from


def run_date_rows(spark: SparkSession, settings: Settings, run_date: dt.date) -> dict[str, Staged]:
    """What the lake holds for the run date, shaped like the staging tables, by staging table."""
    day = F.lit(run_date)
    frames = {}
    for entity in dimensions():
        location = lake.silver(settings, entity)
        if delta.exists(spark, location):
            versions, version = delta.pinned(spark, location)
            frames[entity] = versions.where(F.col(IS_CURRENT) & (F.col(VALID_FROM) == day)), version
            frames[f"{entity}_history"] = versions.where((F.col(VALID_FROM) == day) | (F.col(VALID_TO) == day)), version
    for channel in channels():
        location = lake.silver(settings, channel)
        if delta.exists(spark, location):
            complaints, version = delta.pinned(spark, location)
            frames[channel] = complaints.where(F.col(LAST_CHANGED) == day), version
    history = lake.silver(settings, STATUS_HISTORY)
    if delta.exists(spark, history):
        observed, version = delta.pinned(spark, history)
        frames[STATUS_HISTORY] = observed.where(F.col("observed_run_date") == day), version
    orphans = lake.silver(settings, ORPHANED_COMPLAINTS)
    if delta.exists(spark, orphans):
        quarantine, version = delta.pinned(spark, orphans)
        frames[ORPHANED_COMPLAINTS] = quarantine.where(F.col("last_seen_date") == day), version
        frames[RESOLVED_ORPHANS] = quarantine.where(F.col("resolved_date") == day), version
    return frames


def load_postgres(spark: SparkSession, settings: Settings, dsn: str, run: RunLoad, result: ConformanceResult,
                  later_stages: dict[str, Staged], progress=print) -> None:
    """COPY the run date's rows into staging, then one transaction upserts everything and the audit row.

    `later_stages` holds the run date's rows of tables built after conformance (gold), by staging table.
    A table whose lake version the database already holds for the run date stages nothing: its rows
    are loaded, and loading them again would change nothing.
    """
    sources = {**run_date_rows(spark, settings, run.run_date), **later_stages}
    with staging_lock(dsn, progress):
        loaded = loaded_versions(dsn, run.run_date)
        for table in staging_columns():
            source = sources.get(table)
            if source is not None and loaded.get(table) == source[1]:
                result.already_loaded.append(table)
                source = None
            result.staged[table] = (write_staging(source[0], table, dsn, settings.jdbc.write_partitions) if source is not None
                                    else clear_staging(table, dsn))  # nothing to stage: the table is still emptied
        if result.already_loaded:
            progress(f"  postgres: nothing staged for {', '.join(result.already_loaded)} (already loaded from the same lake version)")
        result.load = load_run(dsn, run, {table: version for table, (_, version) in sources.items()})
