"""`complaint_features`: one row per customer and calendar month, for the churn and service models
(SPEC §3 Gold). Point-in-time correct: a month's row uses only what was known at the month's end.

Time is the source date (the generation date of the file or table an observation came from), as in
the lifecycle. A complaint *belongs to* the month of its first observation: that is when it became
known. Its request time is back-dated by months in the sources, so it gives the day-of-week patterns
and the days to resolution, never the month. Its status at a month's end is the status of its latest
observation dated up to that day in `complaint_status_history`, not today's status. So recomputing an
old month later gives the same row; only an observation dated in it that arrives late (a replayed
orphan) changes it.

Every customer with a complaint has a row for every month from its first complaint's month to the run's
month, zeros included, so the rolling sums span calendar months. Category, request time, call end and
platform come from the complaint's current row: the sources never change them and the history does not
record them. `FEATURES` below gives each column its one-line meaning and its definition.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from coretelecoms.gold.lifecycle import RESOLVED, with_status
from coretelecoms.platform.tables import COMPLAINT_FEATURES, ROW_HASH, TABLES, channels, schema
from coretelecoms.quality.cleaning import CATEGORIES
from coretelecoms.quality.cleaning import CHANNELS as PLATFORMS

KEY = TABLES[COMPLAINT_FEATURES].key  # (customer_id, month)
COMPLAINT = ("channel", "complaint_id")
BLOCKED = "Blocked"
ISO_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
CHANNEL_COLUMNS = {"call_logs": "call_complaints", "sm_complaints": "social_media_complaints",
                   "web_complaints": "web_form_complaints"}
CATEGORY_COLUMNS = {category: f"{category.lower().replace(' ', '_')}_complaints" for category in CATEGORIES}
FEATURES_SCHEMA = schema(tuple(c for c in TABLES[COMPLAINT_FEATURES].columns if c.name != ROW_HASH))
COLUMNS = tuple(FEATURES_SCHEMA.fieldNames())


@dataclass(frozen=True)
class Feature:
    meaning: str
    value: Column  # over the customer-month aggregate or the rolling window (see `customer_months`)


def _count(condition: Column) -> Column:
    return F.count(F.when(condition, 1)).cast("int")


def _share(part: Column, whole: Column) -> Column:
    return F.when(whole > 0, F.round(part / whole, 4))


def _most(counts: dict[str, Column]) -> Column:
    """The name with the highest count; a tie goes to the name listed first; null when all are 0."""
    ranked = [F.struct(count.alias("n"), F.lit(-rank).alias("rank"), F.lit(name).alias("name"))
              for rank, (name, count) in enumerate(counts.items())]
    best = F.greatest(*ranked) if len(ranked) > 1 else ranked[0]
    return F.when(best["n"] > 0, best["name"])


def _monthly_features(channel_names: tuple[str, ...]) -> dict[str, Feature]:
    """Aggregates over a customer's complaint-month rows (`complaint_month_ends`) of one month."""
    new = F.col("month") == F.col("first_month")  # the complaint became known this month
    status, iso_day = F.col("status_at_end"), F.col("request_iso_day")
    resolved_now = (status == RESOLVED) & ~F.col("previous_status").eqNullSafe(F.lit(RESOLVED))
    complaints = _count(new)
    resolved_days = F.when(resolved_now, F.col("days_to_resolution"))
    call_minutes = F.when(new, F.col("call_minutes"))
    return {
        # volume
        "complaints": Feature("complaints that became known in the month", complaints),
        **{column: Feature(f"of them, via {channel}", _count(new & (F.col("channel") == channel)))
           for channel, column in CHANNEL_COLUMNS.items()},
        **{column: Feature(f"of them, in category {category}", _count(new & (F.col("complaint_category") == category)))
           for category, column in CATEGORY_COLUMNS.items()},
        "distinct_agents": Feature(
            "distinct agents on the customer's complaints in the month's observations (a reassignment counts both)",
            F.size(F.array_distinct(F.flatten(F.collect_list("agents_in_month")))).cast("int")),
        # resolution
        "resolved": Feature("complaints Resolved at the month's end that were not at the previous month's end",
                            _count(resolved_now)),
        "open_at_month_end": Feature("the customer's known complaints not Resolved at the month's end (Blocked included)",
                                     _count(status != RESOLVED)),
        "blocked_at_month_end": Feature("the customer's known complaints Blocked at the month's end",
                                        _count(status == BLOCKED)),
        "resolution_rate": Feature("share of the month's complaints Resolved at its end",
                                   _share(_count(new & (status == RESOLVED)), complaints)),
        "mean_days_to_resolution": Feature("mean days from request to resolution of the month's `resolved`",
                                           F.round(F.avg(resolved_days), 2)),
        "p90_days_to_resolution": Feature("90th percentile (linear interpolation) of the same",
                                          F.round(F.percentile(resolved_days, F.lit(0.9)), 2)),
        "sla_met_share": Feature("share of the month's `resolved` resolved within gold's sla_days",
                                 _share(_count(resolved_now & F.col("met_sla")), _count(resolved_now))),
        "mean_call_minutes": Feature("mean minutes of the month's call complaints (end - start)",
                                     F.round(F.avg(call_minutes), 2)),
        "max_call_minutes": Feature("longest of them", F.round(F.max(call_minutes), 2)),
        # patterns
        "weekday_complaints": Feature("the month's complaints requested Monday to Friday (ISO days 1-5)",
                                      _count(new & (iso_day <= 5))),
        "weekend_complaints": Feature("requested Saturday or Sunday", _count(new & (iso_day >= 6))),
        "most_frequent_complaint_day": Feature(
            "the ISO day most of the month's complaints were requested on; a tie goes to the earlier day",
            _most({day: _count(new & (iso_day == number)) for number, day in enumerate(ISO_DAYS, start=1)})),
        "preferred_channel": Feature(
            "the channel most of the month's complaints came by; a tie goes to the name first in alphabetical order",
            _most({channel: _count(new & (F.col("channel") == channel)) for channel in sorted(channel_names)})),
        "preferred_platform": Feature(
            "the platform most of the month's social-media complaints came from; ties alphabetical",
            _most({platform: _count(new & (F.col("platform") == platform)) for platform in sorted(PLATFORMS)})),
    }


