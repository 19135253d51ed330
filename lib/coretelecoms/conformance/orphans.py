"""Orphaned complaints (SPEC §5): split them off before any load, quarantine them, replay them later.

`orphaned_complaints` holds one row per (channel, complaint_id) with the latest record seen, its
reason, when it was first and last seen, and whether (and by which run) it was resolved.
"""
from __future__ import annotations

import datetime as dt

from delta.tables import DeltaTable
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import DateType, IntegerType, StringType, StructField, StructType

from coretelecoms.bronze.columns import SOURCE_DATE
from coretelecoms.conformance.merge import ensure_table, snapshot
from coretelecoms.platform import storage
from coretelecoms.quality.entities import ENTITIES

ORPHANED_COMPLAINTS = "orphaned_complaints"
MISSING_CUSTOMER, MISSING_AGENT, BOTH = "missing_customer", "missing_agent", "both"
OPEN, RESOLVED = "open", "resolved"
KEY = ("channel", "complaint_id")
ORPHAN_REASON = "_orphan_reason"  # the column `check_parents` adds

ORPHAN_SCHEMA = StructType([
    StructField("channel", StringType()),
    StructField("complaint_id", StringType()),
    StructField("customer_id", StringType()),
    StructField("agent_id", IntegerType()),
    StructField("reason", StringType()),
    StructField("record", StringType()),  # to_json of the full typed row, lineage included
    StructField("source_date", DateType()),
])
TABLE_SCHEMA = StructType(ORPHAN_SCHEMA.fields + [
    StructField("status", StringType()),
    StructField("first_seen_run", StringType()),
    StructField("first_seen_date", DateType()),
    StructField("last_seen_run", StringType()),
    StructField("last_seen_date", DateType()),
    StructField("times_seen", IntegerType()),
    StructField("resolved_run", StringType()),
    StructField("resolved_date", DateType()),
])


def check_parents(complaints: DataFrame, customer_keys: DataFrame, agent_keys: DataFrame) -> DataFrame:
    """The complaints with ORPHAN_REASON: null when the customer and the agent exist, else what is missing.

    The 100 agent keys are broadcast. The customer keys are not: 2.5 million UUIDs make a hashed
    relation of a few hundred MB, far past the 10 MB broadcast threshold, built on the driver and
    copied to every executor each run, while a shuffle join with a daily batch (at most ~380k rows)
    is cheap, and free on the keys' side when they come hash-partitioned by customer_id (as
    `merge_silver` persists them). AQE still turns it into a broadcast join when the keys are small.
    `split_orphans` reads the result twice: a caller should persist it.
    """
    checked = (
        complaints
        .join(_known(customer_keys, "customer_id", "_has_customer"), "customer_id", "left")
        .join(F.broadcast(_known(agent_keys, "agent_id", "_has_agent")), "agent_id", "left")
    )
    has_customer, has_agent = F.col("_has_customer").isNotNull(), F.col("_has_agent").isNotNull()
    return checked.select(*complaints.columns, _reason(has_customer, has_agent).alias(ORPHAN_REASON))


def split_orphans(checked: DataFrame, channel: str) -> tuple[DataFrame, DataFrame]:
    """(loadable rows, as they came; orphan rows in ORPHAN_SCHEMA) of a `check_parents` result. Pure."""
    columns = [c for c in checked.columns if c != ORPHAN_REASON]
    loadable = checked.where(F.col(ORPHAN_REASON).isNull()).select(*columns)
    orphans = checked.where(F.col(ORPHAN_REASON).isNotNull()).select(
        F.lit(channel).alias("channel"),
        F.col(ENTITIES[channel].key).cast("string").alias("complaint_id"),
        "customer_id",
        "agent_id",
        F.col(ORPHAN_REASON).alias("reason"),
        F.to_json(F.struct(*columns)).alias("record"),
        F.col(SOURCE_DATE).alias("source_date"),
    )
    return loadable, orphans


def _known(keys: DataFrame, column: str, flag: str) -> DataFrame:
    """Distinct keys with a true flag: a left join then marks absent keys with null, never duplicating rows."""
    return keys.select(column).distinct().withColumn(flag, F.lit(True))


