"""One run into the conformance database: Spark fills the staging tables, one transaction merges them.

`write_staging` COPYs each DataFrame into its UNLOGGED `staging.<table>`; `load_run` then
merges every staging table into the model from the driver in a single psycopg2 transaction, so a
run's load is all or nothing (SPEC §3, §6). Merges touch a row only when its content changed, which
makes re-running a date a no-op and keeps `updated_run` pointing at the run that last changed it.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

import psycopg2
import pyarrow as pa
import pyarrow.csv as pa_csv
from psycopg2 import errors, sql
from psycopg2.extensions import cursor as Cursor
from psycopg2.extras import Json
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from coretelecoms.platform.delta import LakeVersion
from coretelecoms.platform.tables import RUN_DATE, RUN_ID, PostgresTable, foreign_keys, postgres_tables, staging_columns

LOAD_LOCK = "coretelecoms.conformance.load"  # one load transaction at a time per database
STAGING_LOCK = "coretelecoms.conformance.staging"  # one run from its first staged row to its commit
FAILED = "failed"
MAX_REPORTED_KEYS = 10



# ---------------------------------------------------------------------------------------------
# Staging (Spark)


@contextmanager
def staging_lock(dsn: str, progress=print) -> Iterator[None]:
    """Hold the database's staging tables for one run, from its first truncate until it commits.

    Staging is shared: without this, a second run of the same date (a schedule and a manual re-run)
    could truncate or fill the tables between the first run's COPY and its load. A session advisory
    lock on a connection of its own; closing the connection releases it, also when the process dies.
    A second run waits, and says so.
    """
    connection = psycopg2.connect(dsn)
    try:
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(hashtext(%s))", (STAGING_LOCK,))
            if not cursor.fetchone()[0]:
                progress("  postgres: another run is loading into this database; waiting for it to finish")
                cursor.execute("SELECT pg_advisory_lock(hashtext(%s))", (STAGING_LOCK,))
        yield
    finally:
        connection.close()


def write_staging(frame: DataFrame, table: str, dsn: str, connections: int) -> int:
    """Replace the rows of `staging.<table>` with `frame`; return the number of rows now staged.

    Each of at most `connections` partitions streams its rows to PostgreSQL with one COPY, as CSV
    that Arrow writes a record batch at a time (no Python loop per row). The staging tables are
    scratch space: the run's transaction (`load_run`) is what makes the load all or nothing.
    """
    columns = _staging_columns(table)
    _check_columns(frame, table, columns)
    _truncate_staging(dsn, table)
    # At most `connections` tasks, each with its own connection; coalesce never shuffles nor adds
    # partitions (asking a frame for its partition count would plan the whole query once more).
    rows = frame.select(*(_copy_column(name, kind) for name, kind in columns)).coalesce(connections)
    # One row per partition, summed here: a Spark aggregate would add a shuffle and a job per table.
    sent = sum(row.rows for row in rows.mapInArrow(_copy_partition(dsn, table, [name for name, _ in columns]), "rows long").collect())
    staged = _count_staged(dsn, table)
    if staged != sent:
        raise StagingError(
            f"staging.{table}: {sent} rows were sent but {staged} are staged; a retried task may have "
            "copied its rows twice. Re-run the date: staging is replaced on every run"
        )
    return staged


class StagingError(RuntimeError):
    """The staging table does not hold exactly the rows sent: the run must not load it."""


def _copy_partition(dsn: str, table: str, names: list[str]) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    """The task that COPYs one partition's record batches into `staging.<table>` and yields its count."""
    def copy(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        statement = sql.SQL("COPY {} ({}) FROM STDIN WITH (FORMAT csv)").format(
            sql.Identifier("staging", table), sql.SQL(", ").join(map(sql.Identifier, names)))
        stream = _CsvStream(batches)
        connection = psycopg2.connect(dsn)
        try:
            with connection, connection.cursor() as cursor:
                cursor.copy_expert(statement, stream, size=_COPY_CHUNK)
        finally:
            connection.close()
        yield pa.RecordBatch.from_pydict({"rows": pa.array([stream.rows], pa.int64())})

    return copy


_COPY_CHUNK = 1 << 20


class _CsvStream(io.RawIOBase):
    """A readable file over record batches rendered as PostgreSQL CSV (what `copy_expert` reads).

    Arrow quotes every string and leaves nulls unquoted and empty: to COPY, `""` is an empty string
    and an empty field is NULL, so both survive.
    """

    def __init__(self, batches: Iterator[pa.RecordBatch]):
        self._batches, self._pending, self.rows = batches, b"", 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        while size < 0 or len(self._pending) < size:
            batch = next(self._batches, None)
            if batch is None:
                break
            self.rows += batch.num_rows
            text = io.BytesIO()
            pa_csv.write_csv(batch, text, pa_csv.WriteOptions(include_header=False))
            self._pending += text.getvalue()
        if size < 0:
            size = len(self._pending)
        chunk, self._pending = self._pending[:size], self._pending[size:]
        return chunk


def _truncate_staging(dsn: str, table: str) -> None:
    connection = psycopg2.connect(dsn)
    try:
        with connection, connection.cursor() as cursor:
            cursor.execute(sql.SQL("TRUNCATE {}").format(sql.Identifier("staging", table)))
    finally:
        connection.close()


def clear_staging(table: str, dsn: str) -> int:
    """Empty `staging.<table>` for a run that stages nothing into it (no Spark job); returns 0 rows staged."""
    _staging_columns(table)  # an unknown table fails here as in write_staging
    _truncate_staging(dsn, table)
    return 0


def _staging_columns(table: str) -> tuple[tuple[str, str], ...]:
    known = staging_columns()
    if table not in known:
        raise ValueError(f"no staging table {table!r}; known: {', '.join(known)}")
    return known[table]


def _check_columns(frame: DataFrame, table: str, columns: tuple[tuple[str, str], ...]) -> None:
    """Fail before any write when a column is missing or has a type the staging column cannot take."""
    actual = {f.name: f.dataType.simpleString() for f in frame.schema.fields}
    problems = []
    for name, kind in columns:
        accepted = {kind, "timestamp_ntz"} if kind == "timestamp" else {kind}
        if name not in actual:
            problems.append(f"{name} is missing")
        elif actual[name] not in accepted:
            problems.append(f"{name} is {actual[name]}, expected {kind}")
    if problems:
        raise ValueError(f"DataFrame for staging.{table} does not fit: {'; '.join(problems)}")


def _copy_column(name: str, kind: str) -> Column:
    if kind == "timestamp":
        # PostgreSQL `timestamp` is wall-clock time: timestamp_ntz carries the wall clock unchanged,
        # whatever the zone of the JVM or the Python worker.
        return F.col(name).cast("timestamp_ntz").alias(name)
    return F.col(name)


def _count_staged(dsn: str, table: str) -> int:
    connection = psycopg2.connect(dsn)
    try:
        with connection, connection.cursor() as cursor:
            cursor.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier("staging", table)))
            return cursor.fetchone()[0]
    finally:
        connection.close()


