"""`complaint_lifecycle`: an accumulating snapshot of every complaint's statuses (SPEC §3 Gold).

One row per (channel, complaint_id). Time is measured in source dates (the generation date of the
file or table an observation came from), never run dates: a complaint quarantined on Monday and
replayed on Wednesday was still observed on Monday.

- `<status>_date`: the first date the status was observed. Once set it is never changed.
- `<status>_days`: days the complaint spent in the status so far. The time between two consecutive
  observations belongs to the earlier one's status (the change happened at the later one, the first
  time it was seen), and the current status counts up to the latest observation.
- `resolution_date` / `days_to_resolution` / `met_sla`: set while the complaint is Resolved. The source's
  resolution time where the channel reports one (social media, web forms); for a call, its end when
  it was already Resolved when first seen (solved on the call), else the day Resolved was first seen.

`advance` folds one run's new observations into the stored rows (incremental, the daily path);
`rebuild` computes the same rows from the whole history with window functions (a from-scratch build
for a new or repaired table). They are independent implementations of one definition.
"""
from __future__ import annotations

import datetime as dt

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from coretelecoms.platform.tables import (
    COMPLAINT_LIFECYCLE,
    ENTITIES,
    LIFECYCLE_STATUSES,
    ROW_HASH,
    TABLES,
    schema,
    status_column,
)

STATUSES = LIFECYCLE_STATUSES
RESOLVED = "Resolved"
KEY = TABLES[COMPLAINT_LIFECYCLE].key
MILESTONES = tuple(status_column(s, "date") for s in STATUSES)
DURATIONS = tuple(status_column(s, "days") for s in STATUSES)
LIFECYCLE_SCHEMA = schema(tuple(c for c in TABLES[COMPLAINT_LIFECYCLE].columns if c.name != ROW_HASH))
COLUMNS = tuple(LIFECYCLE_SCHEMA.fieldNames())

# What the channel's current state contributes: `facts` frames have these columns.
FACT_COLUMNS = ("channel", "complaint_id", "customer_id", "agent_id", "complaint_category", "request_date",
                "reported_resolution", "call_end_time", "platform")


def with_status(history: DataFrame) -> DataFrame:
    """Observations that say which status the complaint was in (a malformed status is loaded as null)."""
    return history.where(F.col("resolution_status").isNotNull())


def channel_facts(channel: str, complaints: DataFrame) -> DataFrame:
    """A channel's current-state rows in the shape `advance`/`rebuild` read (FACT_COLUMNS)."""
    entity = ENTITIES[channel]
    return complaints.select(
        F.lit(channel).alias("channel"),
        F.col(entity.key).cast("string").alias("complaint_id"),
        "customer_id",
        "agent_id",
        "complaint_category",
        F.col(entity.request_time).alias("request_date"),
        _role(entity.resolution_time).alias("reported_resolution"),
        _role(entity.contact_end_time).alias("call_end_time"),
        _role(entity.platform, "string").alias("platform"),
    )


def _role(column: str | None, kind: str = "timestamp") -> Column:
    return F.col(column) if column else F.lit(None).cast(kind)


def _resolution(current_status: Column, resolved_date: Column, first_observed: Column, request_date: Column,
                reported_resolution: Column, call_end_time: Column, sla_days: int) -> dict[str, Column]:
    """resolution_date, days_to_resolution, met_sla: null unless the complaint is Resolved now."""
    solved_on_first_call = call_end_time.isNotNull() & (resolved_date == first_observed)
    when_resolved = F.coalesce(
        reported_resolution, F.when(solved_on_first_call, call_end_time), resolved_date.cast("timestamp")
    )
    resolution = F.when(current_status == RESOLVED, when_resolved)
    seconds = resolution.cast("long") - request_date.cast("long")
    return {
        "resolution_date": resolution,
        "days_to_resolution": F.round(seconds / 86400.0, 2),
        "met_sla": seconds <= F.lit(sla_days * 86400),
        "sla_days": F.lit(sla_days),
    }


