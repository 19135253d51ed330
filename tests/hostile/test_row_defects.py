"""Row defects cost their row: a day whose call logs, social-media file and web-form table carry hostile
rows still loads; each hostile row is rejected or repaired in `dq_issues` with its rule, field and a
bounded original value, and every input row is accounted for.

The day is the bad day of conftest.py: the hostile rows arrive with the re-delivered files (runs 2 and 3),
and run 3 is the one that loads."""
from __future__ import annotations

import psycopg2

from coretelecoms.platform import delta, lake
from coretelecoms.platform.tables import DQ_ISSUES
from tests.hostile.conftest import INJECTION


def issues(spark, settings):
    return [row.asDict() for row in delta.snapshot(spark, lake.silver(settings, DQ_ISSUES)).collect()]


def test_the_day_loads_despite_every_hostile_row(bad_day):
    assert bad_day.rerun.status == "succeeded", bad_day.rerun.error
    with psycopg2.connect(bad_day.dsn) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT left(call_id, 3), call_start_time, call_end_time FROM call_logs "
                       "WHERE call_id LIKE 'Old%' OR call_id LIKE 'Far%' ORDER BY 1")
        (far, far_start, far_end), (old, old_start, old_end) = cursor.fetchall()  # repaired rows load
        assert (far, old) == ("Far", "Old")
        assert far_end is None and far_start is not None  # only the far timestamp is nulled
        assert old_start is None and old_end is not None
        cursor.execute("SELECT count(*) FROM customers")
        assert cursor.fetchone()[0] > 0


def test_each_hostile_row_is_in_dq_issues_with_rule_field_and_a_bounded_value(spark, bad_day):
    recorded = issues(spark, bad_day.settings)
    rejected_ids = [row for row in recorded if row["rule"] == "invalid_id"]
    assert {row["outcome"] for row in rejected_ids} == {"rejected"}  # a malformed id costs its row
    assert {(r["entity"], r["field"]) for r in rejected_ids} == {
        ("call_logs", "call_id"), ("sm_complaints", "complaint_id"), ("web_complaints", "request_id")}
    assert {(r["entity"], r["original_value"][:6]) for r in rejected_ids} >= {
        ("call_logs", INJECTION[:6]), ("call_logs", "AAAAAA"), ("sm_complaints", "xxxxxx"), ("web_complaints", INJECTION[:6])}
    assert sum(r["entity"] == "call_logs" for r in rejected_ids) == 5  # injection, 5,000 chars, emoji, NUL, bad byte
    assert all(len(r["original_value"]) <= 200 and len(r["record"]) < 2_000 for r in rejected_ids)
    assert {(r["entity"], r["field"], r["outcome"]) for r in recorded if r["rule"] == "out_of_range"} == {
        ("call_logs", "call_start_time", "repaired"), ("call_logs", "call_end_time", "repaired"),
        ("web_complaints", "request_date", "repaired")}  # a date outside 1900-2100 is nulled, the row kept
    call_issues = {(r["field"], r["rule"], r["outcome"]) for r in recorded if r["entity"] == "call_logs"}
    assert {hostile.expected for hostile in bad_day.hostile_calls} <= call_issues


def test_every_input_row_is_accounted_for(bad_day):
    """Call-log rows in the file (counted by Python's csv reader) = kept + rejected + collapsed."""
    accounting = bad_day.rerun.quality["call_logs"]  # Accounting.check() holds rows_in = kept + rejected + collapsed
    assert accounting.rows_in == bad_day.call_records