# ---------------------------------------------------------------------------------------------
# The run's transaction (driver)


@dataclass
class RunLoad:
    run_id: str
    run_date: dt.date
    status: str  # running | succeeded | not_ready | failed
    started_at: dt.datetime  # timezone-aware
    stage_counts: dict = field(default_factory=dict)
    timings: dict = field(default_factory=dict)
    error: str | None = None
    finished_at: dt.datetime | None = None  # None: the database clock when the row is written


@dataclass(frozen=True)
class TableCounts:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0  # staged rows the database already held as they are (or newer: an older date re-run)


@dataclass(frozen=True)
class LoadCounts:
    tables: dict[str, TableCounts]

    def __getitem__(self, table: str) -> TableCounts:
        return self.tables[table]

    def as_dict(self) -> dict[str, dict[str, int]]:
        return {table: {"inserted": c.inserted, "updated": c.updated, "unchanged": c.unchanged}
                for table, c in self.tables.items()}


class ConformanceLoadError(RuntimeError):
    """A row lacks its parent: a foreign key refused the load (chained from the ForeignKeyViolation), or
    the set-wise check of a derived table found it; nothing was committed."""

    def __init__(self, message: str, table: str, constraint: str, keys: list[tuple]):
        super().__init__(message)
        self.table, self.constraint, self.keys = table, constraint, keys


_RUN_VALUES = {RUN_ID: sql.Placeholder("run_id"), RUN_DATE: sql.Placeholder("run_date")}


