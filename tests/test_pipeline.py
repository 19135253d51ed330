"""The whole pipeline on generated data (fixture `generated_run`), checked against its ground truth."""
import datetime as dt
import json
from collections import Counter

import psycopg2
import pytest
from psycopg2 import sql
from pyspark.sql import functions as F

from coretelecoms import pipeline
from coretelecoms.bronze.ingest import INGESTED, NOT_READY, REPLACED, UNCHANGED
from coretelecoms.platform.tables import staging_columns
from coretelecoms.platform.storage import spark_path
from coretelecoms.platform.tables import ENTITIES
from coretelecoms.quality.expectations import CriticalExpectationFailed
from coretelecoms.reporting.run_report import latest_report, summary_text
from coretelecoms.platform.tables import DQ_ISSUES
from coretelecoms_dev.summary import expected_rows
from coretelecoms.platform import lake
from tests.bronze.test_ingest_crafted import CALLS, landing  # noqa: F401  (fixture)
from tests.bronze.test_ingest_crafted import write_csv
from tests.conftest import make_settings

MODEL_TABLES = ("customers", "customers_history", "agents", "agents_history", "call_logs", "sm_complaints",
                "web_complaints", "complaint_status_history", "orphaned_complaints", "complaint_lifecycle")
LAKE_TABLES = ("dq_issues", "customers", "agents", "call_logs", "sm_complaints", "web_complaints",
               "complaint_status_history", "orphaned_complaints")
GOLD_TABLES = ("complaint_lifecycle", "complaints")
# Columns naming the run that wrote a row: a re-run may rewrite them, nothing else.
LAKE_RUN_COLUMNS = {"dq_issues": ("run_id", "run_date", "bronze_run_id")}


def test_bronze_counts_equal_the_ground_truth(generated_run):
    settings, truth, results = generated_run
    missing = {(m["source"], m["date"]) for m in truth["missing_inputs"]}
    assert len(missing) == 1
    for result in results:
        day = result.run_date.isoformat()
        assert result.status == ("not_ready" if any(d == day for _, d in missing) else "succeeded")
        for outcome in result.bronze:
            if (outcome.source, day) in missing:
                assert outcome.status == NOT_READY
                continue
            assert outcome.status in (INGESTED, REPLACED, UNCHANGED), outcome
            assert outcome.rows == expected_rows(truth, outcome.source, day), (outcome.source, day)
    versions = {v["date"] for v in truth["customer_versions"]}
    for result in results[1:]:
        customers = next(o for o in result.bronze if o.source == "customers")
        assert (customers.status == REPLACED) == (result.run_date.isoformat() in versions)


def test_every_malformed_value_is_in_dq_issues_and_no_clean_value_is(spark, generated_run):
    settings, truth, results = generated_run
    issues = spark.read.format("delta").load(spark_path(lake.silver(settings, DQ_ISSUES)))
    last_customers = max(v["date"] for v in truth["customer_versions"])
    injected = {
        (m["source"], m["date"] if m["source"] != "customers" else last_customers, m["row"])
        for m in truth["malformed"]
        if m["source"] != "customers" or m["date"] == last_customers
    }
    reported = issues.where(F.col("rule") != "duplicate_key").select(
        "entity", F.date_format("_source_date", "yyyy-MM-dd").alias("day"), "_source_row").collect()
    customers_day = {r.day for r in reported if r.entity == "customers"}
    assert len(customers_day) == 1  # one customers file is current; its issues replaced the older ones
    found = {(r.entity, last_customers if r.entity == "customers" else r.day, r._source_row) for r in reported}
    assert injected - found == set(), "injected malformed values missing from dq_issues"
    assert found - injected == set(), "clean values reported as problems"


def test_every_expectation_failure_is_a_defect_the_generator_injected_and_a_clean_input_validates_green(generated_run):
    _, truth, results = generated_run
    injected: dict[tuple[str, str], set[str]] = {}
    for defect in truth["malformed"]:
        injected.setdefault((defect["source"], defect["date"]), set()).add(str(defect["value"]))
    validated = 0
    for result in results:
        day = result.run_date.isoformat()
        for entity, found in result.expectations.items():
            validated += 1
            assert found["critical"]["failed"] == 0 and found["critical"]["passed"] > 0, (entity, day)
            for failure in found["failures"]:  # values the cleaners could not repair or reject, if any
                assert set(failure["examples"]) <= injected.get((entity, day), set()), (entity, day, failure)
            if (entity, day) not in injected:
                assert found["warning"]["failed"] == 0, (entity, day, found["failures"])
    assert validated == sum(len(result.quality) for result in results) >= 12


