"""Silver MERGEs (SPEC §3, §6): SCD type 2 dimensions, current-state complaints, status history.

Two rules make every function here idempotent and cheap to re-run:

- Incoming rows are compared with a *pinned* version of the table (`snapshot`): a plain path read
  follows later commits, so without the pin "what changed" would be recomputed against the table
  after the MERGE.
- Only rows that really change reach a MERGE, and an empty change skips it: Delta rewrites every
  file a matched row touches even when the clause condition is false, so a MERGE of unchanged rows
  would still commit. Re-running a date therefore writes nothing and adds no Delta version.
"""
from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import reduce

from delta.tables import DeltaTable
from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql.types import BooleanType, DateType, IntegerType, StringType, StructField, StructType, TimestampType

from coretelecoms.bronze.columns import SOURCE_DATE, SOURCE_ROW
from coretelecoms.platform import storage
from coretelecoms.quality.entities import ENTITIES

ROW_HASH = "row_hash"
VALID_FROM, VALID_TO, IS_CURRENT = "valid_from", "valid_to", "is_current"
FIRST_SEEN, LAST_CHANGED = "first_seen_date", "last_changed_date"
STATUS_HISTORY = "complaint_status_history"
HISTORY_COLUMNS = (
    "complaint_id", "channel", "resolution_status", "agent_id", "resolution_date",
    "observed_run_date", "source_generation_date", "customer_id",
)
HISTORY_KEY = ("channel", "complaint_id")
TRACKED = ("resolution_status", "agent_id", "resolution_date")  # a change of these is a history row
NEW, CHANGED, UNCHANGED = "new", "changed", "unchanged"


def row_hash(columns: Sequence[str]) -> Column:
    """SHA-256 of the columns as JSON: names are kept and nulls written, so (a, null) != (null, a)."""
    return F.sha2(F.to_json(F.struct(*columns), {"ignoreNullFields": "false"}), 256)


def ensure_table(spark: SparkSession, path: str, schema: StructType, partition_by: Sequence[str] = ()) -> tuple[str, bool]:
    """Create an empty Delta table at `path` unless one exists; returns the path Spark takes and
    whether this call created it (then the table is empty: see `append_to_new`)."""
    location = storage.spark_path(path)
    if DeltaTable.isDeltaTable(spark, location):
        return location, False
    nullable = StructType([StructField(f.name, f.dataType, True) for f in schema.fields])
    spark.createDataFrame([], nullable).write.format("delta").partitionBy(*partition_by).save(location)
    return location, True


def append_to_new(location: str, rows: DataFrame, schema: StructType) -> None:
    """Write `rows` into a table `ensure_table` has just created: into an empty table a MERGE would
    only insert, after joining every row with nothing."""
    rows.select(*schema.fieldNames()).write.format("delta").mode("append").save(location)


def snapshot(spark: SparkSession, location: str) -> DataFrame:
    """The table pinned at its current version, so later commits never change what this frame reads."""
    version = DeltaTable.forPath(spark, location).history(1).first()["version"]
    return spark.read.format("delta").option("versionAsOf", version).load(location)


@dataclass(frozen=True)
class LakeVersion:
    """One version of one Delta table: the id changes when a table is re-created at the same path."""

    table_id: str
    version: int


def pinned(spark: SparkSession, location: str) -> tuple[DataFrame, LakeVersion]:
    """`snapshot`, with the version it reads."""
    table = DeltaTable.forPath(spark, location)
    version = LakeVersion(table.detail().first()["id"], table.history(1).first()["version"])
    return spark.read.format("delta").option("versionAsOf", version.version).load(location), version


def newest_per_key(rows: DataFrame, key: str, generation_date: str) -> DataFrame:
    """One row per key, the newest delivery winning (a batch unioned with replayed orphans may repeat keys)."""
    newest_first = Window.partitionBy(key).orderBy(
        F.col(generation_date).desc_nulls_last(), F.col(SOURCE_DATE).desc_nulls_last(), F.col(SOURCE_ROW).desc()
    )
    return rows.withColumn("_rank", F.row_number().over(newest_first)).where("_rank = 1").drop("_rank")


# --- dimensions: SCD type 2 ------------------------------------------------------------------------