def merged_tables() -> tuple[PostgresTable, ...]:
    """The tables the load merges from staging, parents before children (the registry's order), so
    that this run's new customers and agents exist for its facts."""
    return tuple(table for table in postgres_tables() if table.merged)


def load_run(dsn: str, run: RunLoad, sources: Mapping[str, LakeVersion] | None = None,
             before_commit: Callable[[Cursor], None] | None = None) -> LoadCounts:
    """Merge every staging table and record the run, in one transaction; return what changed.

    `sources` maps a staging table to the lake table version its rows were read from (see
    `loaded_versions`). `before_commit(cursor)` runs last inside the transaction (tests inject
    failures there).
    """
    connection = psycopg2.connect(dsn)
    try:
        with connection, connection.cursor() as cursor:  # commits on success, rolls back on any error
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (LOAD_LOCK,))
            params = {"run_id": run.run_id, "run_date": run.run_date}
            tables = {}
            for table in merged_tables():  # parents first: a derived table is checked against this run's dimensions
                _verify_parents(cursor, table)
                tables[table.name] = _run_step(cursor, table.name, _merge_statement(table), params)
            tables["orphaned_complaints"] = _run_step(cursor, "orphaned_complaints", _ORPHANS_UPSERT, params)
            tables["resolved_orphans"] = _run_step(cursor, "resolved_orphans", _ORPHANS_RESOLVE, params)
            counts = LoadCounts(tables)
            for table, version in (sources or {}).items():
                cursor.execute(_RECORD_LAKE_VERSION, {"staging_table": table, "lake_table_id": version.table_id,
                                                      "lake_version": version.version, **params})
            _upsert_run(cursor, run, {**run.stage_counts, "conformance_load": counts.as_dict()})
            if before_commit is not None:
                before_commit(cursor)
        return counts
    finally:
        connection.close()


def loaded_versions(dsn: str, run_date: dt.date) -> dict[str, LakeVersion]:
    """Per staging table, the lake table version whose rows of `run_date` the database already holds."""
    connection = psycopg2.connect(dsn)
    try:
        with connection, connection.cursor() as cursor:
            cursor.execute("SELECT staging_table, lake_table_id, lake_version FROM loaded_lake_versions WHERE run_date = %s",
                           (run_date,))
            return {table: LakeVersion(table_id, version) for table, table_id, version in cursor.fetchall()}
    finally:
        connection.close()


# The run that staged a version keeps the row: a later run that found it loaded changes nothing.
_RECORD_LAKE_VERSION = (
    "INSERT INTO loaded_lake_versions AS target (staging_table, lake_table_id, lake_version, run_date, run_id)"
    " VALUES (%(staging_table)s, %(lake_table_id)s, %(lake_version)s, %(run_date)s, %(run_id)s)"
    " ON CONFLICT (staging_table) DO UPDATE SET lake_table_id = excluded.lake_table_id,"
    "  lake_version = excluded.lake_version, run_date = excluded.run_date, run_id = excluded.run_id"
    " WHERE (target.lake_table_id, target.lake_version, target.run_date)"
    "  IS DISTINCT FROM (excluded.lake_table_id, excluded.lake_version, excluded.run_date)"
)


def record_failed_run(dsn: str, run: RunLoad) -> None:
    """Write the audit row of a failed run on its own (its load, if any, was rolled back)."""
    connection = psycopg2.connect(dsn)
    try:
        with connection, connection.cursor() as cursor:
            _upsert_run(cursor, replace(run, status=FAILED), run.stage_counts)
    finally:
        connection.close()


def _run_step(cursor, table: str, statement: sql.Composable, params: dict) -> TableCounts:
    """Execute one counted merge; turn a foreign-key failure into an error naming the bad keys."""
    # The savepoint keeps the transaction usable after a violation, long enough to ask which keys
    # lack a parent while this run's dimensions are still visible; the caller then rolls back.
    cursor.execute("SAVEPOINT merge_step")
    try:
        cursor.execute(statement, params)
    except errors.ForeignKeyViolation as violation:
        cursor.execute("ROLLBACK TO SAVEPOINT merge_step")
        raise _foreign_key_error(cursor, table, violation) from violation
    inserted, updated, unchanged = cursor.fetchone()
    cursor.execute("RELEASE SAVEPOINT merge_step")
    return TableCounts(inserted, updated, unchanged)


