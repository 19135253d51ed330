"""One complaint's story for the terminal: its status history and the time it spent in each status."""
from __future__ import annotations

from delta.tables import DeltaTable
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from coretelecoms.gold.lifecycle import DURATIONS, MILESTONES, STATUSES
from coretelecoms.platform import lake, storage
from coretelecoms.platform.settings import Settings
from coretelecoms.platform.tables import COMPLAINT_LIFECYCLE, ORPHANED_COMPLAINTS, STATUS_HISTORY


def _rows(spark: SparkSession, location: str, complaint_id: str) -> list[dict]:
    path = storage.spark_path(location)
    if not DeltaTable.isDeltaTable(spark, path):
        return []
    frame = spark.read.format("delta").load(path).where(F.col("complaint_id") == complaint_id)
    return [row.asDict() for row in frame.collect()]


def _when(value) -> str:
    return "-" if value is None else str(value)[:16]


def complaint_story(spark: SparkSession, settings: Settings, complaint_id: str) -> tuple[str, bool]:
    """(text, found): the lifecycle of `complaint_id` in every channel that has it."""
    lifecycles = _rows(spark, lake.gold(settings, COMPLAINT_LIFECYCLE), complaint_id)
    history = sorted(_rows(spark, lake.silver(settings, STATUS_HISTORY), complaint_id),
                     key=lambda r: (r["source_generation_date"], r["observed_run_date"]))
    if not lifecycles:
        orphans = _rows(spark, lake.silver(settings, ORPHANED_COMPLAINTS), complaint_id)
        if orphans:
            o = orphans[0]
            return (f"complaint {complaint_id} ({o['channel']}) is quarantined as an orphan: {o['reason']},"
                    f" first seen {o['first_seen_date']}, last seen {o['last_seen_date']}, status {o['status']}"), True
        return f"complaint {complaint_id} is not in the lake's lifecycle ({settings.lake})", False
    blocks = []
    for row in lifecycles:
        lines = [
            f"complaint {complaint_id}  channel {row['channel']}  customer {row['customer_id']}"
            f"  category {row['complaint_category']}",
            f"requested {_when(row['request_date'])}   now {row['current_status']} since {row['current_status_since']}"
            f" (agent {row['agent_id']})",
            "history (source date, run date, status, agent, resolution date):",
        ]
        for step in (h for h in history if h["channel"] == row["channel"]):
            lines.append(f"  {step['source_generation_date']}  run {step['observed_run_date']}  "
                         f"{step['resolution_status']:<12} agent {step['agent_id']}  {_when(step['resolution_date'])}")
        lines.append(f"time in each status (days, up to the last observation on {row['last_observed_date']}):")
        for status, milestone, days in zip(STATUSES, MILESTONES, DURATIONS):
            reached = row[milestone]
            lines.append(f"  {status:<12} {row[days]:>4}   " + (f"first seen {reached}" if reached else "never"))
        if row["resolution_date"] is not None:
            verdict = "met" if row["met_sla"] else "missed"
            lines.append(f"resolved {_when(row['resolution_date'])}: {row['days_to_resolution']} days after the request,"
                         f" SLA ({row['sla_days']} days) {verdict}")
        else:
            lines.append("not resolved yet")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks), True
