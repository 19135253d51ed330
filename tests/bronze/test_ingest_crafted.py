"""Bronze on small hand-written inputs: exact values, lineage, names, idempotency, replacement."""
import csv
import datetime as dt
import json

import psycopg2
import pytest
from psycopg2 import sql

from coretelecoms.bronze.ingest import (
    INGESTED,
    NOT_READY,
    REJECTED_INPUT,
    REPLACED,
    UNCHANGED,
    RunContext,
    ingest,
    manifest_location,
    raw_columns,
)
from coretelecoms.platform.storage import spark_path
from coretelecoms.sources.catalog import complaint_inputs, dimension_inputs
from coretelecoms.platform import lake
from tests.conftest import make_settings

DAY = dt.date(2025, 6, 1)
CUSTOMERS = [
    ["customer_id", "name", "Gender", "DATE of biRTH", "signup_date", "email", "address"],
    ["d6966473-6fb0-4045-b33d-1f3b555e2762", "Brianna Schultz", "F", "1930-09-10", "2017-08-22",
     "2772brianna_schultz525@GmaiL.om", "317 Paul Turnpike\nDarrenland, NY 13297"],
    ["c3431b44-ebcd-4a36-ad0a-11a7cafbd0fd", "April Morgan", "F", "1969-12-05", "2017-12-08", "",
     "PSC 2383, Box 3666\nAPO AA 12094"],
    ["61f907ce-0bbe-477e-baa7-39b8b0698d0c", 'Angela "Angie" Taylor', "F", "1972-10-25", "2022-10-25",
     "c375angela.taylor60e@GmaiL.om", "26059 Carol Highway, Apt 2\nSmithhaven, MP 56739"],
]
CALLS = [
    ["", "call ID", "customeR iD", "COMPLAINT_catego ry", "agent ID", "call_start_time", "call_end_time",
     "resolutionstatus", "callLogsGenerationDate"],
    ["0", "Mar0979Kd6966473", "d6966473-6fb0-4045-b33d-1f3b555e2762", "Payments", "1035",
     "2025-03-07 18:40:43", "2025-03-07 18:52:43", "Blocked", "2025-06-01"],
    ["1", "Cor0979Kc3431b44", "c3431b44-ebcd-4a36-ad0a-11a7cafbd0fd", "Router Delivery", "1021",
     "2025-01-29 02:58:12", "", "In-Progress", "2025-06-01"],
]
SOCIAL = {
    "complaint_id": {"0": "dan8e7eX", "1": "jare853Q"},
    "customeR iD": {"0": "d6966473-6fb0-4045-b33d-1f3b555e2762", "1": "c3431b44-ebcd-4a36-ad0a-11a7cafbd0fd"},
    "COMPLAINT_catego ry": {"0": "Payments", "1": "Network Failure"},
    "agent ID": {"0": 1010, "1": "1018"},
    "resolutionstatus": {"0": "Resolved", "1": "Backlog"},
    "request_date": {"0": "2025-05-30 13:09:37", "1": "2025-07-19 00:59:00"},
    "resolution_date": {"0": "2025-06-01 10:00:00", "1": ""},
    "media_channel": {"0": "Instagram", "1": "Twitter"},
    "MediaComplaintGenerationDate": {"0": "2025-06-01", "1": "2025-06-01"},
}
WEB_COLUMNS = ["Column1", "request_id", "customeR iD", "COMPLAINT_catego ry", "agent ID", "resolutionstatus",
               "request_date", "resolution_date", "webFormGenerationDate"]
WEB_ROWS = [
    ["0", "nnc0ddcdX", "d6966473-6fb0-4045-b33d-1f3b555e2762", "Payments", "1071", "In-Progress",
     "2025-02-10 12:22:54", "", "2025-06-01"],
    ["1", "ondd3cddQ", "c3431b44-ebcd-4a36-ad0a-11a7cafbd0fd", "Router Delivery", "1004", "Resolved",
     "2025-03-30 22:14:24", "2025-04-12 12:52:24", "2025-06-01"],
    ["2", "dr3cdb3eX", "61f907ce-0bbe-477e-baa7-39b8b0698d0c", "Technician Support", "1035", "Backlog",
     "2025-09-21 03:33:58", "", "2025-06-01"],
]


def write_csv(path, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)