def _counted(upsert: sql.Composable, staging_table: str) -> sql.Composed:
    """Wrap an INSERT/UPDATE ... RETURNING (xmax = 0) AS inserted into one row of counts: inserted,
    updated, and the staged rows it left as they were (a re-run's rows are there already).

    A row inserted by this statement has no deleting/locking transaction (xmax = 0); an updated one
    carries ours. Counting in SQL avoids shipping one row per merged record to the driver.
    """
    return sql.SQL(
        "WITH merged AS ({}) SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted),"
        " (SELECT count(*) FROM {}) - count(*) FROM merged"
    ).format(upsert, sql.Identifier("staging", staging_table))


def _merge_statement(table: PostgresTable) -> sql.Composed:
    staged = [sql.Identifier(column.name) for column in table.columns]
    run_columns = [sql.Identifier(column.name) for column, _ in table.run_columns]
    insert = sql.SQL("INSERT INTO {target} AS target ({columns}) SELECT {values} FROM {source} ").format(
        target=sql.Identifier(table.name),
        columns=sql.SQL(", ").join(staged + run_columns),
        values=sql.SQL(", ").join(staged + [_RUN_VALUES[value] for _, value in table.run_columns]),
        source=sql.Identifier("staging", table.name),
    )
    return _counted(insert + _on_conflict(table) + sql.SQL(" RETURNING (xmax = 0) AS inserted"), table.name)


def _on_conflict(table: PostgresTable) -> sql.Composed:
    key = sql.SQL(", ").join(map(sql.Identifier, table.key))
    if not table.changed:
        return sql.SQL("ON CONFLICT ({}) DO NOTHING").format(key)
    updated = [column.name for column in table.columns if column.name not in table.key]
    updated += [column.name for column, _ in table.run_columns if column.name not in table.kept]
    condition = sql.SQL("({}) IS DISTINCT FROM ({})").format(
        _qualified("target", table.changed), _qualified("excluded", table.changed)
    )
    if table.newer:
        # A re-run of an older date (or an older file) must not roll the current state back.
        condition += sql.SQL(" AND COALESCE(excluded.{column} >= target.{column}, true)").format(
            column=sql.Identifier(table.newer)
        )
    return sql.SQL("ON CONFLICT ({key}) DO UPDATE SET {assignments} WHERE {condition}").format(
        key=key,
        assignments=sql.SQL(", ").join(sql.SQL("{0} = excluded.{0}").format(sql.Identifier(name)) for name in updated),
        condition=condition,
    )


def _qualified(alias: str, columns: tuple[str, ...]) -> sql.Composed:
    return sql.SQL(", ").join(sql.Identifier(alias, name) for name in columns)


# An orphan seen again on a later date (or with a new record, or after it was resolved) is updated
# and reopened; seeing it again on the same date (a re-run) changes nothing. times_seen counts dates.
_ORPHANS_UPSERT = _counted(
    sql.SQL(
        "INSERT INTO orphaned_complaints AS target"
        " (channel, complaint_id, customer_id, agent_id, reason, record,"
        "  first_seen_run, first_seen_date, last_seen_run, last_seen_date, times_seen, status)"
        " SELECT channel, complaint_id, customer_id, agent_id, reason, record::jsonb,"
        "  {run_id}, {run_date}, {run_id}, {run_date}, 1, 'open'"
        " FROM staging.orphaned_complaints"
        " ON CONFLICT (channel, complaint_id) DO UPDATE SET"
        "  customer_id = excluded.customer_id, agent_id = excluded.agent_id, reason = excluded.reason,"
        "  record = excluded.record, last_seen_run = excluded.last_seen_run,"
        "  last_seen_date = excluded.last_seen_date,"
        "  times_seen = target.times_seen + (excluded.last_seen_date > target.last_seen_date)::int,"
        "  status = 'open', resolved_run = NULL, resolved_date = NULL"
        " WHERE excluded.last_seen_date >= target.last_seen_date"
        "  AND (excluded.last_seen_date > target.last_seen_date OR target.status = 'resolved'"
        "   OR (target.customer_id, target.agent_id, target.reason, target.record)"
        "    IS DISTINCT FROM (excluded.customer_id, excluded.agent_id, excluded.reason, excluded.record))"
        " RETURNING (xmax = 0) AS inserted"
    ).format(run_id=_RUN_VALUES[RUN_ID], run_date=_RUN_VALUES[RUN_DATE]),
    "orphaned_complaints",
)

