"""The source generator: raw layouts exactly as the real feeds, and a ground truth that matches the files."""
from __future__ import annotations

import csv
import datetime as dt
import json
import re
from contextlib import closing
from pathlib import Path

import psycopg2
import pytest
from psycopg2 import sql

from coretelecoms_dev.generator import (
    AGENT_COLUMNS,
    CALL_LOG_COLUMNS,
    CUSTOMER_COLUMNS,
    SM_COLUMNS,
    WEB_COLUMNS,
    GeneratorConfig,
    Hazards,
    generate,
    publish,
)

# Three days over a leap day, dates no other test uses for web-form tables; more malformed and
# duplicated rows than by default so that every kind shows up at this small scale.
CONFIG = GeneratorConfig(start_date=dt.date(2024, 2, 27), days=3, scale=0.002, seed=11,
                         hazards=Hazards(malformed=0.05, duplicate_row=0.01))
ID_COLUMN = {"call_logs": "call ID", "sm_complaints": "complaint_id", "web_complaints": "request_id"}
STATUSES = {"Resolved", "In-Progress", "Backlog", "Blocked"}
CATEGORIES = {"Technician Support", "Payments", "Router Delivery", "Network Failure"}
MILITARY = re.compile(r"^(PSC \d{4}, Box \d{4}\nAPO|Unit \d{4} Box \d{4}\nDPO|US\w+ \w+\nFPO) A[AEP] \d{5}$")


@pytest.fixture(scope="module")
def landing(tmp_path_factory, source_dsn) -> Path:
    root = tmp_path_factory.mktemp("generated")
    generate(CONFIG, root, source_dsn, progress=lambda _: None)
    return root


@pytest.fixture(scope="module")
def truth(landing) -> dict:
    return json.loads((landing / "ground_truth.json").read_text())


def read_csv(path: Path) -> tuple[list[str], list[list[str]]]:
    with open(path, newline="", encoding="utf-8") as handle:
        header, *rows = list(csv.reader(handle))
    return header, rows


def read_web_table(dsn: str, table: str) -> tuple[list[str], list[list[str]]]:
    schema, name = table.split(".")
    with closing(psycopg2.connect(dsn)) as conn, conn.cursor() as cur:
        cur.execute(sql.SQL('SELECT * FROM {} ORDER BY "Column1"::int').format(sql.Identifier(schema, name)))
        return [column.name for column in cur.description], [list(row) for row in cur.fetchall()]


def read_input(landing: Path, dsn: str, source: str, location: str) -> tuple[list[str], list[list[str]]]:
    """Header and data rows of one input, as the raw strings; leaked index columns included."""
    if source == "web_complaints":
        return read_web_table(dsn, location)
    if source == "sm_complaints":
        document = json.loads((landing / location).read_text())
        keys = sorted(document[SM_COLUMNS[0]], key=int)
        return list(document), [[document[column][key] for column in document] for key in keys]
    return read_csv(landing / location)


def complaint_inputs(truth: dict) -> list[dict]:
    return [entry for entry in truth["inputs"] if not entry["missing"]]


def test_raw_headers_are_exactly_the_real_ones(landing, truth, source_dsn):
    assert read_csv(landing / "customers/customers_dataset.csv")[0] == CUSTOMER_COLUMNS
    assert read_csv(landing / "agents/agents.csv")[0] == AGENT_COLUMNS
    for entry in complaint_inputs(truth):
        header, _ = read_input(landing, source_dsn, entry["source"], entry["location"])
        expected = {"call_logs": [""] + CALL_LOG_COLUMNS, "sm_complaints": SM_COLUMNS, "web_complaints": WEB_COLUMNS}
        assert header == expected[entry["source"]], entry
    first_call_log = next(e for e in truth["inputs"] if e["source"] == "call_logs" and not e["missing"])
    first_line = (landing / first_call_log["location"]).read_text().split("\n", 1)[0]
    assert first_line == ",call ID,customeR iD,COMPLAINT_catego ry,agent ID,call_start_time,call_end_time," \
                         "resolutionstatus,callLogsGenerationDate"