def _rolling_features() -> dict[str, Feature]:
    """Over the customer's months (every calendar month is a row, so ranges of months are rows too)."""
    by_customer = Window.partitionBy("customer_id").orderBy("_month_number")

    def months_back(months: int) -> Column:
        return F.sum("complaints").over(by_customer.rangeBetween(-(months - 1), 0)).cast("int")

    three, six = F.col("complaints_3m"), F.col("complaints_6m")
    return {
        "complaints_3m": Feature("complaints over the month and the 2 calendar months before it", months_back(3)),
        "complaints_6m": Feature("over the month and the 5 before it", months_back(6)),
        "complaints_12m": Feature("over the month and the 11 before it", months_back(12)),
        "complaints_change": Feature(
            "complaints minus the previous calendar month's (which is 0 before the first month)",
            (F.col("complaints") - F.coalesce(F.sum("complaints").over(by_customer.rangeBetween(-1, -1)), F.lit(0)))
            .cast("int")),
        "months_since_first_complaint": Feature(
            "calendar months since the customer's first complaint month (0 in that month)",
            (F.col("_month_number") - F.min("_month_number").over(Window.partitionBy("customer_id"))).cast("int")),
        "rising_trend": Feature("complaints_3m above the 3 months before them (complaints_6m - complaints_3m)",
                                three > six - three),
    }


def features() -> dict[str, Feature]:
    """Every feature column with its meaning, in table order."""
    defined = {**_monthly_features(channels()), **_rolling_features()}
    return {name: defined[name] for name in COLUMNS if name in defined}