def test_duplicates_are_collapsed_and_accounted(spark, generated_run):
    settings, truth, results = generated_run
    expected = Counter()
    for duplicate in truth["duplicates"]:
        expected[(duplicate["source"], duplicate["date"])] += duplicate["copies"] - 1
    collapsed = Counter()
    for result in results:
        for entity, counts in result.quality.items():
            assert counts.rows_in == counts.clean + counts.repaired + counts.rejected_total + counts.collapsed
            if counts.collapsed:
                collapsed[(entity, result.run_date.isoformat())] += counts.collapsed
    assert collapsed == expected


def silver_rows(spark, settings, name, drop=()):
    frame = spark.read.format("delta").load(spark_path(lake.silver(settings, name)))
    return sorted(map(tuple, frame.drop(*drop).collect()))


def gold_rows(spark, settings, name):
    return sorted(map(tuple, spark.read.format("delta").load(spark_path(lake.gold(settings, name))).collect()))


def database_rows(dsn):
    """Every model table's full contents (the audit table pipeline_runs aside)."""
    contents = {}
    with psycopg2.connect(dsn) as connection, connection.cursor() as cursor:
        for table in MODEL_TABLES:
            cursor.execute(sql.SQL("SELECT * FROM {} ORDER BY 1, 2, 3").format(sql.Identifier(table)))
            contents[table] = cursor.fetchall()
    return contents


def query(dsn, statement, *params):
    with psycopg2.connect(dsn) as connection, connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.fetchall()


def test_true_orphans_stay_quarantined_and_late_customers_are_replayed(spark, generated_run, conformance_dsn):
    settings, truth, results = generated_run
    quarantine = {(r[0], r[1]): r[2:] for r in query(
        conformance_dsn, "SELECT channel, complaint_id, reason, status, resolved_date FROM orphaned_complaints")}
    late_ids = {(c["source"], c["id"]) for late in truth["late_customers"] for c in late["complaints"]}
    true_orphans = [o for o in truth["orphans"] if (o["source"], o["id"]) not in late_ids]
    assert true_orphans
    for orphan in true_orphans:
        assert quarantine[(orphan["source"], orphan["id"])][:2] == (orphan["reason"], "open"), orphan
    assert truth["late_customers"]
    for late in truth["late_customers"]:
        for complaint in late["complaints"]:
            reason, status, resolved = quarantine[(complaint["source"], complaint["id"])]
            assert (reason, status, resolved.isoformat()) == ("missing_customer", "resolved", late["arrives_on"])
            key = ENTITIES[complaint["source"]].key
            loaded = query(conformance_dsn, sql.SQL("SELECT customer_id FROM {} WHERE {} = %s").format(
                sql.Identifier(complaint["source"]), sql.Identifier(key)), complaint["id"])
            assert loaded == [(late["customer_id"],)]
    ages = query(conformance_dsn, "SELECT max(times_seen) FROM orphaned_complaints WHERE status = 'open'")
    assert ages[0][0] >= 1


def test_every_lifecycle_transition_is_in_the_status_history(generated_run, conformance_dsn):
    settings, truth, results = generated_run
    history = {(r[0], r[1], r[2].isoformat()): r[3:] for r in query(
        conformance_dsn, "SELECT channel, complaint_id, observed_run_date, resolution_status, agent_id FROM complaint_status_history")}
    assert truth["transitions"]
    for seen in truth["transitions"]:
        assert history[(seen["source"], seen["id"], seen["date"])] == (seen["status"], int(seen["agent_id"])), seen
    for channel in ("call_logs", "sm_complaints", "web_complaints"):
        key = ENTITIES[channel].key
        lacking = query(conformance_dsn, sql.SQL(
            "SELECT count(*) FROM {} f LEFT JOIN customers c USING (customer_id) LEFT JOIN agents a USING (agent_id) "
            "WHERE c.customer_id IS NULL OR a.agent_id IS NULL OR f.{} IS NULL").format(sql.Identifier(channel), sql.Identifier(key)))
        assert lacking == [(0,)]