def merge_dimension_scd2(spark: SparkSession, path: str, rows: DataFrame, key: str, attributes: list[str],
                         run_date: dt.date) -> dict[str, int]:
    """Apply one snapshot of a dimension as SCD type 2; returns {inserted, updated, unchanged} keys.

    Table: key, attributes, row_hash, valid_from, valid_to (null while current), is_current, then the
    remaining columns of `rows` (lineage) as they were for the version. A key absent from the
    snapshot keeps its current version.
    """
    lineage = [c for c in rows.columns if c != key and c not in attributes]
    incoming = rows.select(key, *attributes, row_hash(attributes).alias(ROW_HASH), *lineage)
    schema = StructType(
        incoming.select(key, *attributes, ROW_HASH).schema.fields
        + [StructField(VALID_FROM, DateType()), StructField(VALID_TO, DateType()), StructField(IS_CURRENT, BooleanType())]
        + [incoming.schema[c] for c in lineage]
    )
    location, created = ensure_table(spark, path, schema)
    current = snapshot(spark, location).where(IS_CURRENT).select(key, F.col(ROW_HASH).alias("_current_hash"))
    classified = incoming.join(current, key, "left").withColumn(
        "_change",
        F.when(F.col("_current_hash").isNull(), NEW)
        .when(F.col("_current_hash") != F.col(ROW_HASH), CHANGED)
        .otherwise(UNCHANGED),
    ).persist()
    try:
        counts = {row["_change"]: row["count"] for row in classified.groupBy("_change").count().collect()}
        if counts.get(NEW) or counts.get(CHANGED):
            _write_versions(spark, location, classified.where(F.col("_change") != UNCHANGED), key, schema, run_date, created)
    finally:
        classified.unpersist()
    return {"inserted": counts.get(NEW, 0), "updated": counts.get(CHANGED, 0), "unchanged": counts.get(UNCHANGED, 0)}


def _write_versions(spark: SparkSession, location: str, changes: DataFrame, key: str, schema: StructType,
                    run_date: dt.date, created: bool) -> None:
    """One MERGE closes changed versions and inserts new ones (the staged-union trick).

    Every change carries its key as merge key: a changed key matches its current version, which is
    closed; a new key matches nothing and is inserted. Changed keys come a second time with a null
    merge key, which never matches, so their new version is inserted in the same MERGE. A table
    created by this run has only new keys: they are appended.
    """
    merge_key = F.col(key).alias("_merge_key")
    staged = changes.select(merge_key, "*").unionByName(
        changes.where(F.col("_change") == CHANGED).select(F.lit(None).cast(schema[key].dataType).alias("_merge_key"), "*")
    )
    version_columns = {VALID_FROM: F.lit(run_date), VALID_TO: F.lit(None).cast("date"), IS_CURRENT: F.lit(True)}
    copied = [f.name for f in schema.fields if f.name not in version_columns]
    if created:
        append_to_new(location, changes.withColumns(version_columns), schema)
        return
    (
        DeltaTable.forPath(spark, location).alias("t")
        .merge(staged.alias("s"), f"t.`{key}` = s._merge_key AND t.{IS_CURRENT}")
        .whenMatchedUpdate(set={VALID_TO: F.lit(run_date), IS_CURRENT: F.lit(False)})
        .whenNotMatchedInsert(values={**{name: F.col(f"s.`{name}`") for name in copied}, **version_columns})
        .execute()
    )


def dimension_changes(spark: SparkSession, path: str, run_date: dt.date) -> DataFrame:
    """The current versions written on `run_date` (new or changed keys): what PostgreSQL must upsert.

    Read from the table, not remembered from the MERGE, so a run re-started after a failure between
    the lake and PostgreSQL still loads them.
    """
    table = spark.read.format("delta").load(storage.spark_path(path))
    return table.where(F.col(IS_CURRENT) & (F.col(VALID_FROM) == F.lit(run_date)))


# --- complaints: current state per natural key -----------------------------------------------------

def merge_complaints(spark: SparkSession, path: str, rows: DataFrame, channel: str, key: str,
                     run_date: dt.date) -> DataFrame:
    """Upsert a channel's batch into its current-state table; returns the rows it wrote.

    Table: the typed columns, row_hash, first_seen_date, last_changed_date, then the lineage
    (`_`-prefixed) columns. The hash leaves out the key and the generation date, so an identical
    re-delivery on a later day is no change. A row changes the table when its key is new, or its
    hash differs and its generation date is not older than the stored one (a late re-delivery of an
    old file never overwrites newer state).

    The returned frame has the table's columns and was computed against the table as it was before
    the MERGE (pinned version). It is persisted (and counted) here: the caller unpersists it.
    """
    generation = ENTITIES[channel].generation_date
    typed = [c for c in rows.columns if not c.startswith("_")]
    lineage = [c for c in rows.columns if c.startswith("_")]
    hashed = [c for c in typed if c not in (key, generation)]
    incoming = newest_per_key(rows, key, generation).withColumn(ROW_HASH, row_hash(hashed))
    schema = StructType(
        incoming.select(*typed, ROW_HASH).schema.fields
        + [StructField(FIRST_SEEN, DateType()), StructField(LAST_CHANGED, DateType())]
        + [incoming.schema[c] for c in lineage]
    )
    location, created = ensure_table(spark, path, schema)
    stored = snapshot(spark, location).select(
        key, F.col(ROW_HASH).alias("_stored_hash"), F.col(generation).alias("_stored_generation"),
        F.col(FIRST_SEEN).alias("_stored_first_seen"),
    )
    not_older = F.coalesce(F.col(generation) >= F.col("_stored_generation"), F.lit(True))
    changed = (
        incoming.join(stored, key, "left")
        .where(F.col("_stored_hash").isNull() | ((F.col("_stored_hash") != F.col(ROW_HASH)) & not_older))
        .withColumns({FIRST_SEEN: F.coalesce("_stored_first_seen", F.lit(run_date)), LAST_CHANGED: F.lit(run_date)})
        .select(*schema.fieldNames())
        .persist()
    )
    if changed.count():
        if created:
            append_to_new(location, changed, schema)
        else:
            (
                DeltaTable.forPath(spark, location).alias("t")
                .merge(changed.alias("s"), f"t.`{key}` = s.`{key}`")
                .whenMatchedUpdateAll()
                .whenNotMatchedInsertAll()
                .execute()
            )
    return changed


