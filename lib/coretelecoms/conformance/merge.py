"""Silver changes (SPEC §3, §6): SCD type 2 dimensions, current-state complaints, status history.

Each function computes the table's changes against a pinned version of it and applies them through
`platform.delta.apply_changes`, so re-running a date writes nothing and adds no Delta version.
"""
from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Mapping
from dataclasses import replace
from functools import reduce

from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from coretelecoms.bronze.columns import SOURCE_DATE, SOURCE_ROW
from coretelecoms.platform import delta
from coretelecoms.platform.delta import CHANGE, CURRENT, INSERT, UNCHANGED, UPDATE, Applied, cached, changes
from coretelecoms.platform.tables import (
    ENTITIES,
    FIRST_SEEN,
    IS_CURRENT,
    LAST_CHANGED,
    STATUS_HISTORY,
    TABLES,
    VALID_FROM,
    VALID_TO,
    TableSpec,
)

HISTORY_KEY = ("channel", "complaint_id")
TRACKED = ("resolution_status", "agent_id", "resolution_date")  # a change of these is a history row


def newest_per_key(rows: DataFrame, key: str, generation_date: str) -> DataFrame:
    """One row per key, the newest delivery winning (a batch unioned with replayed orphans may repeat keys)."""
    newest_first = Window.partitionBy(key).orderBy(
        F.col(generation_date).desc_nulls_last(), F.col(SOURCE_DATE).desc_nulls_last(), F.col(SOURCE_ROW).desc()
    )
    return rows.withColumn("_rank", F.row_number().over(newest_first)).where("_rank = 1").drop("_rank")


# --- dimensions: SCD type 2 ------------------------------------------------------------------------

def merge_dimension_scd2(spark: SparkSession, location: str, rows: DataFrame, spec: TableSpec,
                         run_date: dt.date, keys: int) -> dict[str, int]:
    """Apply one snapshot of a dimension as SCD type 2; returns {inserted, updated, unchanged} keys.

    `spec` is the dimension's table (key: entity key and valid_from); `rows` has one row per key, and
    `keys` rows. A changed key's current version is closed (valid_to = run date) and its new version
    inserted, in one MERGE; a key absent from the snapshot keeps its current version.
    """
    entity_key = spec.key[0]
    current = delta.snapshot_or_empty(spark, location, spec.spark_schema).where(F.col(IS_CURRENT))
    by_key = replace(spec, key=(entity_key,))
    # Only changed keys are kept, with their stored row: a full snapshot changes a few thousand of
    # millions, and keeping every tagged row filled the 4 GB heap at full volume.
    with cached(changes(rows, current, by_key).where(F.col(CHANGE) != UNCHANGED)) as changed:
        counts = {row[CHANGE]: row["count"] for row in changed.groupBy(CHANGE).count().collect()}
        if counts:
            delta.apply_changes(spark, location, changed.transform(scd2_versions(spec, run_date)), spec)
    inserted, updated = counts.get(INSERT, 0), counts.get(UPDATE, 0)
    return {"inserted": inserted, "updated": updated, "unchanged": keys - inserted - updated}


def scd2_versions(spec: TableSpec, run_date: dt.date):
    """Key-level changes -> version rows: a new version per new or changed key (tagged insert), and the
    closed current version of each changed key (tagged update). A version replaced on the date it
    began (a second snapshot the same day) is overwritten instead of closed."""
    def transform(tagged: DataFrame) -> DataFrame:
        lineage = [c for c in tagged.columns if c.startswith("_") and c not in (CHANGE, CURRENT)]
        columns = [c.name for c in spec.columns] + lineage + [CHANGE]
        same_day = F.coalesce(F.col(CURRENT)[VALID_FROM] == F.lit(run_date), F.lit(False))
        versions = tagged.where(F.col(CHANGE) != UNCHANGED).withColumns({
            VALID_FROM: F.lit(run_date), VALID_TO: F.lit(None).cast("date"), IS_CURRENT: F.lit(True),
            CHANGE: F.when(same_day, UPDATE).otherwise(INSERT),
        })
        stored = tagged.schema[CURRENT].dataType.fieldNames()  # no lineage while the table is new
        closed = tagged.where((F.col(CHANGE) == UPDATE) & ~same_day).select(
            *[F.col(CURRENT)[c].alias(c) if c in stored else F.lit(None).alias(c) for c in columns if c != CHANGE]
        ).withColumns({VALID_TO: F.lit(run_date), IS_CURRENT: F.lit(False), CHANGE: F.lit(UPDATE)})
        return versions.select(*columns).unionByName(closed.select(*columns))

    return transform


# --- complaints: current state per natural key -----------------------------------------------------