def create_web_table(dsn, table, rows, columns=WEB_COLUMNS):
    with psycopg2.connect(dsn) as connection, connection.cursor() as cursor:
        cursor.execute("CREATE SCHEMA IF NOT EXISTS customer_complaints")
        name = sql.Identifier("customer_complaints", table)
        cursor.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(name))
        cursor.execute(sql.SQL("CREATE TABLE {} ({})").format(
            name, sql.SQL(", ").join(sql.SQL("{} text").format(sql.Identifier(c)) for c in columns)))
        cursor.executemany(
            sql.SQL("INSERT INTO {} VALUES ({})").format(name, sql.SQL(", ").join(sql.Placeholder() * len(columns))),
            rows)


def drop_web_table(dsn, table):
    with psycopg2.connect(dsn) as connection, connection.cursor() as cursor:
        cursor.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier("customer_complaints", table)))


@pytest.fixture
def landing(tmp_path, source_dsn):
    root = tmp_path / "landing"
    write_csv(root / "customers" / "customers_dataset.csv", CUSTOMERS)
    write_csv(root / "agents" / "agents.csv", [["iD", "NamE", "experience", "state"], ["1035", "William Roman", "intern", "Utah"]])
    write_csv(root / "call logs" / "call_logs_day_2025-06-01.csv", CALLS)
    (root / "social_medias").mkdir()
    (root / "social_medias" / "media_complaint_day_2025-06-01.json").write_text(json.dumps(SOCIAL))
    create_web_table(source_dsn, "web_form_request_2025_06_01", WEB_ROWS)
    return root


def ingest_day(spark, settings, day=DAY, run_id="run-1", accept_shrink=False):
    context = RunContext(run_id, day, accept_shrink)
    return {i.source: ingest(spark, settings, i, context) for i in dimension_inputs(settings, day) + complaint_inputs(settings, day)}


def bronze_rows(spark, settings, source, columns):
    frame = spark.read.format("delta").load(spark_path(lake.bronze(settings, source)))
    return [tuple(row) for row in frame.orderBy("_source_row").select(*columns).collect()]


def test_every_source_lands_unchanged_with_lineage(spark, tmp_path, landing, source_dsn):
    settings = make_settings(tmp_path, source_dsn)
    outcomes = ingest_day(spark, settings)
    assert {s: (o.status, o.rows) for s, o in outcomes.items()} == {
        "customers": (INGESTED, 3), "agents": (INGESTED, 1), "call_logs": (INGESTED, 2),
        "sm_complaints": (INGESTED, 2), "web_complaints": (INGESTED, 3),
    }
    customers = bronze_rows(spark, settings, "customers", ["customer_id", "name", "email", "address", "_source_row"])
    assert customers == [(r[0], r[1], r[5], r[6], i) for i, r in enumerate(CUSTOMERS[1:])]
    assert raw_columns(spark, lake.bronze(settings, "call_logs")) == {
        "unnamed_0": "", "call_ID": "call ID", "customeR_iD": "customeR iD", "COMPLAINT_catego_ry": "COMPLAINT_catego ry",
        "agent_ID": "agent ID", "call_start_time": "call_start_time", "call_end_time": "call_end_time",
        "resolutionstatus": "resolutionstatus", "callLogsGenerationDate": "callLogsGenerationDate",
    }
    calls = bronze_rows(spark, settings, "call_logs", ["unnamed_0", "call_ID", "call_end_time", "_source"])
    location = str(landing / "call logs" / "call_logs_day_2025-06-01.csv")
    assert calls == [("0", "Mar0979Kd6966473", "2025-03-07 18:52:43", location), ("1", "Cor0979Kc3431b44", "", location)]
    social = bronze_rows(spark, settings, "sm_complaints", ["complaint_id", "agent_ID", "resolution_date", "media_channel"])
    assert social == [("dan8e7eX", "1010", "2025-06-01 10:00:00", "Instagram"), ("jare853Q", "1018", "", "Twitter")]
    web = bronze_rows(spark, settings, "web_complaints", ["Column1", "request_id", "resolution_date", "_source", "_run_id"])
    assert web == [(r[0], r[1], r[7], "customer_complaints.web_form_request_2025_06_01", "run-1") for r in WEB_ROWS]
    manifests = list((tmp_path / "lake" / "_manifests" / "bronze").rglob("*.json"))
    assert len(manifests) == 5
    manifest = json.loads(next(m for m in manifests if "call_logs" in str(m)).read_text())
    assert (manifest["rows"], manifest["status"], manifest["run_id"]) == (2, INGESTED, "run-1")
    assert manifest["size"] == (landing / "call logs" / "call_logs_day_2025-06-01.csv").stat().st_size


