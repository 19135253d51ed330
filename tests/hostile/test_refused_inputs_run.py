"""A refused input costs that input, not the day: with the call-log file cut inside a quoted field and the
social-media file written index-oriented, a generated day still lands and loads its customers, agents and
web forms; the run ends `rejected_input` (exit code 4), its report says what to fix, and nothing of the two
refused inputs reaches the lake's silver tables or PostgreSQL. With the files corrected, a re-run of the
same date loads every record, each one accounted for against an independent count of the file."""
from __future__ import annotations

import csv
import datetime as dt
import json
import os

import psycopg2
import pytest

from coretelecoms import pipeline
from coretelecoms.platform import delta, lake
from coretelecoms.platform.tables import DQ_ISSUES
from coretelecoms_dev.generator import GeneratorConfig, generate, publish
from tests.conftest import make_settings, session_database
from tests.hostile.test_input_defects import index_oriented

DAY = dt.date(2025, 10, 16)  # no other test generates this date into the shared source database


@pytest.fixture(scope="module")
def refused_dsn(embedded_pg):
    yield from session_database(embedded_pg, f"coretelecoms_test_refused_{os.getpid()}")


def count(dsn: str, query: str) -> int:
    with psycopg2.connect(dsn) as connection, connection.cursor() as cursor:
        cursor.execute(query)
        return cursor.fetchone()[0]


@pytest.fixture(scope="module")
def day(tmp_path_factory, spark, source_dsn, refused_dsn):
    root = tmp_path_factory.mktemp("refused")
    settings = make_settings(root, source_dsn, **{"postgres.conformance_url": refused_dsn})
    generate(GeneratorConfig(start_date=DAY, days=1, scale=0.001, seed=29), root / "landing", source_dsn,
             progress=lambda _: None)
    publish(root / "landing", DAY)
    [calls] = (root / "landing").rglob(f"call_logs_day_{DAY}.csv")
    [social] = (root / "landing").rglob(f"media_complaint_day_{DAY}.json")
    good_calls, good_social = calls.read_bytes(), social.read_bytes()
    calls.write_bytes(good_calls + b'9999,"Mar0979K,cut short by a failed upload')
    social.write_text(json.dumps(index_oriented(json.loads(good_social))))
    refused = pipeline.run(settings, DAY, spark=spark, progress=lambda _: None)
    state_after_refusal = {
        table: count(refused_dsn, f"SELECT count(*) FROM {table}")
        for table in ("customers", "agents", "call_logs", "sm_complaints", "web_complaints", "orphaned_complaints")}
    calls.write_bytes(good_calls)
    social.write_bytes(good_social)
    rerun = pipeline.run(settings, DAY, spark=spark, progress=lambda _: None)
    with calls.open(newline="") as handle:
        call_records = sum(1 for row in csv.reader(handle) if row) - 1
    return settings, refused, state_after_refusal, rerun, call_records


def test_the_run_ends_rejected_input_and_names_each_refused_file(day):
    _, refused, _, _, _ = day
    assert (refused.status, refused.exit_code) == ("rejected_input", 4)
    by_source = {o.source: o for o in refused.bronze}
    assert {s: o.status for s, o in by_source.items()} == {
        "customers": "ingested", "agents": "ingested", "web_complaints": "ingested",
        "call_logs": "rejected_input", "sm_complaints": "rejected_input"}
    assert by_source["call_logs"].location.endswith(f"call_logs_day_{DAY}.csv")
    assert "the file ends inside a quoted field opened on line" in by_source["call_logs"].message
    assert by_source["sm_complaints"].message.startswith("index-oriented JSON")
    assert by_source["call_logs"].fix == "correct the input at its source, then re-run this date"


def test_the_report_says_what_to_fix(day):
    _, refused, _, _, _ = day
    html = open(refused.report_html[-1], encoding="utf-8").read()
    assert "Inputs refused (not landed; the other sources went on)" in html
    assert "To fix: correct the input at its source, then re-run this date" in html
    report = json.loads(open(refused.report_html[-1].removesuffix(".html") + ".json").read())
    assert report["status"] == "rejected_input"
    assert [o["source"] for o in report["bronze"] if o["status"] == "rejected_input"] == ["call_logs", "sm_complaints"]


def test_the_other_sources_loaded_and_the_refused_ones_did_not(day):
    _, _, loaded, _, _ = day
    assert loaded["customers"] > 0 and loaded["agents"] > 0 and loaded["web_complaints"] > 0
    assert loaded["call_logs"] == loaded["sm_complaints"] == 0
    assert count(day[0].postgres.conformance_url, "SELECT count(*) FROM pipeline_runs WHERE status = 'rejected_input'") == 1


def test_the_corrected_rerun_loads_every_call_record(spark, day):
    settings, _, _, rerun, call_records = day
    assert (rerun.status, rerun.exit_code) == ("succeeded", 0)
    dsn = settings.postgres.conformance_url
    loaded = count(dsn, f"SELECT count(*) FROM call_logs WHERE call_logs_generation_date = DATE '{DAY}'")
    orphaned = count(dsn, "SELECT count(*) FROM orphaned_complaints WHERE channel = 'call_logs'")
    issues = delta.snapshot(spark, lake.silver(settings, DQ_ISSUES))
    rejected = issues.where("entity = 'call_logs' AND outcome = 'rejected'").select("_source_row").distinct().count()
    duplicates = rerun.quality["call_logs"].collapsed
    assert loaded > 0
    assert loaded + orphaned + rejected + duplicates == call_records