def test_web_form_tables_are_all_text(truth, source_dsn):
    web = [e for e in complaint_inputs(truth) if e["source"] == "web_complaints"]
    with closing(psycopg2.connect(source_dsn)) as conn, conn.cursor() as cur:
        for entry in web:
            schema, table = entry["location"].split(".")
            cur.execute("SELECT column_name, data_type FROM information_schema.columns "
                        "WHERE table_schema = %s AND table_name = %s ORDER BY ordinal_position", (schema, table))
            columns = cur.fetchall()
            assert [name for name, _ in columns] == WEB_COLUMNS
            assert {kind for _, kind in columns} == {"text"}
            cur.execute(sql.SQL("SELECT count(*) FROM {} WHERE resolution_date IS NULL")
                        .format(sql.Identifier(schema, table)))
            assert cur.fetchone()[0] == 0  # open requests hold '' like the source, not NULL


def test_leaked_indexes_restart_in_every_input(landing, truth, source_dsn):
    for entry in complaint_inputs(truth):
        header, rows = read_input(landing, source_dsn, entry["source"], entry["location"])
        if entry["source"] != "sm_complaints":
            assert [row[0] for row in rows] == [str(i) for i in range(len(rows))]


def test_social_media_is_one_column_oriented_document(landing, truth):
    malformed = {(m["date"], str(m["row"])) for m in truth["malformed"] if m["source"] == "sm_complaints"}
    for entry in complaint_inputs(truth):
        if entry["source"] != "sm_complaints":
            continue
        document = json.loads((landing / entry["location"]).read_text())  # one document, not JSON Lines
        assert list(document) == SM_COLUMNS
        keys = [str(i) for i in range(entry["rows"])]
        for column in SM_COLUMNS:
            assert list(document[column]) == keys
            assert all(isinstance(value, str) for value in document[column].values())
        clean = [key for key in keys if (entry["date"], key) not in malformed]
        for key in clean:
            request, resolution = document["request_date"][key], document["resolution_date"][key]
            if document["resolutionstatus"][key] == "Resolved":
                assert resolution >= request
            else:
                assert resolution == ""


def test_addresses_survive_a_csv_round_trip(landing, truth):
    header, rows = read_csv(landing / "customers/customers_dataset.csv")
    addresses = [row[header.index("address")] for row in rows]
    assert len(rows) == truth["counts"]["customers"][CONFIG.start_date.isoformat()]
    assert all("\n" in address for address in addresses)
    military = [address for address in addresses if MILITARY.match(address)]
    assert 0.10 < len(military) / len(addresses) < 0.20
    assert all(re.match(r"^\d{3,5} .+\n.+, [A-Z]{2} \d{5}$", a) for a in addresses if a not in military)


def test_same_seed_gives_identical_files_and_tables(landing, truth, tmp_path, source_dsn):
    web = [e["location"] for e in complaint_inputs(truth) if e["source"] == "web_complaints"]
    tables_before = [read_web_table(source_dsn, table) for table in web]
    again = tmp_path / "again"
    generate(CONFIG, again, source_dsn, progress=lambda _: None)
    files = sorted(p.relative_to(landing) for p in landing.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(again) for p in again.rglob("*") if p.is_file())
    for name in files:
        assert (landing / name).read_bytes() == (again / name).read_bytes(), name
    assert [read_web_table(source_dsn, table) for table in web] == tables_before