def merge_complaints(spark: SparkSession, location: str, rows: DataFrame, spec: TableSpec, run_date: dt.date) -> Applied:
    """Upsert a channel's batch into its current-state table; returns what it wrote.

    A row changes the table when its key is new, or its hash (every typed column but the key and the
    generation date, so an identical re-delivery is no change) differs and its generation date is not
    older than the stored one (a late re-delivery of an old file never overwrites newer state).
    """
    current = delta.snapshot_or_empty(spark, location, spec.spark_schema)
    tagged = changes(newest_per_key(rows, spec.key[0], spec.newer), current, spec).withColumns({
        FIRST_SEEN: F.coalesce(F.col(CURRENT)[FIRST_SEEN], F.lit(run_date)),
        LAST_CHANGED: F.lit(run_date),
    })
    return delta.apply_changes(spark, location, tagged, spec)


# --- complaint status history ------------------------------------------------------------------------

def append_status_history(spark: SparkSession, location: str, batches: Mapping[str, DataFrame], run_date: dt.date,
                          complaint_tables: Mapping[str, str]) -> dict[str, int]:
    """Append to `complaint_status_history` what the run observed; returns the rows added per channel.

    `batches` maps a channel to its rows; one write takes every channel's additions. A complaint gets a
    row when it has none yet, or when its status, agent or resolution date differs from its latest
    row observed before `run_date` (other attribute changes add nothing). A row older (generation
    date) than what the history or the channel's current-state table (`complaint_tables[channel]`)
    already holds is a late re-delivery and adds nothing. Rows are keyed by (channel, complaint_id,
    observed_run_date) and only inserted if absent, so re-running a date adds nothing.

    The result does not depend on whether the complaint merge ran before or after; passing the batch
    lets a re-run fill in history that a run failing between the two calls did not write.
    """
    spec = TABLES[STATUS_HISTORY]
    channels = list(batches)
    observed = reduce(DataFrame.unionByName, [
        _observations(newest_per_key(rows, ENTITIES[channel].key, ENTITIES[channel].generation_date), channel, run_date)
        for channel, rows in batches.items()
    ])
    history = delta.snapshot_or_empty(spark, location, spec.spark_schema).where(F.col("channel").isin(channels))
    additions = (
        observed.join(_latest_before(history, observed, run_date), list(HISTORY_KEY), "left")
        .join(_stored_generations(spark, complaint_tables, channels), list(HISTORY_KEY), "left")
        .where(_is_new_observation(F.col("_latest"), F.col("_stored_generation")))
        .select(*spec.spark_schema.fieldNames())
    )
    same_day = history.where(F.col("observed_run_date") == F.lit(run_date))
    # The history hashes nothing (`spec.hashed` is empty): a row is inserted or left alone, never updated.
    applied = delta.apply_changes(spark, location, changes(additions, same_day, spec), spec,
                                  partition_by=("channel",), count_by="channel")
    return {channel: applied.written_by.get(channel, 0) for channel in channels}


def _observations(rows: DataFrame, channel: str, run_date: dt.date) -> DataFrame:
    entity = ENTITIES[channel]
    resolution = F.col(entity.resolution_time) if entity.resolution_time else F.lit(None)  # calls have none
    return rows.select(
        F.col(entity.key).cast("string").alias("complaint_id"),
        F.lit(channel).alias("channel"),
        "resolution_status",
        "agent_id",
        resolution.cast("timestamp").alias("resolution_date"),
        F.lit(run_date).alias("observed_run_date"),
        F.col(entity.generation_date).alias("source_generation_date"),
        "customer_id",
    )


def _latest_before(history: DataFrame, observed: DataFrame, run_date: dt.date) -> DataFrame:
    """Per observed complaint, its latest history row before the run date, as the struct `_latest`."""
    latest = F.struct("observed_run_date", "source_generation_date", *TRACKED)  # structs order by their first field
    return (
        history.where(F.col("observed_run_date") < F.lit(run_date))
        .join(observed.select(*HISTORY_KEY), list(HISTORY_KEY), "left_semi")
        .groupBy(*HISTORY_KEY)
        .agg(F.max(latest).alias("_latest"))
    )


def _stored_generations(spark: SparkSession, complaint_tables: Mapping[str, str], channels: list[str]) -> DataFrame:
    stored = []
    for channel in channels:
        if delta.exists(spark, complaint_tables[channel]):
            entity = ENTITIES[channel]
            stored.append(delta.snapshot(spark, complaint_tables[channel]).select(
                F.lit(channel).alias("channel"),
                F.col(entity.key).cast("string").alias("complaint_id"),
                F.col(entity.generation_date).alias("_stored_generation"),
            ))
    if not stored:
        return spark.createDataFrame([], "channel string, complaint_id string, _stored_generation date")
    return reduce(DataFrame.unionByName, stored)


def _is_new_observation(latest: Column, stored_generation: Column) -> Column:
    moved = reduce(operator.or_, [~F.col(c).eqNullSafe(latest[c]) for c in TRACKED])
    # The state can be newer than the latest history row: a category-only change adds no history row.
    newest_known = F.greatest(latest["source_generation_date"], stored_generation)  # greatest skips nulls
    not_older = F.coalesce(F.col("source_generation_date") >= newest_known, F.lit(True))
    return (latest.isNull() | moved) & not_older