def test_reingesting_is_idempotent_and_a_changed_input_replaces_its_rows(spark, tmp_path, landing, source_dsn):
    settings = make_settings(tmp_path, source_dsn)
    ingest_day(spark, settings, run_id="run-1")
    again = ingest_day(spark, settings, run_id="run-2")
    assert {o.status for o in again.values()} == {UNCHANGED}
    assert len(bronze_rows(spark, settings, "web_complaints", ["request_id"])) == 3

    create_web_table(source_dsn, "web_form_request_2025_06_01", WEB_ROWS[:2])
    write_csv(landing / "customers" / "customers_dataset.csv", CUSTOMERS + [
        ["8b504dc4-8509-44c8-98a1-5923ecef28e2", "Dylan Lee", "M", "1998-01-30", "2016-11-16", "x@gmail.com", "1 A St\nB, LA 43286"]])
    changed = ingest_day(spark, settings, run_id="run-3")
    assert (changed["web_complaints"].status, changed["web_complaints"].rows) == (REPLACED, 2)
    assert (changed["customers"].status, changed["customers"].rows) == (REPLACED, 4)
    assert changed["call_logs"].status == UNCHANGED
    assert bronze_rows(spark, settings, "web_complaints", ["request_id", "_run_id"]) == [("nnc0ddcdX", "run-3"), ("ondd3cddQ", "run-3")]
    assert len(bronze_rows(spark, settings, "customers", ["customer_id"])) == 4


def test_an_empty_web_table_is_refused_and_lands_nothing(spark, tmp_path, landing, source_dsn):
    """A table with no rows is a structural defect: refused with its reason, recorded in its manifest."""
    settings = make_settings(tmp_path, source_dsn)
    empty_day = dt.date(2025, 6, 5)  # a table of its own: others expect none on 06-02
    create_web_table(source_dsn, "web_form_request_2025_06_05", [])
    try:
        [web] = [i for i in complaint_inputs(settings, empty_day) if i.source == "web_complaints"]
        outcome = ingest(spark, settings, web, RunContext("run-empty", empty_day))
    finally:
        drop_web_table(source_dsn, "web_form_request_2025_06_05")
    assert (outcome.status, outcome.rows) == (REJECTED_INPUT, 0)
    assert outcome.message == "no data rows: the input has a header and nothing else"
    manifest = json.loads(open(manifest_location(settings, outcome)).read())
    assert (manifest["status"], manifest["location"]) == (REJECTED_INPUT, "customer_complaints.web_form_request_2025_06_05")


def test_missing_daily_input_is_not_ready_and_the_rest_still_ingest(spark, tmp_path, landing, source_dsn):
    settings = make_settings(tmp_path, source_dsn)
    (landing / "social_medias" / "media_complaint_day_2025-06-01.json").unlink()
    outcomes = ingest_day(spark, settings)
    assert outcomes["sm_complaints"].status == NOT_READY
    assert "media_complaint_day_2025-06-01.json does not exist yet" in outcomes["sm_complaints"].message
    assert {s: o.status for s, o in outcomes.items() if s != "sm_complaints"} == dict.fromkeys(
        ["customers", "agents", "call_logs", "web_complaints"], INGESTED)
    later = ingest_day(spark, settings, day=dt.date(2025, 6, 2))
    assert later["web_complaints"].status == NOT_READY  # no table for that day
    assert "web_form_request_2025_06_02 does not exist yet" in later["web_complaints"].message


def test_dimension_is_one_object_across_run_dates(spark, tmp_path, landing, source_dsn):
    """The customers object is overwritten upstream: a newer copy replaces the older one whatever the
    run date, and an unchanged agents sheet read on a later date is not landed again."""
    settings = make_settings(tmp_path, source_dsn)
    ingest_day(spark, settings, day=DAY)
    write_csv(landing / "customers" / "customers_dataset.csv", CUSTOMERS[:2])
    later = ingest_day(spark, settings, day=DAY + dt.timedelta(days=1), run_id="run-2", accept_shrink=True)
    assert (later["customers"].status, later["customers"].rows) == (REPLACED, 1)
    assert (later["agents"].status, later["agents"].rows) == (UNCHANGED, 1)
    assert bronze_rows(spark, settings, "customers", ["customer_id", "_run_id"]) == [(CUSTOMERS[1][0], "run-2")]
    assert len(bronze_rows(spark, settings, "agents", ["iD"])) == 1
