"""Orphaned complaints (SPEC §5): split them off before any load, quarantine them, replay them later.

`orphaned_complaints` holds one row per (channel, complaint_id) with the latest record seen, its
reason, when it was first and last seen, and whether (and by which run) it was resolved.
"""
from __future__ import annotations

import datetime as dt

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StructType

from coretelecoms.bronze.columns import RUN_ID, SOURCE_DATE
from coretelecoms.platform import delta
from coretelecoms.platform.delta import CHANGE, CURRENT, UPDATE, Applied, changes
from coretelecoms.platform.tables import ENTITIES, ORPHANED_COMPLAINTS, TABLES, schema

MISSING_CUSTOMER, MISSING_AGENT, BOTH = "missing_customer", "missing_agent", "both"
OPEN, RESOLVED = "open", "resolved"
ORPHAN_REASON = "_orphan_reason"  # the column `check_parents` adds

# A quarantined complaint as `split_orphans` makes it: the table's columns up to its source date.
ORPHAN_SCHEMA = schema(TABLES[ORPHANED_COMPLAINTS].columns[:7])


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
    # The record is content: the run that saw it is `last_seen_run`, so a re-run stores the same record.
    recorded = [c for c in columns if c != RUN_ID]
    loadable = checked.where(F.col(ORPHAN_REASON).isNull()).select(*columns)
    orphans = checked.where(F.col(ORPHAN_REASON).isNotNull()).select(
        F.lit(channel).alias("channel"),
        F.col(ENTITIES[channel].key).cast("string").alias("complaint_id"),
        "customer_id",
        "agent_id",
        F.col(ORPHAN_REASON).alias("reason"),
        F.to_json(F.struct(*recorded)).alias("record"),
        F.col(SOURCE_DATE).alias("source_date"),
    )
    return loadable, orphans


def _known(keys: DataFrame, column: str, flag: str) -> DataFrame:
    """Distinct keys with a true flag: a left join then marks absent keys with null, never duplicating rows."""
    return keys.select(column).distinct().withColumn(flag, F.lit(True))


def _reason(has_customer: Column, has_agent: Column) -> Column:
    return (F.when(~has_customer & ~has_agent, BOTH).when(~has_customer, MISSING_CUSTOMER)
            .when(~has_agent, MISSING_AGENT))


def update_quarantine(spark: SparkSession, location: str, orphans: DataFrame, loaded: DataFrame, run_id: str,
                      run_date: dt.date) -> Applied:
    """One write of `orphaned_complaints` per run: this run's orphans (ORPHAN_SCHEMA rows) quarantined,
    and the open entries among `loaded` (channel, complaint_id: every complaint the run loaded) resolved.

    A new orphan is inserted open, times_seen 1. One seen on a later run date gets last_seen_*,
    times_seen + 1, and the latest record, reason and ids; a resolved orphan that comes back orphaned
    is open again. Seen on the same or an earlier run date: nothing. A loaded key that is not open
    (already resolved, or never quarantined) is left alone. So re-running a date changes nothing.
    The two sets never share a key: a complaint orphaned by this run is neither loaded nor replayed.
    """
    spec = TABLES[ORPHANED_COMPLAINTS]
    stored = delta.snapshot_or_empty(spark, location, spec.spark_schema)
    columns = [CHANGE, *spec.spark_schema.fieldNames()]
    return delta.apply_changes(spark, location, _sightings(orphans, stored, run_id, run_date).select(*columns).unionByName(
        _resolutions(loaded, stored, run_id, run_date).select(*columns)), spec)


def _sightings(orphans: DataFrame, stored: DataFrame, run_id: str, run_date: dt.date) -> DataFrame:
    sighting = orphans.withColumns({
        "status": F.lit(OPEN), "last_seen_run": F.lit(run_id), "last_seen_date": F.lit(run_date),
        "resolved_run": F.lit(None).cast("string"), "resolved_date": F.lit(None).cast("date"),
    })
    entry = F.col(CURRENT)
    return changes(sighting, stored, TABLES[ORPHANED_COMPLAINTS]).withColumns({
        "first_seen_run": F.coalesce(entry["first_seen_run"], F.lit(run_id)),
        "first_seen_date": F.coalesce(entry["first_seen_date"], F.lit(run_date)),
        "times_seen": F.coalesce(entry["times_seen"], F.lit(0)) + 1,
    })


def _resolutions(loaded: DataFrame, stored: DataFrame, run_id: str, run_date: dt.date) -> DataFrame:
    key = list(TABLES[ORPHANED_COMPLAINTS].key)
    return stored.where(F.col("status") == OPEN).join(loaded.select(*key).distinct(), key, "left_semi").withColumns({
        "status": F.lit(RESOLVED), "resolved_run": F.lit(run_id), "resolved_date": F.lit(run_date), CHANGE: F.lit(UPDATE),
    })


def replayable(spark: SparkSession, location: str, customer_keys: DataFrame, agent_keys: DataFrame, channel: str,
               schema: StructType, orphaned_now: DataFrame) -> DataFrame:
    """The channel's open orphans whose customer and agent now exist, as typed rows of `schema`.

    `schema` is the channel's silver-ready row schema (typed columns and lineage, e.g. the batch's
    `rows.schema`). `orphaned_now` (channel, complaint_id) are the run's own orphans: an entry sighted
    again is replaced by its new record, which lacks a parent, so it is not replayed. Load these rows
    before `update_quarantine`: once resolved they are not returned again.
    """
    if not delta.exists(spark, location):
        return spark.createDataFrame([], schema)
    ready = (
        delta.snapshot(spark, location)
        .where((F.col("channel") == channel) & (F.col("status") == OPEN))
        .join(orphaned_now.select(*TABLES[ORPHANED_COMPLAINTS].key), list(TABLES[ORPHANED_COMPLAINTS].key), "left_anti")
        .join(customer_keys.select("customer_id"), "customer_id", "left_semi")
        .join(F.broadcast(agent_keys.select("agent_id")), "agent_id", "left_semi")
    )
    row = ready.select(F.from_json("record", schema).alias("row"), "last_seen_run")
    return row.select(*[F.col("last_seen_run").alias(RUN_ID) if name == RUN_ID else F.col(f"row.{name}")
                        for name in schema.fieldNames()])
