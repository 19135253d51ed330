"""One complaint's story for the terminal: its status history and the time it spent in each status.

Read from the conformance database when there is one (no Spark to start: an answer in about a
second), else from the lake. Both hold the same tables under the same names.
"""
from __future__ import annotations

from contextlib import closing
from dataclasses import dataclass

from coretelecoms.gold.lifecycle import DURATIONS, MILESTONES, STATUSES
from coretelecoms.platform.tables import COMPLAINT_LIFECYCLE, ENTITIES, ORPHANED_COMPLAINTS, STATUS_HISTORY

TABLES = (COMPLAINT_LIFECYCLE, STATUS_HISTORY, ORPHANED_COMPLAINTS)


@dataclass(frozen=True)
class ComplaintRows:
    """The complaint's rows in each table, as dicts; `source` says where they were read."""

    lifecycles: list[dict]
    history: list[dict]
    orphans: list[dict]
    source: str


def rows_from_postgres(dsn: str, complaint_id: str) -> ComplaintRows:
    import psycopg2
    from psycopg2 import sql

    found = {}
    with closing(psycopg2.connect(dsn, connect_timeout=5)) as connection, connection.cursor() as cursor:
        for table in TABLES:
            cursor.execute(sql.SQL("SELECT * FROM {} WHERE complaint_id = %s").format(sql.Identifier(table)),
                           (complaint_id,))
            names = [column.name for column in cursor.description]
            found[table] = [dict(zip(names, row)) for row in cursor.fetchall()]
    return ComplaintRows(found[COMPLAINT_LIFECYCLE], found[STATUS_HISTORY], found[ORPHANED_COMPLAINTS],
                         "conformance database")


def rows_from_lake(spark, settings, complaint_id: str) -> ComplaintRows:
    from pyspark.sql import functions as F

    from coretelecoms.platform import delta, lake

    locations = {COMPLAINT_LIFECYCLE: lake.gold(settings, COMPLAINT_LIFECYCLE),
                 STATUS_HISTORY: lake.silver(settings, STATUS_HISTORY),
                 ORPHANED_COMPLAINTS: lake.silver(settings, ORPHANED_COMPLAINTS)}
    found = {
        table: [row.asDict() for row in delta.snapshot(spark, location).where(F.col("complaint_id") == complaint_id).collect()]
        if delta.exists(spark, location) else []
        for table, location in locations.items()
    }
    return ComplaintRows(found[COMPLAINT_LIFECYCLE], found[STATUS_HISTORY], found[ORPHANED_COMPLAINTS],
                         f"lake ({settings.lake})")


def _when(value) -> str:
    return "-" if value is None else str(value)[:16]


def complaint_story(complaint_id: str, rows: ComplaintRows) -> tuple[str, bool]:
    """(text, found): the lifecycle of `complaint_id` in every channel that has it."""
    history = sorted(rows.history, key=lambda r: (r["source_generation_date"], r["observed_run_date"]))
    if not rows.lifecycles:
        if rows.orphans:
            o = rows.orphans[0]
            return (f"complaint {complaint_id} ({o['channel']}) is quarantined as an orphan: {o['reason']},"
                    f" first seen {o['first_seen_date']}, last seen {o['last_seen_date']}, status {o['status']}"), True
        return f"complaint {complaint_id} is not in the lifecycle of the {rows.source}", False
    blocks = []
    for row in rows.lifecycles:
        # Calls report no resolution time: their history shows none rather than a "-" beside "Resolved".
        reported = ENTITIES[row["channel"]].resolution_time is not None
        lines = [
            f"complaint {complaint_id}  channel {row['channel']}  customer {row['customer_id']}"
            f"  category {row['complaint_category']}",
            f"requested {_when(row['request_date'])}   now {row['current_status']} since {row['current_status_since']}"
            f" (agent {row['agent_id']})",
            f"history (source date, run date, status, agent{', reported resolution time' if reported else ''}):",
        ]
        for step in (h for h in history if h["channel"] == row["channel"]):
            resolved = f"  {_when(step['resolution_date'])}" if reported and step["resolution_date"] is not None else ""
            lines.append(f"  {step['source_generation_date']}  run {step['observed_run_date']}  "
                         f"{step['resolution_status']:<12} agent {step['agent_id']}{resolved}")
        lines.append(f"time in each status (days, up to the last observation on {row['last_observed_date']}):")
        for status, milestone, days in zip(STATUSES, MILESTONES, DURATIONS):
            reached = row[milestone]
            lines.append(f"  {status:<12} {row[days]:>4}   " + (f"first seen {reached}" if reached else "never"))
        if row["resolution_date"] is not None:
            days, verdict = row["days_to_resolution"], "met" if row["met_sla"] else "missed"
            after = "an unknown time after the request" if days is None else f"{days:.2f} days after the request"
            lines.append(f"resolved {_when(row['resolution_date'])}: {after}, SLA ({row['sla_days']} days) {verdict}")
        else:
            lines.append("not resolved yet")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks), True