def advance(current: DataFrame, observations: DataFrame, facts: DataFrame, run_date: dt.date,
            sla_days: int) -> DataFrame:
    """The new rows of every complaint with an observation or a fact this run.

    current: stored lifecycle rows (LIFECYCLE_SCHEMA); only the affected keys are needed.
    observations: `complaint_status_history` rows of this run (at most one per complaint and channel).
    facts: FACT_COLUMNS rows, the current state of the affected complaints.
    An observation already folded in (observed_run_date not after the row's last_observed_run_date:
    a re-run) is ignored, so applying the same run twice changes nothing.
    """
    obs = with_status(observations).select(
        *KEY, F.col("resolution_status").alias("_status"), F.col("source_generation_date").alias("_observed"),
        F.col("observed_run_date").alias("_run"), F.col("agent_id").alias("_agent"),
    )
    stored = current.select(*(F.col(c).alias(f"c_{c}") if c not in KEY else F.col(c) for c in COLUMNS))
    fresh = obs.join(stored.select(*KEY, "c_last_observed_run_date"), list(KEY), "left").where(
        F.col("c_last_observed_run_date").isNull() | (F.col("_run") > F.col("c_last_observed_run_date"))
    ).drop("c_last_observed_run_date")
    keys = fresh.select(*KEY).unionByName(facts.select(*KEY)).distinct()
    rows = (
        keys.join(fresh, list(KEY), "left")
        .join(stored, list(KEY), "left")
        .join(facts.select(*KEY, F.struct(*FACT_COLUMNS).alias("_facts")), list(KEY), "left")
    )
    c = {name: F.col(f"c_{name}") for name in COLUMNS if name not in KEY}
    seen = F.col("_observed").isNotNull()
    previous, status = c["current_status"], F.col("_status")
    moved = seen & (previous.isNull() | (previous != status))
    elapsed = F.when(seen, F.datediff(F.col("_observed"), c["last_observed_date"]))
    state = {
        "current_status": F.coalesce(status, previous),
        "current_status_since": F.when(moved, F.col("_observed")).otherwise(c["current_status_since"]),
        **{m: F.coalesce(c[m], F.when(status == s, F.col("_observed"))) for s, m in zip(STATUSES, MILESTONES)},
        **{d: F.coalesce(c[d], F.lit(0)) + F.coalesce(F.when(previous == s, elapsed), F.lit(0))
           for s, d in zip(STATUSES, DURATIONS)},
        "first_observed_date": F.coalesce(c["first_observed_date"], F.col("_observed")),
        "last_observed_date": F.coalesce(F.col("_observed"), c["last_observed_date"]),
        "observations": F.coalesce(c["observations"], F.lit(0)) + seen.cast("int"),
        "status_changes": F.coalesce(c["status_changes"], F.lit(0)) + (moved & previous.isNotNull()).cast("int"),
        "reopened": F.coalesce(c["reopened"], F.lit(0))
        + (seen & previous.eqNullSafe(F.lit(RESOLVED)) & (status != RESOLVED)).cast("int"),
        "last_observed_run_date": F.coalesce(F.col("_run"), c["last_observed_run_date"]),
    }
    fact = {name: F.col("_facts")[name] for name in FACT_COLUMNS}
    attributes = {
        "customer_id": F.coalesce(fact["customer_id"], c["customer_id"]),
        "agent_id": F.coalesce(fact["agent_id"], F.col("_agent"), c["agent_id"]),
        "complaint_category": F.coalesce(fact["complaint_category"], c["complaint_category"]),
        "request_date": F.coalesce(fact["request_date"], c["request_date"]),
    }
    with_state = rows.withColumns(state).withColumns(attributes)
    resolution = _resolution(F.col("current_status"), F.col("resolved_date"), F.col("first_observed_date"),
                             F.col("request_date"), fact["reported_resolution"], fact["call_end_time"], sla_days)
    return (
        with_state.withColumns({**resolution, "updated_date": F.lit(run_date)})
        .select(*COLUMNS)
        .where(F.col("current_status").isNotNull())  # a complaint with facts but no observation yet waits
    )


def rebuild(history: DataFrame, facts: DataFrame, run_date: dt.date, sla_days: int) -> DataFrame:
    """Every complaint's row from its whole history (all runs up to `run_date`)."""
    ordered = Window.partitionBy(*KEY).orderBy("source_generation_date", "observed_run_date")
    steps = with_status(history).select(
        *KEY, "resolution_status", "agent_id", "source_generation_date", "observed_run_date",
        F.lag("resolution_status").over(ordered).alias("_previous"),
        F.datediff(F.lead("source_generation_date").over(ordered), F.col("source_generation_date")).alias("_span"),
        F.row_number().over(ordered.orderBy(F.desc("source_generation_date"), F.desc("observed_run_date"))).alias("_from_last"),
    )
    status, previous = F.col("resolution_status"), F.col("_previous")
    moved = previous.isNull() | (previous != status)
    last = F.col("_from_last") == 1
    per_complaint = steps.groupBy(*KEY).agg(
        F.max(F.when(last, status)).alias("current_status"),
        F.max(F.when(last, F.col("agent_id"))).alias("_agent"),
        F.max(F.when(moved, F.col("source_generation_date"))).alias("current_status_since"),
        *(F.min(F.when(status == s, F.col("source_generation_date"))).alias(m) for s, m in zip(STATUSES, MILESTONES)),
        *(F.coalesce(F.sum(F.when(status == s, F.col("_span"))), F.lit(0)).cast("int").alias(d)
          for s, d in zip(STATUSES, DURATIONS)),
        F.min("source_generation_date").alias("first_observed_date"),
        F.max("source_generation_date").alias("last_observed_date"),
        F.count(F.lit(1)).cast("int").alias("observations"),
        F.count(F.when(moved & previous.isNotNull(), 1)).cast("int").alias("status_changes"),
        F.count(F.when((previous == RESOLVED) & (status != RESOLVED), 1)).cast("int").alias("reopened"),
        F.max("observed_run_date").alias("last_observed_run_date"),
    )
    joined = (
        per_complaint.join(facts.select(*KEY, F.struct(*FACT_COLUMNS).alias("_facts")), list(KEY), "left")
        .withColumns({
            "customer_id": F.col("_facts.customer_id"),
            "agent_id": F.coalesce(F.col("_facts.agent_id"), F.col("_agent")),
            "complaint_category": F.col("_facts.complaint_category"),
            "request_date": F.col("_facts.request_date"),
        })
    )
    resolution = _resolution(F.col("current_status"), F.col("resolved_date"), F.col("first_observed_date"),
                             F.col("request_date"), F.col("_facts.reported_resolution"), F.col("_facts.call_end_time"),
                             sla_days)
    return joined.withColumns({**resolution, "updated_date": F.lit(run_date)}).select(*COLUMNS)


def transitions(current: DataFrame, observations: DataFrame) -> DataFrame:
    """(from_status, to_status, count) of this run's new observations; from_status null for a new complaint."""
    stored = current.select(*KEY, F.col("current_status").alias("from_status"),
                            F.col("last_observed_run_date").alias("_folded"))
    return (
        with_status(observations).join(stored, list(KEY), "left")
        .where(F.col("_folded").isNull() | (F.col("observed_run_date") > F.col("_folded")))
        .where(F.col("from_status").isNull() | (F.col("from_status") != F.col("resolution_status")))
        .groupBy("from_status", F.col("resolution_status").alias("to_status"))
        .count()
    )
