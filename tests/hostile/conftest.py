"""The runs the hostile tests share, each made once in the suite's one-JVM session:

- the reference: one generated day (scale 0.001) run once, without interruption, into a lake and a
  database of its own; the kill points and the standalone cluster compare with it, and it runs while
  their own runs go on in other processes;
- a bad day at the upstream (below): a refusal, an outage and hostile rows, in three runs of one day.
"""
from __future__ import annotations

import csv
import datetime as dt
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import psycopg2
import pytest
from psycopg2 import sql

from coretelecoms import pipeline
from coretelecoms.platform.postgres import CONFORMANCE_DB, EmbeddedPostgres, create_database
from coretelecoms.sources.catalog import WEB_FORMS_SCHEMA, web_forms_table
from coretelecoms_dev.generator import WEB_COLUMNS, GeneratorConfig, generate, publish
from tests.conftest import PROJECT_ROOT, make_settings, session_database

REFERENCE_DAY = dt.date(2025, 9, 17)  # no other test generates this date into the shared source database


@dataclass(frozen=True)
class ReferenceRun:
    lake: Path
    dsn: str


@pytest.fixture(scope="session")
def reference_landing(tmp_path_factory, source_dsn) -> Path:
    root = tmp_path_factory.mktemp("reference_landing")
    generate(GeneratorConfig(start_date=REFERENCE_DAY, days=1, scale=0.001, seed=37), root, source_dsn,
             progress=lambda _: None)
    publish(root, REFERENCE_DAY)
    return root


@pytest.fixture(scope="session")
def reference_dsn(embedded_pg):
    yield from session_database(embedded_pg, f"coretelecoms_test_reference_{os.getpid()}")


@pytest.fixture(scope="session")
def reference_run(tmp_path_factory, spark, reference_landing, source_dsn, reference_dsn) -> ReferenceRun:
    root = tmp_path_factory.mktemp("reference_run")
    settings = make_settings(root, source_dsn, **{"landing": str(reference_landing),
                                                  "postgres.conformance_url": reference_dsn})
    result = pipeline.run(settings, REFERENCE_DAY, spark=spark, progress=lambda _: None)
    assert (result.status, result.exit_code) == ("succeeded", 0), result.error
    return ReferenceRun(Path(settings.lake), reference_dsn)


# A bad day at the upstream, told in three runs of one generated day (scale 0.001) into a lake and a
# PostgreSQL server of its own; the refused-input, outage and row-defect tests each check one part of it.
#
# 1. The call-log file arrives cut inside a quoted field and the social-media file index-oriented:
#    both are refused, the other sources land and load (exit 4).
# 2. The upstream re-delivers both files well-formed, but with hostile rows in them and in the web-form
#    table; the database goes down when the run reaches [gold]: the load fails in one line.
# 3. With the database back, a re-run of the date loads every record; each hostile row is rejected or
#    repaired in dq_issues.
BAD_DAY = dt.date(2025, 10, 16)  # no other test generates this date into the shared source database
INJECTION = "'); DROP TABLE customers;--"
COUNTED_TABLES = ("customers", "agents", "call_logs", "sm_complaints", "web_complaints", "orphaned_complaints",
                  "pipeline_runs")


@dataclass(frozen=True)
class HostileRow:
    case: str
    row: list[str]
    expected: tuple[str, str, str]  # (field, rule, outcome) in dq_issues


@dataclass(frozen=True)
class BadDay:
    settings: object
    landing: Path
    dsn: str
    refused: pipeline.RunResult  # run 1
    after_refusal: dict[str, int]  # rows per table once run 1 ended
    outage: pipeline.RunFailed  # run 2
    outage_lines: list[str]  # what run 2 printed
    after_outage: dict[str, int]  # rows per table once the server was back after run 2
    rerun: pipeline.RunResult  # run 3
    hostile_calls: tuple[HostileRow, ...]  # appended to the call-log file before run 2, plus one undecodable row
    call_records: int  # records in the call-log file of runs 2 and 3 (Python's csv reader)


def real_id(prefix: str, customer: str, serial: int) -> str:
    """The sources' shape: 54 letters and digits around the customer's dashless UUID."""
    return f"{prefix}{serial:05d}K{customer.replace('-', '')}{'Q' * 13}"[:54]


def index_oriented(document: dict) -> dict:
    """A column-oriented JSON document ({column: {row: value}}) turned index-oriented ({row: {column: value}})."""
    rows = sorted({row for cells in document.values() for row in cells})
    return {row: {column: cells[row] for column, cells in document.items()} for row in rows}


def count(dsn: str, query: str | sql.Composable) -> int:
    """The one number a `SELECT count(*) ...` returns."""
    with psycopg2.connect(dsn) as connection, connection.cursor() as cursor:
        cursor.execute(query)
        return cursor.fetchone()[0]


def count_rows(dsn: str, table: str) -> int:
    return count(dsn, sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table)))


@pytest.fixture(scope="session")
def own_server():
    """A PostgreSQL server the test may stop (its data folder under var/test: the server runs as an
    unprivileged user, who cannot enter pytest's private temporary folders)."""
    server = EmbeddedPostgres(PROJECT_ROOT / "var" / "test" / f"outage-{os.getpid()}")
    shutil.rmtree(server.home, ignore_errors=True)
    server.start(progress=lambda _: None)
    yield server
    server.stop()
    shutil.rmtree(server.home, ignore_errors=True)