def test_ground_truth_counts_equal_actual_rows(landing, truth, source_dsn):
    assert truth["dates"] == [d.isoformat() for d in CONFIG.dates]
    for entry in complaint_inputs(truth):
        _, rows = read_input(landing, source_dsn, entry["source"], entry["location"])
        assert len(rows) == entry["rows"] == truth["counts"][entry["source"]][entry["date"]]
    for version in truth["customer_versions"]:
        header, rows = read_csv(landing / version["location"])
        assert len(rows) == version["rows"] == truth["counts"]["customers"][version["date"]]
        ids = [row[0] for row in rows]
        assert set(version["added"]) <= set(ids) and set(version["updated"]) <= set(ids)
    assert len(read_csv(landing / "agents/agents.csv")[1]) == truth["counts"]["agents"] == 100
    sheet = json.loads((landing / "agents/agents_sheet.json").read_text())
    values = sheet["worksheets"][0]["values"]
    assert values[0] == AGENT_COLUMNS and [row[0] for row in values[1:]] == [str(i) for i in range(1000, 1100)]


def test_exactly_one_input_is_missing_and_not_on_day_one(landing, truth, source_dsn):
    assert len(truth["missing_inputs"]) == 1
    missing = truth["missing_inputs"][0]
    assert missing["date"] != truth["dates"][0]
    entry = next(e for e in truth["inputs"] if e["missing"])
    assert (entry["source"], entry["date"]) == (missing["source"], missing["date"])
    assert truth["counts"][missing["source"]][missing["date"]] is None
    if missing["source"] == "web_complaints":
        with pytest.raises(psycopg2.errors.UndefinedTable):
            read_web_table(source_dsn, entry["location"])
    else:
        assert not (landing / entry["location"]).exists()


def test_ids_embed_the_customer_uuid_and_are_unique(landing, truth, source_dsn):
    empty_customer = {(m["source"], m["date"], m["row"]) for m in truth["malformed"] if m["kind"] == "empty"}
    duplicated = {(d["source"], d["date"], d["id"]): d["copies"] for d in truth["duplicates"]}
    seen: dict[str, tuple[str, str]] = {}
    for entry in complaint_inputs(truth):
        header, rows = read_input(landing, source_dsn, entry["source"], entry["location"])
        id_at, customer_at = header.index(ID_COLUMN[entry["source"]]), header.index("customeR iD")
        counts: dict[str, int] = {}
        for position, row in enumerate(rows):
            complaint_id = row[id_at]
            assert 50 <= len(complaint_id) <= 56
            counts[complaint_id] = counts.get(complaint_id, 0) + 1
            if (entry["source"], entry["date"], position) not in empty_customer:
                assert row[customer_at].replace("-", "") in complaint_id
        for complaint_id, count in counts.items():
            assert count == duplicated.get((entry["source"], entry["date"], complaint_id), 1)
            # An id seen on an earlier day is the same complaint coming back, in the same channel.
            assert seen.setdefault(complaint_id, (entry["source"], entry["date"]))[0] == entry["source"]


def test_every_malformed_entry_is_in_the_file(landing, truth, source_dsn):
    locations = {(e["source"], e["date"]): e["location"] for e in complaint_inputs(truth)}
    locations.update({("customers", v["date"]): v["location"] for v in truth["customer_versions"]})
    assert {m["kind"] for m in truth["malformed"]} <= {
        "bad_email", "bad_date", "empty", "unknown_enum", "bad_timestamp", "end_before_start",
        "resolution_before_request"}
    assert {m["source"] for m in truth["malformed"]} == {"customers", "call_logs", "sm_complaints", "web_complaints"}
    cache: dict = {}
    for entry in truth["malformed"]:
        key = (entry["source"], entry["date"])
        if key not in cache:
            cache[key] = read_input(landing, source_dsn, entry["source"], locations[key])
        header, rows = cache[key]
        row = rows[entry["row"]]
        assert row[header.index(entry["column"])] == entry["value"], entry
        id_column = "customer_id" if entry["source"] == "customers" else ID_COLUMN[entry["source"]]
        assert row[header.index(id_column)] == entry["id"]
        if entry["kind"] == "end_before_start":
            assert entry["value"] < row[header.index("call_start_time")]


