"""Delta tables: pinned reads, creation, and the one path every change to a lake table takes.

A change is applied in two steps:

- `changes(incoming, current, spec)` is pure: it tags each incoming row `insert` (its key is not in
  `current`), `update` (its `row_hash` over `spec.hashed` differs and its `spec.newer` value is not
  older) or `unchanged`, and carries the current row as the struct `_current` for the caller to
  derive columns from (first seen, times seen...).
- `apply_changes(spark, location, changes, spec)` writes the inserts and updates: its first rows
  create the table, later ones are appended when there is nothing to update, and otherwise one MERGE
  on the table's key writes them. It returns what it wrote.

Two rules keep every write idempotent and cheap: `current` is a *pinned* version of the table (a
plain path read would follow the write's own commit), and only rows that change reach the write: an
empty change commits nothing, so re-running a date adds no Delta version.
"""
from __future__ import annotations

import operator
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import reduce

from delta.tables import DeltaTable
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from coretelecoms.platform import storage
from coretelecoms.platform.tables import ROW_HASH, TableSpec

INSERT, UPDATE, UNCHANGED = "insert", "update", "unchanged"
CHANGE, CURRENT = "_change", "_current"


@dataclass(frozen=True)
class LakeVersion:
    """One version of one Delta table: the id changes when a table is re-created at the same path."""

    table_id: str
    version: int


@dataclass(frozen=True)
class Applied:
    """Rows an `apply_changes` call inserted and updated, and the rows written per value of its
    `count_by` column (empty without one)."""

    inserted: int = 0
    updated: int = 0
    written_by: dict = field(default_factory=dict)

    @property
    def written(self) -> int:
        return self.inserted + self.updated


def exists(spark: SparkSession, location: str) -> bool:
    return DeltaTable.isDeltaTable(spark, storage.spark_path(location))


def pinned(spark: SparkSession, location: str) -> tuple[DataFrame, LakeVersion]:
    """The table at its current version, and that version: later commits never change what it reads."""
    path = storage.spark_path(location)
    table = DeltaTable.forPath(spark, path)
    version = LakeVersion(table.detail().first()["id"], table.history(1).first()["version"])
    return spark.read.format("delta").option("versionAsOf", version.version).load(path), version


def snapshot(spark: SparkSession, location: str) -> DataFrame:
    """The table pinned at its current version; unlike `pinned`, no job to read the table id."""
    path = storage.spark_path(location)
    version = DeltaTable.forPath(spark, path).history(1).first()["version"]
    return spark.read.format("delta").option("versionAsOf", version).load(path)


def snapshot_or_empty(spark: SparkSession, location: str, schema: T.StructType) -> DataFrame:
    """The pinned table, or no rows of `schema` when there is no table yet."""
    return snapshot(spark, location) if exists(spark, location) else spark.createDataFrame([], schema)


def row_hash(columns: Sequence[str]) -> Column:
    """SHA-256 of the columns as JSON: names are kept and nulls written, so (a, null) != (null, a)."""
    return F.sha2(F.to_json(F.struct(*columns), {"ignoreNullFields": "false"}), 256)


@contextmanager
def cached(frame: DataFrame) -> Iterator[DataFrame]:
    """`frame` persisted for the block, and released when it ends, however it ends."""
    frame = frame.persist()
    try:
        yield frame
    finally:
        frame.unpersist()


def computed_once(frame: DataFrame) -> DataFrame:
    """`frame`'s rows, computed now and kept on the executors (a local checkpoint), with no lineage.

    For a small frame that several later plans use: each use then reads the kept rows instead of
    re-planning and re-running every scan and join behind it (one plan's size grows with each use).
    The rows live as long as the returned frame; an executor lost meanwhile fails the run, and a
    re-run of the date is idempotent.
    """
    return frame.localCheckpoint(eager=True)


def changes(incoming: DataFrame, current: DataFrame, spec: TableSpec) -> DataFrame:
    """`incoming` with `row_hash` (when the table hashes), CHANGE and CURRENT (the stored row or null).

    Pure: `current` is any frame of the table's rows (a pinned snapshot, or rows made in a test).
    """
    key = list(spec.key)
    stored_row = F.col(CURRENT)
    if spec.hashed and any(c.name == ROW_HASH for c in spec.columns):
        incoming = incoming.withColumn(ROW_HASH, row_hash(spec.hashed))
        moved = stored_row[ROW_HASH] != F.col(ROW_HASH)
    else:  # a table without a stored hash compares its few change columns directly
        moved = reduce(operator.or_, [~F.col(c).eqNullSafe(stored_row[c]) for c in spec.hashed], F.lit(False))
    stored = current.select(*key, F.struct(*current.columns).alias(CURRENT))
    tagged = incoming.join(stored, key, "left")
    if spec.newer:
        moved = moved & F.coalesce(F.col(spec.newer) >= stored_row[spec.newer], F.lit(True))
    return tagged.withColumn(CHANGE, F.when(stored_row.isNull(), INSERT).when(moved, UPDATE).otherwise(UNCHANGED))


def apply_changes(spark: SparkSession, location: str, tagged: DataFrame, spec: TableSpec,
                  partition_by: Sequence[str] = (), count_by: str | None = None) -> Applied:
    """Write the inserts and updates of a `changes` result into the table at `location`.

    The rows written have the table's columns (spec columns, then any `_`-prefixed lineage the rows
    carry); CHANGE and CURRENT are dropped. `partition_by` applies when the table is created.
    `count_by` (a column of the rows) also counts the rows written per value of it, in the same job.
    """
    lineage = [c for c in tagged.columns if c.startswith("_") and c not in (CHANGE, CURRENT)]
    columns = [c.name for c in spec.columns] + lineage
    with cached(tagged.where(F.col(CHANGE) != UNCHANGED).select(CHANGE, *columns)) as pending:
        by_change, written_by = Counter(), Counter()
        for row in pending.groupBy(CHANGE, *([count_by] if count_by else [])).count().collect():
            by_change[row[CHANGE]] += row["count"]
            if count_by:
                written_by[row[count_by]] += row["count"]
        applied = Applied(by_change[INSERT], by_change[UPDATE], dict(written_by))
        if applied.written:
            _write(spark, location, pending.drop(CHANGE), spec, applied, partition_by)
    return applied


def _write(spark: SparkSession, location: str, rows: DataFrame, spec: TableSpec, applied: Applied,
           partition_by: Sequence[str]) -> None:
    path = storage.spark_path(location)
    if not DeltaTable.isDeltaTable(spark, path):
        # The first rows create the table: one commit. Delta stores every column of a new table as
        # nullable, so a literal's non-null type does not become a constraint on later rows.
        rows.write.format("delta").partitionBy(*partition_by).save(path)
        return
    if not applied.updated:
        # Only new keys: an append, without joining every row with the table.
        rows.write.format("delta").mode("append").save(path)
        return
    (
        DeltaTable.forPath(spark, path).alias("t")
        .merge(rows.alias("s"), " AND ".join(f"t.`{k}` = s.`{k}`" for k in spec.key))
        .whenMatchedUpdateAll()
        .whenNotMatchedInsertAll()
        .execute()
    )
