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

from delta.tables import DeltaTable
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from coretelecoms.conformance.database import STAGING_COLUMNS
from coretelecoms.conformance.load import LoadCounts, RunLoad, empty_staging, load_run, write_staging
from coretelecoms.conformance.merge import (
    ROW_HASH,
    STATUS_HISTORY,
    append_status_history,
    merge_complaints,
    merge_dimension_scd2,
    snapshot,
)
from coretelecoms.conformance.orphans import ORPHANED_COMPLAINTS, mark_resolved, merge_orphans, replayable, split_orphans
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
    load: LoadCounts | None = None


def _is_table(spark: SparkSession, location: str) -> bool:
    return DeltaTable.isDeltaTable(spark, storage.spark_path(location))


def _attributes(entity: str, rows: DataFrame) -> list[str]:
    key = ENTITIES[entity].key
    return [c for c in rows.columns if c != key and not c.startswith("_")]


def _current_keys(spark: SparkSession, settings: Settings, entity: str) -> DataFrame:
    key = ENTITIES[entity].key
    location = silver_table(settings, entity)
    schema = T.StructType([T.StructField(key, T.IntegerType() if entity == AGENTS else T.StringType())])
    if not _is_table(spark, location):
        return spark.createDataFrame([], schema)
    return snapshot(spark, location).where(F.col("is_current")).select(key)


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
    orphans_path = silver_table(settings, ORPHANED_COMPLAINTS)
    for channel in COMPLAINTS:
        schema = _complaint_schema(spark, settings, channel, checked)
        if schema is None:
            continue
        key = ENTITIES[channel].key
        to_load = spark.createDataFrame([], schema)
        if channel in checked.batches:
            rows = checked.batches[channel].rows
            loadable, orphans = split_orphans(rows, channel, customer_keys, agent_keys)
            orphans = orphans.persist()  # few rows, read three times
            merge_orphans(spark, orphans_path, orphans, run_id, run_date)
            result.orphaned[channel] = orphans.count()
            orphans.unpersist()
            to_load = loadable
        replayed = replayable(spark, orphans_path, customer_keys, agent_keys, channel, schema).persist()
        result.replayed[channel] = replayed.count()
        to_load = to_load.unionByName(replayed).persist()
        changed = merge_complaints(spark, silver_table(settings, channel), to_load, channel, key, run_date)
        result.changed[channel] = changed.count()
        changed.unpersist()
        result.transitions[channel] = append_status_history(
            spark, silver_table(settings, STATUS_HISTORY), to_load, channel, key, run_date, silver_table(settings, channel))
        # Every complaint loaded now resolves its quarantine entry, replayed or arrived again with parents.
        mark_resolved(spark, orphans_path, to_load.select(F.lit(channel).alias("channel"), F.col(key).alias("complaint_id")),
                      run_id, run_date)
        to_load.unpersist()
        replayed.unpersist()
        progress(
            f"  conformance {channel:<15} changed {result.changed[channel]:>8,}  orphaned {result.orphaned.get(channel, 0):>6,}"
            f"  replayed {result.replayed[channel]:>6,}  transitions {result.transitions[channel]:>8,}"
        )


def run_date_rows(spark: SparkSession, settings: Settings, run_date: dt.date) -> dict[str, DataFrame]:
    """What the lake holds for the run date, shaped like the staging tables."""
    day = F.lit(run_date)
    frames = {}
    for entity in DIMENSIONS:
        location = silver_table(settings, entity)
        if _is_table(spark, location):
            versions = snapshot(spark, location)
            frames[entity] = versions.where(F.col("is_current") & (F.col("valid_from") == day))
            frames[f"{entity}_history"] = versions.where((F.col("valid_from") == day) | (F.col("valid_to") == day))
    for channel in COMPLAINTS:
        location = silver_table(settings, channel)
        if _is_table(spark, location):
            frames[channel] = snapshot(spark, location).where(F.col("last_changed_date") == day)
    history = silver_table(settings, STATUS_HISTORY)
    if _is_table(spark, history):
        frames[STATUS_HISTORY] = snapshot(spark, history).where(F.col("observed_run_date") == day)
    orphans = silver_table(settings, ORPHANED_COMPLAINTS)
    if _is_table(spark, orphans):
        quarantine = snapshot(spark, orphans)
        frames[ORPHANED_COMPLAINTS] = quarantine.where(F.col("last_seen_date") == day)
        frames["resolved_orphans"] = quarantine.where(F.col("resolved_date") == day)
    return frames


def load_postgres(spark: SparkSession, settings: Settings, dsn: str, run: RunLoad, result: ConformanceResult,
                  later_stages: dict[str, DataFrame]) -> None:
    """COPY the run date's rows into staging, then one transaction upserts everything and the audit row.

    `later_stages` holds the run date's rows of tables built after conformance (gold), by staging table.
    """
    frames = {**run_date_rows(spark, settings, run.run_date), **later_stages}
    for table in STAGING_COLUMNS:
        frame = frames[table] if table in frames else empty_staging(spark, table)  # none yet: still emptied
        result.staged[table] = write_staging(frame, table, dsn, settings.jdbc.write_partitions)
    result.load = load_run(dsn, run)
