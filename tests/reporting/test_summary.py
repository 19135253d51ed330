"""The console summary of a run, as printed: the run page's first screen in a few lines."""
from __future__ import annotations

from coretelecoms.reporting.run_report import summary_text
from tests.reporting.test_html import FAILED, FULL, already_loaded


def test_a_succeeded_run_in_thirteen_lines():
    assert summary_text(FULL).splitlines() == [
        "run 2025-06-02_20261127T031500Z_ab12  date 2025-06-02  SUCCEEDED  took 1m 28s  started 2026-11-27 03:15:00 UTC",
        "  Succeeded: every input arrived and none was refused. Next: nothing to do.",
        "  source            landed =    clean + repaired + rejected +  dupl.      kept -  quar. +  repl. =   loaded",
        "  customers          1,200                                                                      =        0 (changed versions)"
        "  (unchanged: dimension unchanged since it was last processed)",
        "  agents                50 =       50 +        0 +        0 +      0        50                   =        3 (changed versions)",
        "  call_logs          3,800 =    3,782 +        7 +        1 +     10     3,789 -     19 +     24 =    3,794",
        "  sm_complaints        150 =      148 +        1 +        0 +      1       149 -      0 +      0 =      149",
        "  web_complaints       700 =      690 +        6 +        3 +      1       696 -      3 +      1 =      694",
        "  rejected by rule and field: web_complaints invalid_uuid customer_id 2, call_logs missing customer_id 1, "
        "web_complaints missing agent_id 1",
        "  open orphans 39 (oldest 12 days): call_logs 30 (missing_customer 20, missing_agent 8, both 2); "
        "sm_complaints 1 (missing_agent 1); web_complaints 8 (missing_customer 8)",
        "  expectations passed (critical, warning): customers 12/12 23/23, call_logs 14/14 20/21",
        "    FAILED call_logs warning expect_column_values_to_be_between(agent_id): 2 unexpected, e.g. 0, null",
        "  steps bronze 12.3s, silver 40.1s, conformance_lake 20.0s, gold 5.2s, features 2.4s, data_docs 3.1s, "
        "conformance_postgres 8.0s",
    ]


def test_a_row_that_does_not_add_up_says_so_on_its_line():
    report = {**FULL, "postgres_load": {**FULL["postgres_load"], "call_logs": {"inserted": 3753, "updated": 37}}}
    line = next(line for line in summary_text(report).splitlines() if line.startswith("  call_logs"))

    assert line.endswith("=    3,790  DOES NOT ADD UP: loaded 3,790 ≠ 3,794 = kept − quarantined + replayed")


def test_a_rerun_whose_rows_were_already_loaded_says_so_on_their_lines_and_adds_up():
    lines = summary_text(already_loaded(FULL, "agents", "call_logs", "sm_complaints", "web_complaints")).splitlines()
    by_source = {line.split()[0]: line for line in lines if line.startswith("  ") and not line.startswith("   ")}

    assert by_source["call_logs"].endswith("3,789 -     19 +     24 =        -  (already loaded from this lake version)")
    assert by_source["agents"].endswith("=        - (changed versions)  (already loaded from this lake version)")
    assert not any("DOES NOT ADD UP" in line for line in lines)


def test_rows_the_database_already_held_count_as_loaded():
    """A re-run after the rows' lake version changed stages them again: the database keeps them as they are."""
    report = {**FULL, "postgres_load": {**FULL["postgres_load"], "call_logs": {"inserted": 0, "updated": 0, "unchanged": 3794}}}
    line = next(line for line in summary_text(report).splitlines() if line.startswith("  call_logs"))

    assert line.endswith("3,789 -     19 +     24 =    3,794")


def test_a_not_ready_run_names_the_missing_input_and_says_why_nothing_was_loaded():
    bronze = [*FULL["bronze"][:3], {"source": "sm_complaints", "location": "s3://landing/social/2025-06-02.json",
                                    "status": "not_ready", "rows": None, "message": "no object at that key yet"}, FULL["bronze"][4]]
    quality = {entity: counts for entity, counts in FULL["quality"].items() if entity != "sm_complaints"}
    report = {**FULL, "status": "not_ready", "bronze": bronze, "quality": quality,
              "quality_skipped": {**FULL["quality_skipped"], "sm_complaints": "bronze input not_ready"},
              "postgres_load": None, "postgres_skipped": "no conformance database is configured (postgres.required is false)"}
    lines = summary_text(report).splitlines()

    assert lines[1].startswith("  Not ready: 1 input not there yet; every input that arrived was processed. Next: nothing to fix; "
                               "the same date is run again later (a scheduler reads exit code 3 as \"not yet\")")
    assert lines[2] == "  missing sm_complaints s3://landing/social/2025-06-02.json: no object at that key yet"
    assert "  sm_complaints          -" in [line[:26] for line in lines]
    assert next(line for line in lines if line.startswith("  sm_complaints")).endswith("(not_ready: bronze input not_ready)")
    assert "  PostgreSQL not loaded: no conformance database is configured (postgres.required is false)" in lines
    assert 10 <= len(lines) <= 20


def test_a_refused_input_is_named_with_its_fix():
    refused = {"source": "agents", "location": "agents sheet", "status": "rejected_input", "rows": 0,
               "message": "column `experience` is missing", "fix": "correct the input at its source, then re-run this date"}
    report = {**FULL, "status": "rejected_input", "bronze": [FULL["bronze"][0], refused, *FULL["bronze"][2:]]}

    assert ("  refused agents agents sheet: column `experience` is missing; to fix: correct the input at its source, "
            "then re-run this date") in summary_text(report).splitlines()


def test_a_failed_run_names_the_step_the_masked_error_and_the_trace():
    assert summary_text({**FAILED, "failed_stage": "silver", "trace_log": "2025-06-03_x.log"}).splitlines() == [
        "run 2025-06-03_x  date 2025-06-03  FAILED",
        "  Failed at step silver. Next: read the error and the full trace, fix the cause, then run the same date again.",
        "  error: ValueError: <script>alert(1)</script> bad email j***@***.com",
        "  full trace: 2025-06-03_x.log (beside the report)",
    ]