def _reason(has_customer: Column, has_agent: Column) -> Column:
    return (F.when(~has_customer & ~has_agent, BOTH).when(~has_customer, MISSING_CUSTOMER)
            .when(~has_agent, MISSING_AGENT))


def merge_orphans(spark: SparkSession, path: str, orphans: DataFrame, run_id: str, run_date: dt.date) -> None:
    """Quarantine this run's orphans (ORPHAN_SCHEMA rows) in `orphaned_complaints`, creating it if needed.

    New: inserted open, times_seen 1. Seen on a later run date: last_seen_*, times_seen + 1, and the
    latest record, reason and ids; a resolved orphan that comes back orphaned is open again. Seen on
    the same or an earlier run date: nothing, so re-running a date changes nothing.
    """
    location, _ = ensure_table(spark, path, TABLE_SCHEMA)
    seen = snapshot(spark, location).select(*KEY, "last_seen_date")
    # Only rows that change go to the MERGE: a matched row that is not updated still gets its file rewritten.
    fresh = (
        orphans.join(seen, list(KEY), "left")
        .where(F.col("last_seen_date").isNull() | (F.col("last_seen_date") < F.lit(run_date)))
        .select(*ORPHAN_SCHEMA.fieldNames())
    )
    if fresh.isEmpty():
        return
    latest = {name: F.col(f"s.{name}") for name in ("customer_id", "agent_id", "reason", "record", "source_date")}
    last_seen = {"last_seen_run": F.lit(run_id), "last_seen_date": F.lit(run_date)}
    reopened = {"status": F.lit(OPEN), "resolved_run": F.lit(None).cast("string"), "resolved_date": F.lit(None).cast("date")}
    (
        DeltaTable.forPath(spark, location).alias("t")
        .merge(fresh.alias("s"), "t.channel = s.channel AND t.complaint_id = s.complaint_id")
        .whenMatchedUpdate(set={**latest, **last_seen, **reopened, "times_seen": F.col("t.times_seen") + 1})
        .whenNotMatchedInsert(values={
            **{name: F.col(f"s.{name}") for name in ORPHAN_SCHEMA.fieldNames()},
            **last_seen, **reopened,
            "first_seen_run": F.lit(run_id), "first_seen_date": F.lit(run_date), "times_seen": F.lit(1),
        })
        .execute()
    )


def replayable(spark: SparkSession, path: str, customer_keys: DataFrame, agent_keys: DataFrame, channel: str,
               schema: StructType) -> DataFrame:
    """The channel's open orphans whose customer and agent now exist, as typed rows of `schema`.

    `schema` is the channel's silver-ready row schema (typed columns and lineage, e.g. the batch's
    `rows.schema`). Load these rows before `mark_resolved`: once resolved they are not returned again.
    """
    location = storage.spark_path(path)
    if not DeltaTable.isDeltaTable(spark, location):
        return spark.createDataFrame([], schema)
    ready = (
        spark.read.format("delta").load(location)
        .where((F.col("channel") == channel) & (F.col("status") == OPEN))
        .join(customer_keys.select("customer_id"), "customer_id", "left_semi")
        .join(F.broadcast(agent_keys.select("agent_id")), "agent_id", "left_semi")
    )
    return ready.select(F.from_json("record", schema).alias("row")).select("row.*")


def mark_resolved(spark: SparkSession, path: str, resolved: DataFrame, run_id: str, run_date: dt.date) -> None:
    """Mark the open orphans among `resolved` (channel, complaint_id) resolved by this run.

    Already resolved or unknown keys are left alone, so passing every loaded key is safe, and a
    re-run changes nothing.
    """
    location = storage.spark_path(path)
    if not DeltaTable.isDeltaTable(spark, location):
        return
    still_open = snapshot(spark, location).where(F.col("status") == OPEN).select(*KEY)
    to_resolve = resolved.select(*KEY).distinct().join(still_open, list(KEY), "left_semi")
    if to_resolve.isEmpty():
        return
    (
        DeltaTable.forPath(spark, location).alias("t")
        .merge(to_resolve.alias("s"), "t.channel = s.channel AND t.complaint_id = s.complaint_id")
        .whenMatchedUpdate(set={"status": F.lit(RESOLVED), "resolved_run": F.lit(run_id), "resolved_date": F.lit(run_date)})
        .execute()
    )