def add_hostile_rows(calls: Path, social: Path, source_dsn: str) -> tuple[HostileRow, ...]:
    """Rows no upstream should send, added to a well-formed day: ids of the wrong shape (an injection
    string, 5,000 characters, an emoji, a NUL, a byte that is not UTF-8, 100,000 characters) and dates
    outside 1900-2100."""
    with calls.open(newline="") as handle:
        first = list(csv.reader(handle))[1]
    customer, agent = first[2], first[4]

    def call(call_id: str, start: str = "2025-07-01 10:00:00", end: str = "2025-07-01 10:09:00") -> list[str]:
        return ["9000", call_id, customer, "Payments", agent, start, end, "Backlog", BAD_DAY.isoformat()]

    hostile_calls = (
        HostileRow("injection id", call(INJECTION), ("call_id", "invalid_id", "rejected")),
        HostileRow("5,000-character id", call("A" * 5000), ("call_id", "invalid_id", "rejected")),
        HostileRow("emoji in id", call(real_id("Emo", customer, 1)[:-1] + "\U0001F600"), ("call_id", "invalid_id", "rejected")),
        HostileRow("NUL in id", call(real_id("Nul", customer, 2)[:-1] + "\x00"), ("call_id", "invalid_id", "rejected")),
        HostileRow("year 0001", call(real_id("Old", customer, 3), start="0001-01-01 00:00:00"),
                   ("call_start_time", "out_of_range", "repaired")),
        HostileRow("year 9999", call(real_id("Far", customer, 4), end="9999-12-31 23:59:59"),
                   ("call_end_time", "out_of_range", "repaired")),
    )
    with calls.open("a", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows(hostile.row for hostile in hostile_calls)
    with calls.open("ab") as handle:  # a byte that is not UTF-8 inside an id
        handle.write(",".join(call(real_id("Byt", customer, 5)[:-1])).encode().replace(b"Byt0", b"Byt\xff0", 1) + b"\n")

    document = json.loads(social.read_text())
    extra = str(len(document["complaint_id"]))
    values = {"complaint_id": "x" * 100_000, "customeR iD": customer, "COMPLAINT_catego ry": "Payments",
              "agent ID": agent, "resolutionstatus": "Backlog", "request_date": "2025-07-01 10:00:00",
              "resolution_date": "", "media_channel": "Twitter", "MediaComplaintGenerationDate": BAD_DAY.isoformat()}
    for column, value in values.items():
        document[column][extra] = value
    social.write_text(json.dumps(document))

    web = {"Column1": "9000", "request_id": INJECTION, "customeR iD": customer, "COMPLAINT_catego ry": "Payments",
           "agent ID": agent, "resolutionstatus": "Backlog", "request_date": "2025-07-01 10:00:00",
           "resolution_date": "", "webFormGenerationDate": BAD_DAY.isoformat()}
    old_web = {**web, "Column1": "9001", "request_id": real_id("old", customer, 6), "request_date": "0001-01-01"}
    with psycopg2.connect(source_dsn) as connection, connection.cursor() as cursor:
        table = sql.Identifier(WEB_FORMS_SCHEMA, web_forms_table(BAD_DAY))
        insert = sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(
            table, sql.SQL(", ").join(map(sql.Identifier, WEB_COLUMNS)), sql.SQL(", ").join(sql.Placeholder() * len(WEB_COLUMNS)))
        cursor.executemany(insert, [[row[c] for c in WEB_COLUMNS] for row in (web, old_web)])
    return hostile_calls


@pytest.fixture(scope="session")
def bad_day(tmp_path_factory, spark, source_dsn, own_server) -> BadDay:
    root = tmp_path_factory.mktemp("bad_day")
    dsn = own_server.url(CONFORMANCE_DB)
    create_database(own_server.url("postgres"), CONFORMANCE_DB, drop_first=True)
    settings = make_settings(root, source_dsn, **{"postgres.conformance_url": dsn})
    landing = root / "landing"
    generate(GeneratorConfig(start_date=BAD_DAY, days=1, scale=0.001, seed=29), landing, source_dsn,
             progress=lambda _: None)
    publish(landing, BAD_DAY)
    [calls] = landing.rglob(f"call_logs_day_{BAD_DAY}.csv")
    [social] = landing.rglob(f"media_complaint_day_{BAD_DAY}.json")
    good_calls, good_social = calls.read_bytes(), social.read_bytes()

    def counts() -> dict[str, int]:
        return {table: count_rows(dsn, table) for table in COUNTED_TABLES}

    calls.write_bytes(good_calls + b'9999,"Mar0979K,cut short by a failed upload')
    social.write_text(json.dumps(index_oriented(json.loads(good_social))))
    refused = pipeline.run(settings, BAD_DAY, spark=spark, progress=lambda _: None)
    after_refusal = counts()

    calls.write_bytes(good_calls)
    social.write_bytes(good_social)
    hostile_calls = add_hostile_rows(calls, social, source_dsn)
    outage_lines: list[str] = []

    def progress(line: str) -> None:
        outage_lines.append(line)
        if line == "[gold]":
            own_server.stop()

    with pytest.raises(pipeline.RunFailed) as raised:
        pipeline.run(settings, BAD_DAY, spark=spark, progress=progress)
    own_server.start(progress=lambda _: None)
    after_outage = counts()

    rerun = pipeline.run(settings, BAD_DAY, spark=spark, progress=lambda _: None)
    with calls.open(newline="", encoding="utf-8", errors="replace") as handle:  # one hostile row is not UTF-8
        call_records = sum(1 for row in csv.reader(handle) if row) - 1
    return BadDay(settings, landing, dsn, refused, after_refusal, raised.value, outage_lines, after_outage, rerun,
                  hostile_calls, call_records)
