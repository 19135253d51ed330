"""The notebook's summaries on small crafted tables, and the lake's views named after its tables."""
from __future__ import annotations

import datetime as dt

from pyspark.sql import Row

from coretelecoms.platform.tables import ORPHANED_COMPLAINTS, TABLES
from coretelecoms.explore import issues_by_rule, orphan_ages, register_lake_tables, sla_hit_rate, status_durations
from coretelecoms.gold.lifecycle import LIFECYCLE_SCHEMA
from coretelecoms.platform.settings import load_settings
from tests.conftest import PROJECT_ROOT

D = dt.date


def frame(spark, schema, *rows: dict):
    """Rows of `schema` with the given values, every other column null."""
    return spark.createDataFrame([Row(**{name: row.get(name) for name in schema.fieldNames()}) for row in rows], schema)


def test_issues_by_rule_counts_findings_and_the_records_they_come_from(spark):
    dq_issues = spark.createDataFrame(
        [
            # A row that breaks one rule in two fields: two issues, one record.
            ("customers", "invalid_email", "repair", "s3a://l/customers.csv", 4),
            ("customers", "invalid_email", "repair", "s3a://l/customers.csv", 4),
            ("customers", "invalid_email", "repair", "s3a://l/customers.csv", 9),
            ("call_logs", "null_key", "reject", "file:/l/call_logs_day1.csv", 4),
        ],
        "entity string, rule string, severity string, _source string, _source_row long",
    )

    rows = [row.asDict() for row in issues_by_rule(dq_issues).collect()]

    assert rows == [
        {"entity": "customers", "rule": "invalid_email", "severity": "repair", "issues": 3, "records": 2},
        {"entity": "call_logs", "rule": "null_key", "severity": "reject", "issues": 1, "records": 1},
    ]


def test_orphan_ages_run_to_as_of_while_open_and_to_the_resolving_run_once_resolved(spark):
    as_of = D(2025, 3, 10)
    orphans = frame(
        spark, TABLES[ORPHANED_COMPLAINTS].spark_schema,
        {"channel": "call_logs", "reason": "missing_customer", "status": "open", "first_seen_date": as_of},
        {"channel": "call_logs", "reason": "missing_customer", "status": "open", "first_seen_date": D(2025, 3, 9)},
        {"channel": "call_logs", "reason": "missing_customer", "status": "open", "first_seen_date": D(2025, 3, 7)},
        {"channel": "call_logs", "reason": "missing_customer", "status": "open", "first_seen_date": D(2025, 3, 8)},
        {"channel": "call_logs", "reason": "missing_customer", "status": "resolved", "first_seen_date": D(2025, 3, 1),
         "resolved_date": D(2025, 3, 5)},
        {"channel": "web_complaints", "reason": "both", "status": "open", "first_seen_date": D(2025, 2, 1)},
    )

    rows = [tuple(row) for row in orphan_ages(orphans, as_of).collect()]

    assert rows == [
        ("call_logs", "missing_customer", "open", "00", 1),
        ("call_logs", "missing_customer", "open", "01", 1),
        ("call_logs", "missing_customer", "open", "02-03", 2),
        ("call_logs", "missing_customer", "resolved", "04-07", 1),
        ("web_complaints", "both", "open", "31+", 1),
    ]


def test_status_durations_has_a_row_per_status_each_complaint_reached(spark):
    lifecycle = frame(
        spark, LIFECYCLE_SCHEMA,
        {"channel": "call_logs", "complaint_id": "1", "complaint_category": "Billing",
         "backlog_date": D(2025, 3, 1), "in_progress_date": D(2025, 3, 3), "resolved_date": D(2025, 3, 4),
         "backlog_days": 2, "in_progress_days": 1, "blocked_days": 0, "resolved_days": 0},
        {"channel": "web_complaints", "complaint_id": "w-7", "complaint_category": "Network",
         "blocked_date": D(2025, 3, 2), "backlog_days": 0, "in_progress_days": 0, "blocked_days": 5, "resolved_days": 0},
    )

    rows = sorted(tuple(row) for row in status_durations(lifecycle).collect())

    assert rows == [
        ("call_logs", "Billing", "Backlog", 2),
        ("call_logs", "Billing", "In-Progress", 1),
        ("call_logs", "Billing", "Resolved", 0),
        ("web_complaints", "Network", "Blocked", 5),
    ]


def test_sla_hit_rate_counts_only_resolved_complaints(spark):
    lifecycle = frame(
        spark, LIFECYCLE_SCHEMA,
        {"channel": "call_logs", "complaint_id": "1", "met_sla": True},
        {"channel": "call_logs", "complaint_id": "2", "met_sla": False},
        {"channel": "call_logs", "complaint_id": "3", "met_sla": None},  # not resolved (yet)
        {"channel": "web_complaints", "complaint_id": "w-1", "met_sla": True},
    )

    rows = [tuple(row) for row in sla_hit_rate(lifecycle).collect()]

    assert rows == [("call_logs", 2, 1, 0.5), ("web_complaints", 1, 1, 1.0)]


def test_every_delta_table_of_the_lake_gets_a_view_named_by_its_layer(spark, tmp_path):
    settings = load_settings(env="test", conf_dir=PROJECT_ROOT / "conf", overrides={"lake": str(tmp_path)})
    one_row = spark.createDataFrame([("x",)], "layer string")
    for layer, table in (("bronze", "customers"), ("silver", "customers"), ("silver", "dq_issues"),
                         ("gold", "complaint_lifecycle")):
        one_row.write.format("delta").save(str(tmp_path / layer / table))
    (tmp_path / "gold" / "complaints").mkdir()  # a folder that is no Delta table gets no view

    names = register_lake_tables(spark, settings)

    assert sorted(names) == ["bronze_customers", "complaint_lifecycle", "customers", "dq_issues"]
    assert spark.table("bronze_customers").count() == 1
