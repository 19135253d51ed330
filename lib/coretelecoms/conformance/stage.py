"""The conformance stage of one run: silver merges in the lake, then one PostgreSQL transaction.

Order: dimensions (SCD2) first, then each complaint channel: orphans are split off against the
current dimension keys and quarantined, open orphans whose parents now exist are replayed through the
same path, complaints keep their current state, and every status change is appended to the history.

PostgreSQL is loaded from what the lake holds *for the run date* (versions valid from it, complaints
changed on it, history observed on it, orphans seen or resolved on it), never from this run's diff:
a run that failed after the lake merges re-stages the same rows when re-run, so the database
reaches the same final state.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import reduce

from delta.tables import DeltaTable
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from coretelecoms.conformance.database import STAGING_COLUMNS
from coretelecoms.conformance.load import LoadCounts, RunLoad, empty_staging, load_run, loaded_versions, write_staging
from coretelecoms.conformance.merge import (
    ROW_HASH,
    STATUS_HISTORY,
    LakeVersion,
    append_status_history,
    merge_complaints,
    merge_dimension_scd2,
    newest_per_key,
    pinned,
    snapshot,
)
from coretelecoms.conformance.orphans import (
    ORPHANED_COMPLAINTS,
    check_parents,
    mark_resolved,
    merge_orphans,
    replayable,
    split_orphans,
)
from coretelecoms.platform import storage
from coretelecoms.platform.settings import Settings
from coretelecoms.quality.entities import ENTITIES
from coretelecoms.quality.stage import QualityResult, silver_table
from coretelecoms.sources.catalog import AGENTS, COMPLAINTS, CUSTOMERS, DIMENSIONS

SILVER_ONLY_COLUMNS = (ROW_HASH, "first_seen_date", "last_changed_date")  # added by the complaint merge


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


def _is_table(spark: SparkSession, location: str) -> bool:
    return DeltaTable.isDeltaTable(spark, storage.spark_path(location))


def _attributes(entity: str, rows: DataFrame) -> list[str]:
    key = ENTITIES[entity].key
    return [c for c in rows.columns if c != key and not c.startswith("_")]


def _current_keys(spark: SparkSession, settings: Settings, entity: str) -> DataFrame:
    """The entity's current keys, hash-partitioned and sorted by key: every join with them (each
    channel's parent check and replay) then shuffles and sorts only its own side."""
    key = ENTITIES[entity].key
    location = silver_table(settings, entity)
    schema = T.StructType([T.StructField(key, T.IntegerType() if entity == AGENTS else T.StringType())])
    if not _is_table(spark, location):
        return spark.createDataFrame([], schema)
    current = snapshot(spark, location).where(F.col("is_current")).select(key)
    return current.repartition(key).sortWithinPartitions(key)


def _complaint_schema(spark: SparkSession, settings: Settings, channel: str, checked: QualityResult) -> T.StructType | None:
    """The silver-ready row schema of a channel: today's batch's, else the stored table's."""
    if channel in checked.batches:
        return checked.batches[channel].rows.schema
    location = silver_table(settings, channel)
    if not _is_table(spark, location):
        return None
    return T.StructType([f for f in snapshot(spark, location).schema.fields if f.name not in SILVER_ONLY_COLUMNS])


def merge_silver(spark: SparkSession, settings: Settings, run_id: str, run_date: dt.date, checked: QualityResult,
                 progress=print) -> ConformanceResult:
    result = ConformanceResult()
    for entity in DIMENSIONS:
        if entity in checked.batches:
            rows = checked.batches[entity].rows
            result.dimensions[entity] = merge_dimension_scd2(
                spark, silver_table(settings, entity), rows, ENTITIES[entity].key, _attributes(entity, rows), run_date)
    # Every channel checks its parents against these keys, several times: read them once.
    customer_keys = _current_keys(spark, settings, CUSTOMERS).persist()
    agent_keys = _current_keys(spark, settings, AGENTS).persist()
    try:
        _merge_channels(spark, settings, run_id, run_date, checked, customer_keys, agent_keys, result, progress)
    finally:
        customer_keys.unpersist()
        agent_keys.unpersist()
    return result