# Only open orphans are resolved: re-running the resolving date leaves the first resolution alone.
_ORPHANS_RESOLVE = _counted(
    sql.SQL(
        "UPDATE orphaned_complaints AS target"
        " SET status = 'resolved', resolved_run = resolved.resolved_run, resolved_date = resolved.resolved_date"
        " FROM staging.resolved_orphans AS resolved"
        " WHERE target.channel = resolved.channel AND target.complaint_id = resolved.complaint_id"
        "  AND target.status = 'open'"
        " RETURNING false AS inserted"
    ),
    "resolved_orphans",
)


def _upsert_run(cursor, run: RunLoad, stage_counts: dict) -> None:
    cursor.execute(
        "INSERT INTO pipeline_runs (run_id, run_date, status, started_at, finished_at, stage_counts, timings, error)"
        " VALUES (%(run_id)s, %(run_date)s, %(status)s, %(started_at)s,"
        "  COALESCE(%(finished_at)s, clock_timestamp()), %(stage_counts)s, %(timings)s, %(error)s)"
        " ON CONFLICT (run_id) DO UPDATE SET run_date = excluded.run_date, status = excluded.status,"
        "  started_at = excluded.started_at, finished_at = excluded.finished_at,"
        "  stage_counts = excluded.stage_counts, timings = excluded.timings, error = excluded.error",
        {
            "run_id": run.run_id,
            "run_date": run.run_date,
            "status": run.status,
            "started_at": run.started_at,
            "finished_at": run.finished_at,
            "stage_counts": Json(stage_counts),
            "timings": Json(run.timings),
            "error": run.error,
        },
    )


def _foreign_key_error(cursor, table: str, violation: errors.ForeignKeyViolation) -> ConformanceLoadError:
    constraint = violation.diag.constraint_name or ""
    known = foreign_keys()
    if constraint not in known:
        return ConformanceLoadError(
            f"loading {table} broke foreign key {constraint}: {violation}", table, constraint, []
        )
    column, parent = known[constraint]
    total, keys = _missing_parents(cursor, table, column, parent)
    return ConformanceLoadError(
        f"loading {table} broke foreign key {constraint}: {_described(table, total, keys, column, parent)}",
        table, constraint, keys,
    )


def _verify_parents(cursor, table: PostgresTable) -> None:
    """The set-wise check of a derived table's parents: one anti-join per parent over its staged rows."""
    for parent in table.verified_parents:
        total, keys = _missing_parents(cursor, table.name, parent.column, parent.parent)
        if total:
            raise ConformanceLoadError(
                f"loading {table.name}: {_described(table.name, total, keys, parent.column, parent.parent)}",
                table.name, parent.name, keys,
            )


def _missing_parents(cursor, table: str, column: str, parent: str) -> tuple[int, list[tuple]]:
    """How many staged rows of `table` have a `column` that is not in `parent`, and the first few as
    (complaint id, missing value)."""
    key = _complaint_key(table)
    cursor.execute(
        sql.SQL(
            "SELECT staged.{key}, staged.{column}, count(*) OVER () FROM {source} AS staged"
            " WHERE NOT EXISTS (SELECT 1 FROM {parent} AS p WHERE p.{column} = staged.{column})"
            " ORDER BY 2, 1 LIMIT %s"
        ).format(
            key=sql.Identifier(key),
            column=sql.Identifier(column),
            source=sql.Identifier("staging", table),
            parent=sql.Identifier(parent),
        ),
        (MAX_REPORTED_KEYS,),
    )
    rows = cursor.fetchall()
    return (rows[0][2] if rows else 0), [(row[0], row[1]) for row in rows]


def _complaint_key(table: str) -> str:
    return next(merged.key[-1] for merged in merged_tables() if merged.name == table)


def _described(table: str, total: int, keys: list[tuple], column: str, parent: str) -> str:
    listed = "; ".join(f"{_complaint_key(table)}={child} {column}={missing}" for child, missing in keys)
    return (f"{total} staged row(s) reference a {column} that is not in {parent} (first {len(keys)}: {listed});"
            " the run's load was rolled back")
