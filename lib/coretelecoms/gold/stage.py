"""The gold stage of one run: fold the run's status history into `complaint_lifecycle` and its
changed complaints into the unified `complaints`, then recompute the `complaint_features` months the
run touched; all Delta tables under `<lake>/gold/`.

Reads only what the run date touched (history observed on it, complaints changed on it); a table
that does not exist yet is built from the whole silver history instead. Only rows whose content
changed are merged, so re-running a date writes nothing.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import reduce

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from coretelecoms.gold import features, lifecycle
from coretelecoms.gold.complaints import unify
from coretelecoms.platform import delta, lake
from coretelecoms.platform.delta import LakeVersion, changes, computed_once
from coretelecoms.platform.settings import Settings
from coretelecoms.platform.tables import (
    COMPLAINT_FEATURES,
    COMPLAINT_LIFECYCLE,
    LAST_CHANGED,
    ROW_HASH,
    STATUS_HISTORY,
    TABLES,
    UNIFIED_COMPLAINTS,
    channels,
)

KEY = lifecycle.KEY
UPDATED = "updated_date"


@dataclass
class GoldResult:
    lifecycle_changed: int = 0
    complaints_changed: int = 0
    rebuilt: bool = False  # the lifecycle was built from the whole history (a new table)
    features_changed: int = 0  # complaint_features rows written (new or changed customer-months)
    features_customers: str = ""  # whose months were recomputed: "all" or "touched"
    transitions: dict[str, int] = field(default_factory=dict)  # "Backlog -> Resolved" -> complaints


def _table(spark: SparkSession, location: str) -> DataFrame | None:
    return delta.snapshot(spark, location) if delta.exists(spark, location) else None


def _union(frames: list[DataFrame]) -> DataFrame | None:
    return reduce(DataFrame.unionByName, frames) if frames else None


@dataclass(frozen=True)
class GoldInputs:
    """What both gold steps read from silver: the history up to the run date, the channel tables
    and their complaint facts. Read once per run and shared, so each Delta log is read once."""

    history: DataFrame
    stored: dict[str, DataFrame]
    facts: DataFrame


def read_gold_inputs(spark: SparkSession, settings: Settings, run_date: dt.date) -> GoldInputs | None:
    """The silver inputs of the gold steps, or None before the first complaints are merged."""
    history = _table(spark, lake.silver(settings, STATUS_HISTORY))
    stored = {channel: table for channel in channels()
              if (table := _table(spark, lake.silver(settings, channel))) is not None}
    if history is None or not stored:
        return None
    return GoldInputs(
        history=history.where(F.col("observed_run_date") <= F.lit(run_date)),
        stored=stored,
        facts=_union([lifecycle.channel_facts(c, t) for c, t in stored.items()]),
    )


def build_gold(spark: SparkSession, settings: Settings, run_date: dt.date, inputs: GoldInputs | None,
               progress=print) -> GoldResult:
    result = GoldResult()
    if inputs is None:
        return result
    day = F.lit(run_date)
    history, stored, facts = inputs.history, inputs.stored, inputs.facts
    # The day's small slices are computed once: every later plan joins them several times.
    changed = computed_once(_union([unify(c, t.where(F.col(LAST_CHANGED) == day)) for c, t in stored.items()]))
    today = computed_once(history.where(F.col("observed_run_date") == day))

    lifecycle_path = lake.gold(settings, COMPLAINT_LIFECYCLE)
    folded = _table(spark, lifecycle_path)
    if folded is None:
        rows = lifecycle.rebuild(history, facts, run_date, settings.gold.sla_days)
        result.rebuilt = True
        folded = spark.createDataFrame([], lifecycle.LIFECYCLE_SCHEMA)
    else:
        affected = computed_once(today.select(*KEY).unionByName(changed.select(*KEY)).distinct())
        current = computed_once(folded.join(affected, list(KEY), "left_semi"))
        rows = lifecycle.advance(current, today, computed_once(facts.join(affected, list(KEY), "left_semi")), run_date,
                                 settings.gold.sla_days)
    result.transitions = {
        f"{row['from_status'] or '(new)'} -> {row['to_status']}": row["count"]
        for row in lifecycle.transitions(folded, today).collect()
    }
    result.lifecycle_changed = upsert_changed(spark, lifecycle_path, rows, COMPLAINT_LIFECYCLE)

    complaints_path = lake.gold(settings, UNIFIED_COMPLAINTS)
    if _table(spark, complaints_path) is None:  # a new table takes every complaint, not just today's
        changed = _union([unify(c, t.where(F.col(LAST_CHANGED) <= day)) for c, t in stored.items()])
    result.complaints_changed = upsert_changed(spark, complaints_path, changed.withColumn(UPDATED, day),
                                               UNIFIED_COMPLAINTS)
    progress(f"  gold   {COMPLAINT_LIFECYCLE} {result.lifecycle_changed:>9,} rows changed"
             f"{' (built from the whole history)' if result.rebuilt else ''}"
             f"   {UNIFIED_COMPLAINTS} {result.complaints_changed:>9,} rows changed")
    return result


def build_features(spark: SparkSession, settings: Settings, run_date: dt.date, inputs: GoldInputs | None,
                   result: GoldResult, rebuild: bool = False, progress=print) -> None:
    """Recompute the `complaint_features` months this run can have changed, write the rows that differ.

    A customer's months change from the earliest month dated in the history rows this run added (new
    complaints and status changes are dated in the run's month; a replayed orphan in its source's) up
    to the run's month, because the rolling sums and month-end states carry forward. The first run of
    a month adds that month's row for every customer. A new table, or `rebuild`, computes every month.
    """
    if inputs is None:
        return
    day, run_month = F.lit(run_date), F.lit(run_date.replace(day=1))
    history, facts = inputs.history, inputs.facts
    location = lake.gold(settings, COMPLAINT_FEATURES)
    current = _table(spark, location)
    if current is None or rebuild:
        rows, result.features_customers = features.customer_months(history, facts, run_date, settings.gold.sla_days), "all"
    else:
        month = F.trunc("source_generation_date", "month")
        since = history.where(F.col("observed_run_date") == day).groupBy("customer_id").agg(F.min(month).alias("_since"))
        result.features_customers = "touched"
        if current.where(F.col("month") == run_month).isEmpty():  # the month's first run: every customer's new row
            everyone = history.select("customer_id").distinct().withColumn("_since", run_month)
            since = since.unionByName(everyone).groupBy("customer_id").agg(F.min("_since").alias("_since"))
            result.features_customers = "all"
        since = computed_once(since)  # joined twice below
        rows = (
            features.customer_months(history.join(since, "customer_id", "left_semi"), facts, run_date,
                                     settings.gold.sla_days)
            .join(since, "customer_id").where(F.col("month") >= F.col("_since")).drop("_since")
        )
    result.features_changed = upsert_changed(spark, location, rows, COMPLAINT_FEATURES)
    progress(f"  gold   {COMPLAINT_FEATURES} {result.features_changed:>9,} customer-months changed"
             f" ({result.features_customers} customers recomputed)")


def upsert_changed(spark: SparkSession, location: str, rows: DataFrame, table: str) -> int:
    """Write into the gold `table` the rows whose content differs from the stored row; returns how
    many. `updated_date` is bookkeeping, not content (the registry leaves it out of the hash)."""
    spec = TABLES[table]
    content = rows.select(*[c.name for c in spec.columns if c.name != ROW_HASH])
    current = delta.snapshot_or_empty(spark, location, spec.spark_schema)
    return delta.apply_changes(spark, location, changes(content, current, spec), spec).written


def gold_rows_of(spark: SparkSession, settings: Settings, run_date: dt.date) -> dict[str, tuple[DataFrame, LakeVersion]]:
    """Per gold table, the rows the run date changed (what PostgreSQL must upsert) and the version read."""
    rows = {}
    for table in (COMPLAINT_LIFECYCLE, UNIFIED_COMPLAINTS, COMPLAINT_FEATURES):
        location = lake.gold(settings, table)
        if delta.exists(spark, location):
            stored, version = delta.pinned(spark, location)
            rows[table] = stored.where(F.col(UPDATED) == F.lit(run_date)), version
    return rows
