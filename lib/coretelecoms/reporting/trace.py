"""One complaint's lineage for the terminal (`coretelecoms trace ID`), in the order it happened:

1. the raw rows it came from: each input (file or web-form table), its row, and the run that landed it;
2. the repairs and rejections of its fields, and its collapse as a duplicate (`dq_issues`);
3. its quarantine as an orphan and the run that replayed it;
4. its status history and lifecycle;
5. the PostgreSQL rows it became, when there is a conformance database.

The lake is the source of truth: bronze and `dq_issues` are nowhere else, so this needs Spark. Each
table is read once, filtered by the id inside the scan, and only the matching rows are collected.
"""
from __future__ import annotations

import operator
from contextlib import closing
from dataclasses import dataclass, field
from functools import reduce

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from coretelecoms.bronze.columns import RUN_DATE, RUN_ID, SOURCE, SOURCE_DATE, SOURCE_ROW
from coretelecoms.platform import delta, lake, storage
from coretelecoms.platform.settings import Settings
from coretelecoms.platform.tables import (
    COMPLAINT_LIFECYCLE,
    DQ_ISSUES,
    ENTITIES,
    ORPHANED_COMPLAINTS,
    STATUS_HISTORY,
    UNIFIED_COMPLAINTS,
    channels,
)
from coretelecoms.quality.cleaning import canonical_column_name, clean_complaint_id
from coretelecoms.reporting.notify import mask_personal_data

BRONZE_LINEAGE = (SOURCE, SOURCE_ROW, SOURCE_DATE, RUN_ID, RUN_DATE)
DUPLICATE_RULE = "duplicate_key"  # the rule quality.transform records for a collapsed row
SHOWN_VALUE = 60  # characters of an original value shown; dq_issues keeps up to 200
DERIVED_TABLES = (ORPHANED_COMPLAINTS, COMPLAINT_LIFECYCLE, UNIFIED_COMPLAINTS)  # keyed by complaint_id


@dataclass(frozen=True)
class LakeLineage:
    """The complaint's rows in each lake table, as dicts."""

    deliveries: list[dict]  # bronze lineage of every raw row with the id, and its channel
    issues: list[dict]  # dq_issues, without the raw record
    orphans: list[dict]
    history: list[dict]
    lifecycles: list[dict]

    @property
    def found(self) -> bool:
        return any((self.deliveries, self.issues, self.orphans, self.history, self.lifecycles))

    @property
    def channels(self) -> list[str]:
        named = [row.get("channel") or row.get("entity") for rows in (self.deliveries, self.issues, self.orphans,
                                                                        self.history, self.lifecycles) for row in rows]
        return sorted(set(named))


@dataclass(frozen=True)
class DatabaseRows:
    """The complaint's rows in each PostgreSQL table; `unavailable` says why there are none to show."""

    rows: dict[str, list[dict]] = field(default_factory=dict)
    unavailable: str = ""

    @property
    def found(self) -> bool:
        return any(self.rows.values())


# --- the lake -------------------------------------------------------------------------------------------

def holds_complaint(raw_id: Column, complaint_id: str) -> Column:
    """A raw id column holding `complaint_id` as silver reads it (trimmed, of the ids' shape).

    `contains` comes first: Spark pushes it into the Parquet scan, so the cleaner runs on few rows.
    """
    return raw_id.contains(complaint_id) & (clean_complaint_id(raw_id) == complaint_id)


def _table(spark: SparkSession, location: str) -> DataFrame | None:
    """The table's latest version, or None before its first write. Not pinned: nothing is written after."""
    return spark.read.format("delta").load(storage.spark_path(location)) if delta.exists(spark, location) else None


def _collected(frame: DataFrame) -> list[dict]:
    return [row.asDict() for row in frame.collect()]


def _bronze_rows(spark: SparkSession, settings: Settings, complaint_id: str) -> DataFrame | None:
    """Every channel's raw rows with the id, under any header an input gave the id column."""
    found = []
    for channel in channels():
        table = _table(spark, lake.bronze(settings, channel))
        if table is None:
            continue
        key = ENTITIES[channel].key
        id_columns = [c for c in table.columns if not c.startswith("_") and canonical_column_name(c, channel) == key]
        if id_columns:
            matches = reduce(operator.or_, [holds_complaint(F.col(c), complaint_id) for c in id_columns])
            found.append(table.where(matches).select(F.lit(channel).alias("channel"), *BRONZE_LINEAGE))
    return reduce(DataFrame.unionByName, found) if found else None


def _issues(spark: SparkSession, settings: Settings, complaint_id: str) -> DataFrame | None:
    table = _table(spark, lake.silver(settings, DQ_ISSUES))
    if table is None:
        return None
    # `entity` is the partition column: only the channels' partitions are read.
    return table.where(F.col("entity").isin(*channels()) & holds_complaint(F.col("natural_key"), complaint_id)).drop("record")