def _merge_channels(spark: SparkSession, settings: Settings, run_id: str, run_date: dt.date, checked: QualityResult,
                    customer_keys: DataFrame, agent_keys: DataFrame, result: ConformanceResult, progress) -> None:
    """Quarantine every channel's orphans, load each channel's complaints with its replayed orphans,
    then append the status history and resolve the loaded orphans: one MERGE per table for all channels."""
    orphans_path = silver_table(settings, ORPHANED_COMPLAINTS)
    schemas = {channel: schema for channel in COMPLAINTS
               if (schema := _complaint_schema(spark, settings, channel, checked)) is not None}
    parents_checked = {
        channel: check_parents(checked.batches[channel].rows, customer_keys, agent_keys).persist()
        for channel in schemas if channel in checked.batches
    }
    held = list(parents_checked.values())  # unpersisted once every MERGE is done
    try:
        split = {channel: split_orphans(rows, channel) for channel, rows in parents_checked.items()}
        if split:
            orphans = reduce(DataFrame.unionByName, [orphans for _, orphans in split.values()])
            merge_orphans(spark, orphans_path, orphans, run_id, run_date)
            result.orphaned = {channel: 0 for channel in split}
            result.orphaned.update({row["channel"]: row["count"] for row in orphans.groupBy("channel").count().collect()})
        loads = {}
        for channel, schema in schemas.items():
            key = ENTITIES[channel].key
            replayed = replayable(spark, orphans_path, customer_keys, agent_keys, channel, schema).persist()
            held.append(replayed)
            result.replayed[channel] = replayed.count()
            batch = split[channel][0] if channel in split else spark.createDataFrame([], schema)
            # Deduplicated once here; the MERGEs below find it already partitioned and sorted by key.
            loads[channel] = newest_per_key(batch.unionByName(replayed), key, ENTITIES[channel].generation_date).persist()
            held.append(loads[channel])
            changed = merge_complaints(spark, silver_table(settings, channel), loads[channel], channel, key, run_date)
            result.changed[channel] = changed.count()
            changed.unpersist()
            progress(f"  conformance {channel:<15} changed {result.changed[channel]:>8,}"
                     f"  orphaned {result.orphaned.get(channel, 0):>6,}  replayed {result.replayed[channel]:>6,}")
        if loads:
            result.transitions = append_status_history(spark, silver_table(settings, STATUS_HISTORY), loads, run_date,
                                                       {channel: silver_table(settings, channel) for channel in loads})
            # Every complaint loaded now resolves its quarantine entry, replayed or arrived again with parents.
            mark_resolved(spark, orphans_path, reduce(DataFrame.unionByName, [
                rows.select(F.lit(channel).alias("channel"), F.col(ENTITIES[channel].key).cast("string").alias("complaint_id"))
                for channel, rows in loads.items()
            ]), run_id, run_date)
            progress("  conformance status history  " + "  ".join(
                f"{channel} {added:,}" for channel, added in result.transitions.items()) + " rows added")
    finally:
        for frame in held:
            frame.unpersist()


Staged = tuple[DataFrame, LakeVersion]  # a staging table's rows and the lake table version they come from


def run_date_rows(spark: SparkSession, settings: Settings, run_date: dt.date) -> dict[str, Staged]:
    """What the lake holds for the run date, shaped like the staging tables, by staging table."""
    day = F.lit(run_date)
    frames = {}
    for entity in DIMENSIONS:
        location = silver_table(settings, entity)
        if _is_table(spark, location):
            versions, version = pinned(spark, location)
            frames[entity] = versions.where(F.col("is_current") & (F.col("valid_from") == day)), version
            frames[f"{entity}_history"] = versions.where((F.col("valid_from") == day) | (F.col("valid_to") == day)), version
    for channel in COMPLAINTS:
        location = silver_table(settings, channel)
        if _is_table(spark, location):
            complaints, version = pinned(spark, location)
            frames[channel] = complaints.where(F.col("last_changed_date") == day), version
    history = silver_table(settings, STATUS_HISTORY)
    if _is_table(spark, history):
        observed, version = pinned(spark, history)
        frames[STATUS_HISTORY] = observed.where(F.col("observed_run_date") == day), version
    orphans = silver_table(settings, ORPHANED_COMPLAINTS)
    if _is_table(spark, orphans):
        quarantine, version = pinned(spark, orphans)
        frames[ORPHANED_COMPLAINTS] = quarantine.where(F.col("last_seen_date") == day), version
        frames["resolved_orphans"] = quarantine.where(F.col("resolved_date") == day), version
    return frames


def load_postgres(spark: SparkSession, settings: Settings, dsn: str, run: RunLoad, result: ConformanceResult,
                  later_stages: dict[str, Staged], progress=print) -> None:
    """COPY the run date's rows into staging, then one transaction upserts everything and the audit row.

    `later_stages` holds the run date's rows of tables built after conformance (gold), by staging table.
    A table whose lake version the database already holds for the run date stages nothing: its rows
    are loaded, and loading them again would change nothing.
    """
    sources = {**run_date_rows(spark, settings, run.run_date), **later_stages}
    loaded = loaded_versions(dsn, run.run_date)
    for table in STAGING_COLUMNS:
        source = sources.get(table)
        if source is not None and loaded.get(table) == source[1]:
            result.already_loaded.append(table)
            source = None
        frame = source[0] if source is not None else empty_staging(spark, table)  # none: the table is still emptied
        result.staged[table] = write_staging(frame, table, dsn, settings.jdbc.write_partitions)
    if result.already_loaded:
        progress(f"  postgres: nothing staged for {', '.join(result.already_loaded)} (already loaded from the same lake version)")
    result.load = load_run(dsn, run, {table: version for table, (_, version) in sources.items()})