def test_clean_rows_use_the_known_enumerations(landing, truth, source_dsn):
    malformed = {(m["source"], m["date"], m["row"]) for m in truth["malformed"]}
    for entry in complaint_inputs(truth):
        header, rows = read_input(landing, source_dsn, entry["source"], entry["location"])
        clean = [row for i, row in enumerate(rows) if (entry["source"], entry["date"], i) not in malformed]
        assert {row[header.index("resolutionstatus")] for row in clean} <= STATUSES
        assert {row[header.index("COMPLAINT_catego ry")] for row in clean} <= CATEGORIES
        assert {row[-1] for row in rows} == {entry["date"]}  # the generation date is the last column


def test_orphans_point_at_parents_that_never_exist(landing, truth):
    assert truth["orphans"]
    _, last_rows = read_csv(landing / truth["customer_versions"][-1]["location"])
    every_customer = {row[0] for row in last_rows}
    for orphan in truth["orphans"]:
        agent_missing = not 1000 <= int(orphan["agent_id"]) <= 1099
        customer_missing = orphan["customer_id"] not in every_customer
        expected = {(True, False): "missing_customer", (False, True): "missing_agent", (True, True): "both"}
        assert expected[(customer_missing, agent_missing)] == orphan["reason"]


def test_late_customers_arrive_in_a_newer_customers_file(landing, truth):
    assert truth["late_customers"]
    versions = {v["date"]: {row[0] for row in read_csv(landing / v["location"])[1]} for v in truth["customer_versions"]}
    for late in truth["late_customers"]:
        complaint_date = late["complaints"][0]["date"]
        days_late = (dt.date.fromisoformat(late["arrives_on"]) - dt.date.fromisoformat(complaint_date)).days
        assert days_late in (1, 2)
        current_then = max(d for d in versions if d <= complaint_date)
        assert late["customer_id"] not in versions[current_then]
        assert late["customer_id"] in versions[late["arrives_on"]]


def test_transitions_move_forward_in_one_channel(truth):
    order = {"Backlog": 0, "In-Progress": 1, "Blocked": 2, "Resolved": 3}
    by_complaint: dict[tuple[str, str], list[dict]] = {}
    for observation in truth["transitions"]:
        by_complaint.setdefault((observation["source"], observation["id"]), []).append(observation)
    assert by_complaint
    for observations in by_complaint.values():
        assert len(observations) >= 2
        dates = [o["date"] for o in observations]
        assert dates == sorted(dates) and len(set(dates)) == len(dates)
        ranks = [order[o["status"]] for o in observations]
        assert ranks == sorted(ranks) and "Resolved" not in [o["status"] for o in observations[:-1]]
        for before, after in zip(observations, observations[1:]):
            assert (before["status"], before["agent_id"]) != (after["status"], after["agent_id"])
            if after["source"] != "call_logs":
                assert (after["resolution_date"] != "") == (after["status"] == "Resolved")


def test_publish_makes_the_newest_version_current(landing, truth):
    current = landing / "customers/customers_dataset.csv"
    versions = truth["customer_versions"]
    assert len(versions) >= 2 and versions[0]["location"] == "customers/customers_dataset.csv"
    try:
        assert publish(landing, dt.date.fromisoformat(versions[1]["date"])) == versions[1]["date"]
        assert current.read_bytes() == (landing / versions[1]["location"]).read_bytes()
        assert publish(landing, dt.date(2099, 1, 1)) == versions[-1]["date"]
        assert current.read_bytes() == (landing / versions[-1]["location"]).read_bytes()
        assert publish(landing, dt.date(2099, 1, 1)) == versions[-1]["date"]  # already current: nothing to do
        assert publish(landing, dt.date(2000, 1, 1)) is None
    finally:
        assert publish(landing, CONFIG.start_date) == versions[0]["date"]  # back to the start, for other tests
    assert len(read_csv(current)[1]) == versions[0]["rows"]