def _keyed(spark: SparkSession, location: str, complaint_id: str) -> DataFrame | None:
    table = _table(spark, location)
    return None if table is None else table.where(F.col("complaint_id") == complaint_id)


def lineage_from_lake(spark: SparkSession, settings: Settings, complaint_id: str) -> LakeLineage:
    frames = (
        _bronze_rows(spark, settings, complaint_id),
        _issues(spark, settings, complaint_id),
        _keyed(spark, lake.silver(settings, ORPHANED_COMPLAINTS), complaint_id),
        _keyed(spark, lake.silver(settings, STATUS_HISTORY), complaint_id),
        _keyed(spark, lake.gold(settings, COMPLAINT_LIFECYCLE), complaint_id),
    )
    return LakeLineage(*[[] if frame is None else _collected(frame) for frame in frames])


# --- the conformance database ---------------------------------------------------------------------------

def rows_from_postgres(dsn: str, complaint_id: str) -> dict[str, list[dict]]:
    """{table: rows} of every channel's fact table and the tables derived from them."""
    import psycopg2
    from psycopg2 import sql

    keys = {channel: ENTITIES[channel].key for channel in channels()} | dict.fromkeys(DERIVED_TABLES, "complaint_id")
    found = {}
    with closing(psycopg2.connect(dsn, connect_timeout=5)) as connection, connection.cursor() as cursor:
        for table, key in keys.items():
            cursor.execute(sql.SQL("SELECT * FROM {} WHERE {} = %s").format(sql.Identifier(table), sql.Identifier(key)),
                           (complaint_id,))
            names = [column.name for column in cursor.description]
            found[table] = [dict(zip(names, row)) for row in cursor.fetchall()]
    return found


def database_rows(settings: Settings, complaint_id: str) -> DatabaseRows:
    """The complaint's PostgreSQL rows, or why there are none to show (none configured, not reachable)."""
    if not settings.has_conformance_database:
        return DatabaseRows(unavailable="no conformance database is configured")
    import psycopg2

    from coretelecoms.platform.postgres import conformance_url, mask_dsns_in_text

    try:
        return DatabaseRows(rows_from_postgres(conformance_url(settings), complaint_id))
    except psycopg2.Error as error:
        reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
        return DatabaseRows(unavailable=f"the conformance database could not be read: {mask_dsns_in_text(reason)}")


# --- the text -------------------------------------------------------------------------------------------

def input_position(location: str, row: int) -> str:
    """Where a raw row sits in its input. `_source_row` counts data rows from 0; a CSV file's header is
    its line 1 (a field holding a line break would push later rows further down)."""
    return f"line {row + 2} (data row {row})" if location.lower().endswith(".csv") else f"data row {row}"


def _file_name(location: str) -> str:
    return location.rstrip("/").rsplit("/", 1)[-1]


def _value(value) -> str:
    """An original value as shown: masked (a raw field may hold anything), quoted and cut short."""
    if value is None:
        return "null"
    shown = mask_personal_data(value)
    return repr(shown if len(shown) <= SHOWN_VALUE else shown[:SHOWN_VALUE] + "…")


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _inputs_section(deliveries: list[dict]) -> list[str]:
    lines = ["1. raw input (bronze): run date, run, input and row"]
    for row in sorted(deliveries, key=lambda r: (r[RUN_DATE], r[SOURCE_DATE], r[SOURCE], r[SOURCE_ROW])):
        lines.append(f"  {row[RUN_DATE]}  run {row[RUN_ID]}: {row[SOURCE]} {input_position(row[SOURCE], row[SOURCE_ROW])}")
    return lines if deliveries else lines + ["  none: no bronze row holds this id"]


def issue_line(issue: dict) -> str:
    where = f"{_file_name(issue[SOURCE])} {input_position(issue[SOURCE], issue[SOURCE_ROW])}"
    if issue["rule"] == DUPLICATE_RULE:
        what = "collapsed as a duplicate (a newer row of the same input was kept)"
    else:
        what = f"{issue['field']} {issue['rule']}: {issue['outcome']}, original value {_value(issue['original_value'])}"
    return f"  {issue['run_date']}  {what}  [{where}, run {issue['run_id']}]"


def _issues_section(issues: list[dict]) -> list[str]:
    lines = ["2. repairs and rejections (dq_issues): run date, field and rule, outcome, original value"]
    ordered = sorted(issues, key=lambda i: (i["run_date"], i[SOURCE], i[SOURCE_ROW], i["rule"] == DUPLICATE_RULE, i["field"]))
    return lines + [issue_line(issue) for issue in ordered] if issues else lines + ["  none: every field was clean"]