def test_rerunning_a_date_changes_nothing(spark, generated_run, conformance_dsn):
    settings, truth, results = generated_run
    lake_before = {name: silver_rows(spark, settings, name, LAKE_RUN_COLUMNS.get(name, ())) for name in LAKE_TABLES}
    gold_before = {name: gold_rows(spark, settings, name) for name in GOLD_TABLES}
    database_before = database_rows(conformance_dsn)
    last = dt.date.fromisoformat(truth["dates"][-1])
    again = pipeline.run(settings, last, spark=spark, progress=lambda _: None)
    missing = {(m["source"], m["date"]) for m in truth["missing_inputs"]}
    for outcome in again.bronze:
        assert outcome.status == (NOT_READY if (outcome.source, last.isoformat()) in missing else UNCHANGED), outcome
    assert {name: silver_rows(spark, settings, name, LAKE_RUN_COLUMNS.get(name, ())) for name in LAKE_TABLES} == lake_before
    assert {name: gold_rows(spark, settings, name) for name in GOLD_TABLES} == gold_before
    assert database_rows(conformance_dsn) == database_before
    assert query(conformance_dsn, "SELECT count(*) FROM pipeline_runs WHERE run_date = %s", last) == [(2,)]
    # Nothing in the lake changed, so the database already held every table at these versions.
    assert set(again.conformance.already_loaded) == set(staging_columns())
    assert sum(again.conformance.staged.values()) == 0
    # The re-run's summary says so on each source's line, and flags no equation.
    report = latest_report(settings, last)
    assert report["run_id"] == again.run_id
    summary = summary_text(report)
    assert "DOES NOT ADD UP" not in summary, summary
    assert [line.split()[0] for line in summary.splitlines() if "(already loaded from this lake version)" in line] == [
        outcome.source for outcome in again.bronze], summary


def test_failing_critical_expectation_stops_the_run_before_silver(spark, tmp_path, landing, source_dsn, conformance_dsn):  # noqa: F811
    """A call-log file whose every row lacks its customer is all rejected: the empty batch breaks a
    critical expectation, the run fails, and nothing beyond bronze is written."""
    settings = make_settings(tmp_path, source_dsn, **{"postgres.conformance_url": conformance_dsn})
    runs_before = query(conformance_dsn, "SELECT count(*) FROM pipeline_runs WHERE status = 'failed'")[0][0]
    write_csv(landing / "call logs" / "call_logs_day_2025-06-01.csv",
              [CALLS[0]] + [[*row[:2], "", *row[3:]] for row in CALLS[1:]])
    with pytest.raises(pipeline.RunFailed) as raised:
        pipeline.run(settings, dt.date(2025, 6, 1), spark=spark, progress=lambda _: None)
    failed = raised.value
    assert isinstance(failed.__cause__, CriticalExpectationFailed)
    assert "expect_table_row_count_to_be_between" in str(failed.__cause__)
    # One line names the step and the root cause; the trace is in a log beside the report.
    assert str(failed) == (f"run {failed.result.run_id} failed in silver: CriticalExpectationFailed: suite 'call_logs':"
                           f" 1 critical expectation(s) failed (results: {failed.__cause__.outcome.result_location}):")
    explained = failed.explained().splitlines()
    assert explained[0] == str(failed) and len(explained) == 3
    [trace] = (tmp_path / "runs").rglob("*.log")
    assert explained[1] == f"  full trace: {trace}" and explained[2].startswith("  report: ")
    assert trace.read_text().startswith("Traceback") and "CriticalExpectationFailed" in trace.read_text()
    assert not (tmp_path / "lake" / "silver").exists()
    report = json.loads(next((tmp_path / "runs").rglob("*.json")).read_text())
    assert report["status"] == "failed" and "CriticalExpectationFailed" in report["error"]
    assert report["trace_log"] == trace.name
    assert query(conformance_dsn, "SELECT count(*) FROM pipeline_runs WHERE status = 'failed'")[0][0] == runs_before + 1
