"""Row defects cost their row: one generated day with hostile rows added to its call logs, social-media
file and web-form table still loads; each hostile row is rejected or repaired in `dq_issues` with its
rule, field and a bounded original value, and every input row is accounted for."""
from __future__ import annotations

import csv
import datetime as dt
import json
import os

import psycopg2
import pytest
from psycopg2 import sql

from coretelecoms import pipeline
from coretelecoms.platform import delta, lake
from coretelecoms.platform.tables import DQ_ISSUES
from coretelecoms.sources.catalog import WEB_FORMS_SCHEMA, web_forms_table
from coretelecoms_dev.generator import WEB_COLUMNS, GeneratorConfig, generate, publish
from tests.conftest import make_settings, session_database

DAY = dt.date(2025, 10, 15)  # no other test generates this date into the shared source database
INJECTION = "'); DROP TABLE customers;--"


def real_id(prefix: str, customer: str, serial: int) -> str:
    """The sources' shape: 54 letters and digits around the customer's dashless UUID."""
    return f"{prefix}{serial:05d}K{customer.replace('-', '')}{'Q' * 13}"[:54]


@pytest.fixture(scope="module")
def hostile_dsn(embedded_pg):
    yield from session_database(embedded_pg, f"coretelecoms_test_hostile_{os.getpid()}")


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory, spark, source_dsn, hostile_dsn):
    root = tmp_path_factory.mktemp("hostile")
    settings = make_settings(root, source_dsn, **{"postgres.conformance_url": hostile_dsn})
    generate(GeneratorConfig(start_date=DAY, days=1, scale=0.001, seed=23), root / "landing", source_dsn,
             progress=lambda _: None)
    publish(root / "landing", DAY)
    [calls] = (root / "landing").rglob(f"call_logs_day_{DAY}.csv")
    [social] = (root / "landing").rglob(f"media_complaint_day_{DAY}.json")
    with calls.open(newline="") as handle:
        rows = list(csv.reader(handle))
    first = rows[1]
    customer, agent = first[2], first[4]

    def call(call_id: str, start: str = "2025-07-01 10:00:00", end: str = "2025-07-01 10:09:00") -> list[str]:
        return ["9000", call_id, customer, "Payments", agent, start, end, "Backlog", DAY.isoformat()]

    hostile_calls = {  # case -> (row, expected (field, rule, outcome))
        "injection id": (call(INJECTION), ("call_id", "invalid_id", "rejected")),
        "5,000-character id": (call("A" * 5000), ("call_id", "invalid_id", "rejected")),
        "emoji in id": (call(real_id("Emo", customer, 1)[:-1] + "\U0001F600"), ("call_id", "invalid_id", "rejected")),
        "NUL in id": (call(real_id("Nul", customer, 2)[:-1] + "\x00"), ("call_id", "invalid_id", "rejected")),
        "year 0001": (call(real_id("Old", customer, 3), start="0001-01-01 00:00:00"),
                      ("call_start_time", "out_of_range", "repaired")),
        "year 9999": (call(real_id("Far", customer, 4), end="9999-12-31 23:59:59"),
                      ("call_end_time", "out_of_range", "repaired")),
    }
    with calls.open("a", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows(row for row, _ in hostile_calls.values())
    with calls.open("ab") as handle:  # a byte that is not UTF-8 inside an id
        handle.write(",".join(call(real_id("Byt", customer, 5)[:-1])).encode().replace(b"Byt0", b"Byt\xff0", 1) + b"\n")

    document = json.loads(social.read_text())
    extra = str(len(document["complaint_id"]))
    values = {"complaint_id": "x" * 100_000, "customeR iD": customer, "COMPLAINT_catego ry": "Payments",
              "agent ID": agent, "resolutionstatus": "Backlog", "request_date": "2025-07-01 10:00:00",
              "resolution_date": "", "media_channel": "Twitter", "MediaComplaintGenerationDate": DAY.isoformat()}
    for column, value in values.items():
        document[column][extra] = value
    social.write_text(json.dumps(document))

    web = {"Column1": "9000", "request_id": INJECTION, "customeR iD": customer, "COMPLAINT_catego ry": "Payments",
           "agent ID": agent, "resolutionstatus": "Backlog", "request_date": "2025-07-01 10:00:00",
           "resolution_date": "", "webFormGenerationDate": DAY.isoformat()}
    old_web = {**web, "Column1": "9001", "request_id": real_id("old", customer, 6), "request_date": "0001-01-01"}
    with psycopg2.connect(source_dsn) as connection, connection.cursor() as cursor:
        table = sql.Identifier(WEB_FORMS_SCHEMA, web_forms_table(DAY))
        insert = sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(
            table, sql.SQL(", ").join(map(sql.Identifier, WEB_COLUMNS)), sql.SQL(", ").join(sql.Placeholder() * len(WEB_COLUMNS)))
        cursor.executemany(insert, [[row[c] for c in WEB_COLUMNS] for row in (web, old_web)])
    result = pipeline.run(settings, DAY, spark=spark, progress=lambda _: None)
    return settings, result, len(rows) - 1 + len(hostile_calls) + 1


def issues(spark, settings):
    return [row.asDict() for row in delta.snapshot(spark, lake.silver(settings, DQ_ISSUES)).collect()]


def test_the_day_loads_despite_every_hostile_row(hostile_run, hostile_dsn):
    _, result, _ = hostile_run
    assert result.status == "succeeded", result.error
    with psycopg2.connect(hostile_dsn) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT left(call_id, 3), call_start_time, call_end_time FROM call_logs "
                       "WHERE call_id LIKE 'Old%' OR call_id LIKE 'Far%' ORDER BY 1")
        (far, far_start, far_end), (old, old_start, old_end) = cursor.fetchall()  # repaired rows load
        assert (far, old) == ("Far", "Old")
        assert far_end is None and far_start is not None  # only the far timestamp is nulled
        assert old_start is None and old_end is not None
        cursor.execute("SELECT count(*) FROM customers")
        assert cursor.fetchone()[0] > 0


def test_each_hostile_row_is_in_dq_issues_with_rule_field_and_a_bounded_value(spark, hostile_run):
    settings, _, _ = hostile_run
    recorded = issues(spark, settings)
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


def test_every_input_row_is_accounted_for(hostile_run):
    """Call-log rows in the file (counted by Python's csv reader) = kept + rejected + collapsed."""
    _, result, call_rows = hostile_run
    accounting = result.quality["call_logs"]  # Accounting.check() holds rows_in = kept + rejected + collapsed
    assert accounting.rows_in == call_rows
