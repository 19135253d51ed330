"""The lake for notebooks and ad-hoc SQL: one Spark session with every Delta table as a view, and the
summaries that notebooks/explore.ipynb plots.

The summaries are DataFrame -> DataFrame, so they run on any lake size; a notebook converts only
their small results to pandas.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from delta.tables import DeltaTable
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from coretelecoms.bronze.columns import SOURCE, SOURCE_ROW
from coretelecoms.gold.lifecycle import DURATIONS, MILESTONES, STATUSES
from coretelecoms.platform import lake, storage
from coretelecoms.platform.settings import Settings, load_settings
from coretelecoms.platform.spark import spark_session
from coretelecoms.quality.cleaning import register_sql_functions
from coretelecoms.platform.tables import (
    COMPLAINT_FEATURES,
    COMPLAINT_LIFECYCLE,
    DQ_ISSUES,
    ENTITIES,
    ORPHANED_COMPLAINTS,
    STATUS_HISTORY,
    UNIFIED_COMPLAINTS,
)

# Upper bounds (inclusive) of the orphan age buckets, in days; older ones fall in the last, open bucket.
AGE_BUCKETS = (0, 1, 3, 7, 30)


@dataclass(frozen=True)
class Lake:
    spark: SparkSession
    settings: Settings
    tables: list[str]  # the registered view names, those of the tables the lake holds


def open_lake(env: str | None = None, overrides: dict[str, str] | None = None) -> Lake:
    """A session on the settings' lake (`CORETELECOMS__LAKE` as usual) with the cleaning SQL
    functions and a view per Delta table (`dq_issues`, `complaint_lifecycle`, `bronze_call_logs`...)."""
    settings = load_settings(env, overrides=overrides)
    spark = spark_session(settings, app_name="coretelecoms explore")
    register_sql_functions(spark)
    return Lake(spark, settings, register_lake_tables(spark, settings))


def lake_locations(settings: Settings) -> dict[str, str]:
    """View name -> location of every table the pipeline writes. Silver and gold names do not
    clash, so both keep their plain names; bronze ones are prefixed (`bronze_customers`)."""
    bronze = {f"bronze_{source}": lake.bronze(settings, source) for source in ENTITIES}
    silver = {name: lake.silver(settings, name)
              for name in (*ENTITIES, STATUS_HISTORY, ORPHANED_COMPLAINTS, DQ_ISSUES)}
    gold = {name: lake.gold(settings, name) for name in (COMPLAINT_LIFECYCLE, UNIFIED_COMPLAINTS, COMPLAINT_FEATURES)}
    return {**bronze, **silver, **gold}


def register_lake_tables(spark: SparkSession, settings: Settings) -> list[str]:
    """A temporary view for each table of `lake_locations` that exists; returns their names."""
    names = []
    for name, location in lake_locations(settings).items():
        path = storage.spark_path(location)
        if DeltaTable.isDeltaTable(spark, path):
            spark.read.format("delta").load(path).createOrReplaceTempView(name)
            names.append(name)
    return names


def issues_by_rule(dq_issues: DataFrame) -> DataFrame:
    """(entity, rule, severity, issues, records), most issues first (ties in entity, rule and severity
    order: one rule can have two severities, as `missing` has per field). A record (one input row) can
    break a rule in several fields, so `records` counts input rows, `issues` field-level findings."""
    return (
        dq_issues.groupBy("entity", "rule", "severity")
        .agg(F.count(F.lit(1)).alias("issues"), F.countDistinct(SOURCE, SOURCE_ROW).alias("records"))
        .orderBy(F.desc("issues"), "entity", "rule", "severity")
    )


def orphan_ages(orphaned_complaints: DataFrame, as_of: dt.date) -> DataFrame:
    """(channel, reason, status, age_days, orphans). Age counts from the run that first quarantined
    the orphan to the run that resolved it, or to `as_of` while it is still open."""
    until = F.coalesce(F.col("resolved_date"), F.lit(as_of))
    return (
        orphaned_complaints
        .withColumn("age_days", _age_bucket(F.datediff(until, F.col("first_seen_date"))))
        .groupBy("channel", "reason", "status", "age_days")
        .agg(F.count(F.lit(1)).alias("orphans"))
        .orderBy("channel", "reason", "status", "age_days")
    )


def _age_bucket(days: Column) -> Column:
    """Zero-padded labels, so that sorting them as text (Spark or pandas) sorts them by age:
    '00', '01', '02-03', '04-07', '08-30', '31+'."""
    bucket, low = None, 0
    for high in AGE_BUCKETS:
        label = f"{low:02d}" if low == high else f"{low:02d}-{high:02d}"
        bucket = F.when(days <= high, label) if bucket is None else bucket.when(days <= high, label)
        low = high + 1
    return bucket.otherwise(f"{low:02d}+")


def status_durations(complaint_lifecycle: DataFrame) -> DataFrame:
    """(channel, complaint_category, status, days): one row per complaint and status it reached, with
    the days it spent there (the current status counts up to the latest observation)."""
    per_status = F.array(*(
        F.struct(F.lit(status).alias("status"), F.col(milestone).alias("reached"), F.col(duration).alias("days"))
        for status, milestone, duration in zip(STATUSES, MILESTONES, DURATIONS)
    ))
    return (
        complaint_lifecycle.select("channel", "complaint_category", F.explode(per_status).alias("s"))
        .where(F.col("s.reached").isNotNull())
        .select("channel", "complaint_category", "s.status", "s.days")
    )


def sla_hit_rate(complaint_lifecycle: DataFrame) -> DataFrame:
    """(channel, resolved, within_sla, hit_rate) over the complaints resolved now: `met_sla` is null
    on the others."""
    resolved = complaint_lifecycle.where(F.col("met_sla").isNotNull())
    return (
        resolved.groupBy("channel")
        .agg(F.count(F.lit(1)).alias("resolved"), F.count(F.when(F.col("met_sla"), 1)).alias("within_sla"))
        .withColumn("hit_rate", F.round(F.col("within_sla") / F.col("resolved"), 3))
        .orderBy("channel")
    )


def most_complaining_customer(complaint_features: DataFrame) -> str | None:
    """The customer with the most complaints in their latest 12 calendar months (ties: smallest id)."""
    latest = complaint_features.agg(F.max("month")).first()[0]
    best = (complaint_features.where(F.col("month") == F.lit(latest))
            .orderBy(F.desc("complaints_12m"), "customer_id").select("customer_id").first())
    return best[0] if best else None


def customer_months(complaint_features: DataFrame, customer_id: str) -> DataFrame:
    """One customer's rows in month order: complaints per month and their rolling sums."""
    return (complaint_features.where(F.col("customer_id") == customer_id)
            .select("month", "complaints", "complaints_3m", "complaints_6m", "complaints_12m", "open_at_month_end",
                    "resolved", "rising_trend")
            .orderBy("month"))
