"""The one change path: `changes` on in-memory frames (no Delta on disk), then `apply_changes` on a real table."""
from __future__ import annotations

import datetime as dt

from chispa import assert_df_equality
from delta.tables import DeltaTable
from pyspark.sql import functions as F

from coretelecoms.platform.delta import (
    CHANGE,
    CURRENT,
    INSERT,
    UNCHANGED,
    UPDATE,
    Applied,
    apply_changes,
    changes,
    row_hash,
)
from coretelecoms.platform.tables import SILVER, Column, TableSpec

D1, D2 = dt.date(2025, 6, 1), dt.date(2025, 6, 2)
HASHED = TableSpec("things", SILVER, key=("id",), hashed=("status",), newer="generation_date", columns=(
    Column("id", "string"), Column("status", "string"), Column("generation_date", "date"), Column("row_hash", "string")))
INSERT_ONLY = TableSpec("seen", SILVER, key=("id", "day"), columns=(Column("id", "string"), Column("day", "date")))
WITHOUT_HASH = TableSpec("sightings", SILVER, key=("id",), hashed=("last_seen",), newer="last_seen", columns=(
    Column("id", "string"), Column("last_seen", "date")))


def stored(spark, rows):
    """Rows as the table holds them, with their hash."""
    frame = spark.createDataFrame(rows, "id string, status string, generation_date date")
    return frame.withColumn("row_hash", row_hash(HASHED.hashed))


def operations(spark, location):
    return [row.operation for row in DeltaTable.forPath(spark, location).history().orderBy("version").collect()]


def tags(tagged):
    return {row["id"]: row[CHANGE] for row in tagged.collect()}


def test_rows_are_inserts_updates_or_unchanged_by_key_hash_and_newer_wins(spark):
    current = stored(spark, [("same", "Backlog", D1), ("moved", "Backlog", D1), ("late", "Backlog", D2)])
    incoming = spark.createDataFrame(
        [("new", "Backlog", D2), ("same", "Backlog", D2), ("moved", "Resolved", D2), ("late", "Resolved", D1)],
        "id string, status string, generation_date date")
    tagged = changes(incoming, current, HASHED)
    # `late` differs but comes from an older file: the stored, newer state stands.
    assert tags(tagged) == {"new": INSERT, "same": UNCHANGED, "moved": UPDATE, "late": UNCHANGED}
    carried = {row["id"]: row[CURRENT]["status"] if row[CURRENT] else None for row in tagged.collect()}
    assert carried == {"new": None, "same": "Backlog", "moved": "Backlog", "late": "Backlog"}


def test_a_table_without_changing_columns_only_ever_inserts(spark):
    current = spark.createDataFrame([("a", D1)], "id string, day date")
    incoming = spark.createDataFrame([("a", D1), ("a", D2)], "id string, day date")
    expected = spark.createDataFrame([("a", D1, UNCHANGED), ("a", D2, INSERT)], "id string, day date, _change string")
    assert_df_equality(changes(incoming, current, INSERT_ONLY).drop(CURRENT), expected,
                       ignore_row_order=True, ignore_nullable=True)


def test_a_table_without_a_stored_hash_compares_its_change_columns(spark):
    current = spark.createDataFrame([("a", D1), ("b", D2)], "id string, last_seen date")
    incoming = spark.createDataFrame([("a", D2), ("b", D2), ("c", D2)], "id string, last_seen date")
    assert tags(changes(incoming, current, WITHOUT_HASH)) == {"a": UPDATE, "b": UNCHANGED, "c": INSERT}


def test_apply_changes_creates_a_table_with_its_first_rows_then_merges_and_skips_an_empty_change(spark, tmp_path):
    location = str(tmp_path / "things")
    empty = spark.createDataFrame([], HASHED.spark_schema)
    first = (spark.createDataFrame([("a", D1), ("b", D1)], "id string, generation_date date")
             .withColumn("status", F.lit("Backlog")))  # a literal: a column that cannot hold null
    assert not first.schema["status"].nullable
    assert apply_changes(spark, location, changes(first, empty, HASHED), HASHED) == Applied(inserted=2)
    assert operations(spark, location) == ["WRITE"]  # the first rows create the table: one commit

    current = spark.read.format("delta").load(location)
    second = spark.createDataFrame([("a", "Resolved", D2), ("b", "Backlog", D2), ("c", None, D2)],
                                   "id string, status string, generation_date date")
    assert apply_changes(spark, location, changes(second, current, HASHED), HASHED) == Applied(inserted=1, updated=1)
    assert operations(spark, location)[-1] == "MERGE"
    table = {row.id: (row.status, row.generation_date) for row in spark.read.format("delta").load(location).collect()}
    assert table == {"a": ("Resolved", D2), "b": ("Backlog", D1), "c": (None, D2)}  # the literal set no constraint

    versions = operations(spark, location)
    again = spark.read.format("delta").load(location)
    assert apply_changes(spark, location, changes(second, again, HASHED), HASHED) == Applied()
    assert operations(spark, location) == versions  # nothing changed: no commit