def _quarantine_lines(orphan: dict) -> list[str]:
    lines = [f"  {orphan['first_seen_date']}  quarantined: {orphan['reason']} (run {orphan['first_seen_run']});"
             f" last seen {orphan['last_seen_date']}, {_plural(orphan['times_seen'], 'sighting')}"]
    if orphan["resolved_date"] is not None:
        lines.append(f"  {orphan['resolved_date']}  replayed: loaded once its customer and agent existed"
                     f" (run {orphan['resolved_run']})")
    else:
        lines.append(f"  {orphan['last_seen_date']}  still quarantined: not replayed yet")
    return lines


def _quarantine_section(orphans: list[dict]) -> list[str]:
    lines = ["3. quarantine (orphaned_complaints)"]
    found = [line for orphan in orphans for line in _quarantine_lines(orphan)]
    return lines + found if orphans else lines + ["  never quarantined: its customer and agent existed when it came"]


def lifecycle_summary(row: dict) -> str:
    """One line of a lifecycle row (lake or PostgreSQL: the same columns)."""
    text = (f"{row['current_status']} since {row['current_status_since']}, first observed {row['first_observed_date']},"
            f" {_plural(row['observations'], 'observation')}, {_plural(row['status_changes'], 'status change')}")
    if row["resolution_date"] is not None:
        text += f"; resolved, SLA ({row['sla_days']} days) {'met' if row['met_sla'] else 'missed'}"
    return text


def _history_section(history: list[dict], lifecycles: list[dict]) -> list[str]:
    lines = ["4. status history (complaint_status_history) and lifecycle: run date, status, agent, source date"]
    for step in sorted(history, key=lambda h: (h["observed_run_date"], h["source_generation_date"])):
        lines.append(f"  {step['observed_run_date']}  {step['resolution_status'] or '-':<12} agent {step['agent_id']}"
                     f"  source date {step['source_generation_date']}")
    if not history:
        lines.append("  no status recorded: it was never loaded")
    for row in lifecycles:
        lines.append(f"  {row['last_observed_date']}  lifecycle: {lifecycle_summary(row)}")
    return lines


def _database_line(table: str, row: dict) -> str:
    """A PostgreSQL row in one line, led by the date it last changed."""
    if table == ORPHANED_COMPLAINTS:
        return (f"{row['resolved_date'] or row['last_seen_date']}  {table}: {row['status']} ({row['reason']}),"
                f" first seen {row['first_seen_date']}, last seen {row['last_seen_date']}")
    if table == COMPLAINT_LIFECYCLE:
        return f"{row['updated_date']}  {table}: {lifecycle_summary(row)}"
    changed = row["updated_date"] if table == UNIFIED_COMPLAINTS else row["last_changed_date"]
    return (f"{changed}  {table}: {row['resolution_status']}, {row['complaint_category'] or '-'}, agent {row['agent_id']};"
            f" first seen {row['first_seen_date']}, run {row['updated_run']}")


def _database_section(database: DatabaseRows) -> list[str]:
    lines = ["5. PostgreSQL (conformance database): the date each row last changed"]
    if database.unavailable:
        return lines + [f"  not shown: {database.unavailable}"]
    facts = [table for table in channels() if database.rows.get(table)]
    lines += [f"  {_database_line(table, row)}" for table in facts for row in database.rows[table]]
    if not facts:
        lines.append(f"  no row in the fact tables ({', '.join(channels())})")
    for table in DERIVED_TABLES:
        found = database.rows.get(table) or []
        lines += [f"  {_database_line(table, row)}" for row in found] if found else [f"  no row in {table}"]
    return lines


def trace_text(complaint_id: str, lineage: LakeLineage, database: DatabaseRows, lake_root: str) -> tuple[str, bool]:
    """(text, found): the lineage of `complaint_id`, section by section, or why nothing was found."""
    if not (lineage.found or database.found):
        where = "nor in the conformance database" if not database.unavailable else f"({database.unavailable})"
        return (f"complaint {complaint_id} not found: it is in no table of the lake ({lake_root}: bronze, dq_issues,"
                f" orphaned_complaints, complaint_status_history, complaint_lifecycle) {where}"), False
    named = lineage.channels or [table for table in channels() if database.rows.get(table)]
    sections = [
        [f"complaint {complaint_id} ({', '.join(named)})"],
        _inputs_section(lineage.deliveries),
        _issues_section(lineage.issues),
        _quarantine_section(lineage.orphans),
        _history_section(lineage.history, lineage.lifecycles),
        _database_section(database),
    ]
    return "\n\n".join("\n".join(lines) for lines in sections), True