def complaint_month_ends(history: DataFrame, facts: DataFrame, run_month: dt.date, sla_days: int) -> DataFrame:
    """One row per complaint and month from the month it became known to `run_month`: its state at
    that month's end, from the observations dated up to it.

    history: `complaint_status_history` rows (already limited to the run dates up to this run).
    facts: `lifecycle.channel_facts` rows of those complaints (their current rows).
    """
    dated = with_status(history).withColumn("month", F.trunc("source_generation_date", "month")).where(
        F.col("month") <= F.lit(run_month))
    observed = F.struct("source_generation_date", "observed_run_date", "resolution_status", "resolution_date")
    in_month = dated.groupBy(*COMPLAINT, "month").agg(
        F.max(observed).alias("_last_in_month"),
        F.min(F.when(F.col("resolution_status") == RESOLVED, F.col("source_generation_date"))).alias("_resolved_in_month"),
        F.collect_set("agent_id").alias("agents_in_month"),
    )
    per_complaint = dated.groupBy(*COMPLAINT).agg(
        F.max("customer_id").alias("customer_id"),  # a complaint's id embeds its customer: one per complaint
        F.min("month").alias("first_month"),
        F.min("source_generation_date").alias("first_observed_date"),
    )
    months = per_complaint.withColumn(
        "month", F.explode(F.sequence(F.col("first_month"), F.lit(run_month), F.expr("INTERVAL 1 MONTH"))))
    to_month_end = Window.partitionBy(*COMPLAINT).orderBy("month")
    so_far = to_month_end.rowsBetween(Window.unboundedPreceding, Window.currentRow)
    known = F.last("_last_in_month", ignorenulls=True).over(so_far)
    ends = (
        months.join(in_month, [*COMPLAINT, "month"], "left")
        .join(facts.select(*COMPLAINT, "complaint_category", "request_date", "call_end_time", "platform"),
              list(COMPLAINT), "left")
        .withColumns({
            "status_at_end": known["resolution_status"],
            "reported_resolution": known["resolution_date"],
            "first_resolved_date": F.min("_resolved_in_month").over(so_far),
        })
        .withColumn("previous_status", F.lag("status_at_end").over(to_month_end))
    )
    # When it was resolved, as the lifecycle says: the reported time, else the call's end for a call
    # solved on the call (Resolved when first seen), else the first day it was seen Resolved.
    on_first_call = F.col("call_end_time").isNotNull() & (F.col("first_resolved_date") == F.col("first_observed_date"))
    resolution = F.coalesce(F.col("reported_resolution"), F.when(on_first_call, F.col("call_end_time")),
                            F.col("first_resolved_date").cast("timestamp"))
    seconds = resolution.cast("long") - F.col("request_date").cast("long")
    status = F.col("status_at_end")
    return ends.withColumns({
        "days_to_resolution": F.when(status == RESOLVED, F.round(seconds / 86400.0, 2)),
        "met_sla": F.when(status == RESOLVED, seconds <= F.lit(sla_days * 86400)),
        "call_minutes": F.round((F.col("call_end_time").cast("long") - F.col("request_date").cast("long")) / 60.0, 2),
        # Spark's dayofweek counts from Sunday = 1; ISO counts from Monday = 1.
        "request_iso_day": (F.dayofweek("request_date") + 5) % 7 + 1,
    })


def customer_months(history: DataFrame, facts: DataFrame, run_date: dt.date, sla_days: int) -> DataFrame:
    """Every customer's rows from its first complaint month to the run's month (COLUMNS)."""
    run_month = run_date.replace(day=1)
    monthly = _monthly_features(channels())
    per_month = complaint_month_ends(history, facts, run_month, sla_days).groupBy(*KEY).agg(
        *(feature.value.alias(name) for name, feature in monthly.items()))
    numbered = per_month.withColumn("_month_number", F.year("month") * 12 + F.month("month"))
    rolling = _rolling_features()
    trend = rolling.pop("rising_trend")  # it reads two of the others
    rolled = numbered.withColumns({name: feature.value for name, feature in rolling.items()})
    return rolled.withColumns({"rising_trend": trend.value, "updated_date": F.lit(run_date)}).select(*COLUMNS)
