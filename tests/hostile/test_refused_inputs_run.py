"""A refused input costs that input, not the day: with the call-log file cut inside a quoted field and the
social-media file written index-oriented, a generated day still lands and loads its customers, agents and
web forms; the run ends `rejected_input` (exit code 4), its report says what to fix, and nothing of the two
refused inputs reaches the lake's silver tables or PostgreSQL. Once the files are re-delivered, a re-run of
the same date loads every record, each one accounted for against an independent count of the file.

The runs are the bad day of conftest.py (run 1 is refused; run 3 is the re-run that loads)."""
from __future__ import annotations

import json

from coretelecoms.platform import delta, lake
from coretelecoms.platform.tables import DQ_ISSUES
from coretelecoms.reporting.run_report import latest_report, summary_text
from tests.hostile.conftest import BAD_DAY as DAY
from tests.hostile.conftest import count, count_rows


def test_the_run_ends_rejected_input_and_names_each_refused_file(bad_day):
    refused = bad_day.refused
    assert (refused.status, refused.exit_code) == ("rejected_input", 4)
    by_source = {o.source: o for o in refused.bronze}
    assert {s: o.status for s, o in by_source.items()} == {
        "customers": "ingested", "agents": "ingested", "web_complaints": "ingested",
        "call_logs": "rejected_input", "sm_complaints": "rejected_input"}
    assert by_source["call_logs"].location.endswith(f"call_logs_day_{DAY}.csv")
    assert "the file ends inside a quoted field opened on line" in by_source["call_logs"].message
    assert by_source["sm_complaints"].message.startswith("index-oriented JSON")
    assert by_source["call_logs"].fix == "correct the input at its source, then re-run this date"


def test_the_report_says_what_to_fix(bad_day):
    refused = bad_day.refused
    html = open(refused.report_html[-1], encoding="utf-8").read()
    assert "Inputs refused (not landed; the other sources went on)" in html
    assert "To fix: correct the input at its source, then re-run this date" in html
    report = json.loads(open(refused.report_html[-1].removesuffix(".html") + ".json").read())
    assert report["status"] == "rejected_input"
    assert [o["source"] for o in report["bronze"] if o["status"] == "rejected_input"] == ["call_logs", "sm_complaints"]


def test_the_other_sources_loaded_and_the_refused_ones_did_not(bad_day):
    loaded = bad_day.after_refusal
    assert loaded["customers"] > 0 and loaded["agents"] > 0 and loaded["web_complaints"] > 0
    assert loaded["call_logs"] == loaded["sm_complaints"] == 0
    assert loaded["pipeline_runs"] == 1  # the refused run's audit row, status rejected_input


def test_the_redelivered_day_loads_every_call_record(spark, bad_day):
    """Rows in the file (Python's csv reader) = loaded + orphaned + rejected + collapsed duplicates."""
    rerun = bad_day.rerun
    assert (rerun.status, rerun.exit_code) == ("succeeded", 0)
    loaded = count_rows(bad_day.dsn, "call_logs")
    orphaned = count(bad_day.dsn, "SELECT count(*) FROM orphaned_complaints WHERE channel = 'call_logs'")
    issues = delta.snapshot(spark, lake.silver(bad_day.settings, DQ_ISSUES))
    rejected = issues.where("entity = 'call_logs' AND outcome = 'rejected'").select("_source_row").distinct().count()
    duplicates = rerun.quality["call_logs"].collapsed
    assert loaded > 0 and rejected > 0
    assert loaded + orphaned + rejected + duplicates == bad_day.call_records
    # Its summary (as `coretelecoms report` prints it) reconciles every source, those the refused run loaded included.
    report = latest_report(bad_day.settings, DAY)
    assert report["run_id"] == rerun.run_id
    assert "DOES NOT ADD UP" not in summary_text(report), summary_text(report)
