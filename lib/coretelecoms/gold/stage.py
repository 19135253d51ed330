"""The gold stage of one run: fold the run's status history into `complaint_lifecycle` and its
changed complaints into the unified `complaints`, both Delta tables under `<lake>/gold/`.

Reads only what the run date touched (history observed on it, complaints changed on it); a table
that does not exist yet is built from the whole silver history instead. Only rows whose content
changed are merged, so re-running a date writes nothing.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import reduce

from delta.tables import DeltaTable
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from coretelecoms.conformance.merge import (
    LAST_CHANGED,
    ROW_HASH,
    STATUS_HISTORY,
    LakeVersion,
    append_to_new,
    ensure_table,
    pinned,
    row_hash,
    snapshot,
)
from coretelecoms.gold import lifecycle
from coretelecoms.gold.complaints import COMPLAINT_COLUMNS, unify
from coretelecoms.platform import storage
from coretelecoms.platform.settings import Settings
from coretelecoms.quality.entities import ENTITIES
from coretelecoms.quality.stage import silver_table
from coretelecoms.sources.catalog import COMPLAINTS

COMPLAINT_LIFECYCLE, UNIFIED_COMPLAINTS = "complaint_lifecycle", "complaints"
KEY = lifecycle.KEY
UPDATED = "updated_date"


@dataclass
class GoldResult:
    lifecycle_changed: int = 0
    complaints_changed: int = 0
    rebuilt: bool = False  # the lifecycle was built from the whole history (a new table)
    transitions: dict[str, int] = field(default_factory=dict)  # "Backlog -> Resolved" -> complaints


def gold_table(settings: Settings, name: str) -> str:
    return storage.join(settings.lake, "gold", name)


def _table(spark: SparkSession, location: str) -> DataFrame | None:
    path = storage.spark_path(location)
    return snapshot(spark, path) if DeltaTable.isDeltaTable(spark, path) else None


def _union(frames: list[DataFrame]) -> DataFrame | None:
    return reduce(DataFrame.unionByName, frames) if frames else None


def build_gold(spark: SparkSession, settings: Settings, run_date: dt.date, progress=print) -> GoldResult:
    result = GoldResult()
    history = _table(spark, silver_table(settings, STATUS_HISTORY))
    channels = {channel: table for channel in COMPLAINTS
                if (table := _table(spark, silver_table(settings, channel))) is not None}
    if history is None or not channels:
        return result
    day = F.lit(run_date)
    history = history.where(F.col("observed_run_date") <= day)
    changed = _union([t.where(F.col(LAST_CHANGED) == day).transform(lambda rows, c=c: unify(c, rows))
                      for c, t in channels.items()])
    facts = _union([lifecycle.channel_facts(c, t, ENTITIES[c].key) for c, t in channels.items()])

    lifecycle_path = gold_table(settings, COMPLAINT_LIFECYCLE)
    stored = _table(spark, lifecycle_path)
    if stored is None:
        rows = lifecycle.rebuild(history, facts, run_date, settings.gold.sla_days)
        result.rebuilt = True
        stored = spark.createDataFrame([], lifecycle.LIFECYCLE_SCHEMA)
    else:
        today = history.where(F.col("observed_run_date") == day)
        affected = today.select(*KEY).unionByName(changed.select(*KEY)).distinct()
        current = stored.join(affected, list(KEY), "left_semi")
        rows = lifecycle.advance(current, today, facts.join(affected, list(KEY), "left_semi"), run_date,
                                 settings.gold.sla_days)
    result.transitions = {
        f"{row['from_status'] or '(new)'} -> {row['to_status']}": row["count"]
        for row in lifecycle.transitions(stored, history.where(F.col("observed_run_date") == day)).collect()
    }
    result.lifecycle_changed = upsert_changed(spark, lifecycle_path, rows, lifecycle.LIFECYCLE_SCHEMA.fieldNames())

    complaints_path = gold_table(settings, UNIFIED_COMPLAINTS)
    if _table(spark, complaints_path) is None:  # a new table takes every complaint, not just today's
        changed = _union([unify(c, t.where(F.col(LAST_CHANGED) <= day)) for c, t in channels.items()])
    result.complaints_changed = upsert_changed(spark, complaints_path, changed, list(COMPLAINT_COLUMNS))
    progress(f"  gold   {COMPLAINT_LIFECYCLE} {result.lifecycle_changed:>9,} rows changed"
             f"{' (built from the whole history)' if result.rebuilt else ''}"
             f"   {UNIFIED_COMPLAINTS} {result.complaints_changed:>9,} rows changed")
    return result


def upsert_changed(spark: SparkSession, path: str, rows: DataFrame, columns: list[str]) -> int:
    """MERGE into the table at `path` (keyed by channel and complaint id) the rows whose content
    differs from the stored row; returns how many. `updated_date` is bookkeeping, not content."""
    content = [c for c in columns if c not in KEY and c != UPDATED]
    hashed = rows.select(*columns).withColumn(ROW_HASH, row_hash(content))
    location, created = ensure_table(spark, path, hashed.schema)
    stored = snapshot(spark, location).select(*KEY, F.col(ROW_HASH).alias("_stored_hash"))
    changes = (
        hashed.join(stored, list(KEY), "left")
        .where(F.col("_stored_hash").isNull() | (F.col("_stored_hash") != F.col(ROW_HASH)))
        .drop("_stored_hash")
        .persist()
    )
    try:
        count = changes.count()
        if count:
            if created:
                append_to_new(location, changes, hashed.schema)
            else:
                (
                    DeltaTable.forPath(spark, location).alias("t")
                    .merge(changes.alias("s"), " AND ".join(f"t.{k} = s.{k}" for k in KEY))
                    .whenMatchedUpdateAll()
                    .whenNotMatchedInsertAll()
                    .execute()
                )
    finally:
        changes.unpersist()
    return count


def lifecycle_rows_of(spark: SparkSession, settings: Settings, run_date: dt.date) -> tuple[DataFrame, LakeVersion] | None:
    """The lifecycle rows the run date changed (what PostgreSQL must upsert), with the table version read."""
    path = storage.spark_path(gold_table(settings, COMPLAINT_LIFECYCLE))
    if not DeltaTable.isDeltaTable(spark, path):
        return None
    table, version = pinned(spark, path)
    return table.where(F.col(UPDATED) == F.lit(run_date)), version