# --- complaint status history ------------------------------------------------------------------------

HISTORY_SCHEMA = StructType([
    StructField(name, kind) for name, kind in zip(HISTORY_COLUMNS, (
        StringType(), StringType(), StringType(), IntegerType(), TimestampType(), DateType(), DateType(), StringType(),
    ))
])


def append_status_history(spark: SparkSession, path: str, batches: Mapping[str, DataFrame], run_date: dt.date,
                          complaint_tables: Mapping[str, str]) -> dict[str, int]:
    """Append to `complaint_status_history` what the run observed; returns the rows added per channel.

    `batches` maps a channel to its rows; one MERGE takes every channel's additions. A complaint gets a
    row when it has none yet, or when its status, agent or resolution date differs from its latest
    row observed before `run_date` (other attribute changes add nothing). A row older (generation
    date) than what the history or the channel's current-state table (`complaint_tables[channel]`)
    already holds is a late re-delivery and adds nothing. Rows are keyed by (channel, complaint_id,
    observed_run_date) and only inserted if absent, so re-running a date adds nothing.

    The rows are the run's batch (or what `merge_complaints` returned). The result does not depend
    on whether the complaint MERGE ran before or after; passing the batch lets a re-run fill in
    history that a run failing between the two calls did not write.
    """
    channels = list(batches)
    observed = reduce(DataFrame.unionByName, [
        _observations(newest_per_key(rows, ENTITIES[channel].key, ENTITIES[channel].generation_date), channel, run_date)
        for channel, rows in batches.items()
    ])
    location, created = ensure_table(spark, path, HISTORY_SCHEMA, partition_by=("channel",))
    history = snapshot(spark, location).where(F.col("channel").isin(channels))
    additions = (
        observed.join(_latest_before(history, observed, run_date), list(HISTORY_KEY), "left")
        .join(_stored_generations(spark, complaint_tables, channels), list(HISTORY_KEY), "left")
        .where(_is_new_observation(F.col("_latest"), F.col("_stored_generation")))
        .join(history.where(F.col("observed_run_date") == F.lit(run_date)), list(HISTORY_KEY), "left_anti")
        .select(*HISTORY_COLUMNS)
        .persist()
    )
    try:
        added = {channel: 0 for channel in channels}
        added.update({row["channel"]: row["count"] for row in additions.groupBy("channel").count().collect()})
        if any(added.values()):
            if created:
                append_to_new(location, additions, HISTORY_SCHEMA)
            else:
                # Channels and date as literals: Delta then reads only these channels' files of this date.
                in_channels = ", ".join(f"'{channel}'" for channel in channels)
                same_key = (f"t.channel IN ({in_channels}) AND t.observed_run_date = DATE'{run_date.isoformat()}' "
                            "AND t.channel = s.channel AND t.complaint_id = s.complaint_id")
                (DeltaTable.forPath(spark, location).alias("t").merge(additions.alias("s"), same_key)
                 .whenNotMatchedInsertAll().execute())
    finally:
        additions.unpersist()
    return added


def _observations(rows: DataFrame, channel: str, run_date: dt.date) -> DataFrame:
    key, generation = ENTITIES[channel].key, ENTITIES[channel].generation_date
    resolution = F.col("resolution_date") if "resolution_date" in rows.columns else F.lit(None)  # calls have none
    return rows.select(
        F.col(key).cast("string").alias("complaint_id"),
        F.lit(channel).alias("channel"),
        "resolution_status",
        "agent_id",
        resolution.cast("timestamp").alias("resolution_date"),
        F.lit(run_date).alias("observed_run_date"),
        F.col(generation).alias("source_generation_date"),
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
        location = storage.spark_path(complaint_tables[channel])
        if DeltaTable.isDeltaTable(spark, location):
            stored.append(spark.read.format("delta").load(location).select(
                F.lit(channel).alias("channel"),
                F.col(ENTITIES[channel].key).cast("string").alias("complaint_id"),
                F.col(ENTITIES[channel].generation_date).alias("_stored_generation"),
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

