"""A fourth complaint channel added the way README's "Adding a source" says, and nothing else: a registry
entry, an input locator, a migration and an expectation suite. Two days go through silver,
conformance and gold against real Delta and the real (embedded) PostgreSQL."""
from __future__ import annotations

import datetime as dt
import json

import psycopg2
import pytest
from pyspark.sql import functions as F

from coretelecoms import pipeline
from coretelecoms.conformance import database
from coretelecoms.platform import delta, lake, storage
from coretelecoms.platform.postgres import create_database, drop_database
from coretelecoms.platform.tables import (
    CHANNEL,
    COMPLAINT_LIFECYCLE,
    ORPHANED_COMPLAINTS,
    REJECT,
    STATUS_HISTORY,
    UNIFIED_COMPLAINTS,
    EntitySpec,
    FieldSpec,
    register,
    unregister,
)
from coretelecoms.quality import expectations
from coretelecoms.sources.catalog import COMPLAINT_INPUTS, SourceInput
from tests.conftest import make_settings

CHAT = "chat_complaints"
D1, D2 = dt.date(2025, 9, 1), dt.date(2025, 9, 2)
KNOWN, LATE = "7c9e6679-7425-40de-944b-e07fc1f90ae7", "16fd2706-8baf-433b-82eb-8c7fada847da"

# 1. The registry entry.
CHAT_SPEC = EntitySpec(
    CHAT, CHANNEL,
    key="chat_id",
    fields=(
        FieldSpec("chat_id", "complaint_id", on_invalid=REJECT),
        FieldSpec("customer_id", "customer_id", on_invalid=REJECT),
        FieldSpec("agent_id", "agent_id", on_invalid=REJECT),
        FieldSpec("complaint_category", "category"),
        FieldSpec("resolution_status", "status"),
        FieldSpec("request_date", "timestamp"),
        FieldSpec("resolution_date", "timestamp", required=False),
        FieldSpec("chat_generation_date", "date"),
    ),
    generation_date="chat_generation_date",
    row_rules=("resolution_before_request", "resolution_date_on_unresolved", "id_not_embedding_customer"),
    request_time="request_date",
    resolution_time="resolution_date",
)


# 2. The input: one CSV per day, read by the existing CSV reader.
def chat_input(settings, day: dt.date) -> SourceInput:
    return SourceInput(CHAT, storage.join(settings.landing, f"chats/chat_day_{day.isoformat()}.csv"), day, "csv")


# 3. The migration: the fact table with its keys, its staging twin, and the channel lists that name it.
MIGRATION = """
CREATE TABLE chat_complaints (
    chat_id              text NOT NULL,
    customer_id          text NOT NULL,
    agent_id             integer NOT NULL,
    complaint_category   text,
    resolution_status    text,
    request_date         timestamp,
    resolution_date      timestamp,
    chat_generation_date date,
    row_hash             text NOT NULL,
    first_seen_date      date NOT NULL,
    last_changed_date    date NOT NULL,
    updated_run          text NOT NULL,
    CONSTRAINT chat_complaints_pk PRIMARY KEY (chat_id),
    CONSTRAINT chat_complaints_customer_fk FOREIGN KEY (customer_id) REFERENCES customers (customer_id),
    CONSTRAINT chat_complaints_agent_fk FOREIGN KEY (agent_id) REFERENCES agents (agent_id)
);
CREATE UNLOGGED TABLE staging.chat_complaints (
    chat_id text, customer_id text, agent_id integer, complaint_category text, resolution_status text,
    request_date timestamp, resolution_date timestamp, chat_generation_date date, row_hash text
);
""" + "".join(
    f"ALTER TABLE {table} DROP CONSTRAINT {table}_channel_check, ADD CONSTRAINT {table}_channel_check"
    " CHECK (channel IN ('call_logs', 'sm_complaints', 'web_complaints', 'chat_complaints'));\n"
    for table in ("complaint_status_history", "orphaned_complaints", "complaint_lifecycle", "complaints")
)


# 4. The expectation suite: the web forms' contract, under the chat's names.
def chat_suite() -> str:
    web = expectations.suite_path("web_complaints").read_text()
    suite = json.loads(web.replace("request_id", "chat_id").replace("web_form_generation_date", "chat_generation_date"))
    return json.dumps({**suite, "name": CHAT, "id": None})


def chat_id(customer: str, serial: int) -> str:
    return f"CHT{serial:04d}{customer.replace('-', '')}{'X' * 14}"  # 53 characters that embed the customer


@pytest.fixture
def chat_channel(tmp_path):
    migrations, suites = tmp_path / "migrations", tmp_path / "expectations"
    migrations.mkdir()
    suites.mkdir()
    (migrations / "9001_chat_complaints.sql").write_text(MIGRATION)
    (suites / f"{CHAT}.json").write_text(chat_suite())
    register(CHAT_SPEC)
    COMPLAINT_INPUTS[CHAT] = chat_input
    database.MIGRATION_FOLDERS.append(migrations)
    expectations.SUITE_FOLDERS.append(suites)
    try:
        yield
    finally:
        expectations.SUITE_FOLDERS.remove(suites)
        database.MIGRATION_FOLDERS.remove(migrations)
        del COMPLAINT_INPUTS[CHAT]
        unregister(CHAT)


def write_sources(root, day: dt.date, customers: list[str], chats: list[tuple]) -> None:
    landing = root / "landing"
    (landing / "customers").mkdir(parents=True, exist_ok=True)
    (landing / "agents").mkdir(exist_ok=True)
    (landing / "chats").mkdir(exist_ok=True)
    lines = ["customer_id,name,Gender,DATE of biRTH,signup_date,email,address"] + [
        f'{c},Ann Example,F,1990-01-0{n + 1},2020-05-01,ann{n}@example.com,"{n} Main St\nAlbany, NY 12207"'
        for n, c in enumerate(customers)]
    (landing / "customers" / "customers_dataset.csv").write_text("\n".join(lines) + "\n")
    (landing / "agents" / "agents.csv").write_text("iD,NamE,experience,state\n1001,Bo Agent,Senior,New York\n")
    rows = ["chat_id,customeR iD,COMPLAINT_catego ry,agent ID,resolutionstatus,request_date,resolution_date,chatGenerationDate"]
    rows += [",".join(row) + f",{day.isoformat()}" for row in chats]
    (landing / "chats" / f"chat_day_{day.isoformat()}.csv").write_text("\n".join(rows) + "\n")


def rows(dsn: str, statement: str) -> list[tuple]:
    connection = psycopg2.connect(dsn)
    try:
        with connection, connection.cursor() as cursor:
            cursor.execute(statement)
            return sorted(cursor.fetchall())
    finally:
        connection.close()


def test_a_fourth_channel_goes_through_silver_conformance_and_gold(chat_channel, tmp_path, spark, embedded_pg, source_dsn):
    create_database(embedded_pg.url("postgres"), "ct_test_new_channel", drop_first=True)
    dsn = embedded_pg.url("ct_test_new_channel")
    settings = make_settings(tmp_path, source_dsn, **{"postgres.conformance_url": dsn})
    answered, orphaned = chat_id(KNOWN, 1), chat_id(LATE, 2)
    try:
        write_sources(tmp_path, D1, [KNOWN], [
            (answered, KNOWN, "Payments", "1001", "Backlog", "2025-08-30 10:00:00", ""),
            (orphaned, LATE, "Network Failure", "1001", "In-Progress", "2025-08-31 09:00:00", ""),
        ])
        first = pipeline.run(settings, D1, spark=spark, progress=lambda _: None)
        write_sources(tmp_path, D2, [KNOWN, LATE], [
            (answered, KNOWN, "Payments", "1001", "Resolved", "2025-08-30 10:00:00", "2025-09-01 16:00:00"),
        ])
        second = pipeline.run(settings, D2, spark=spark, progress=lambda _: None)

        assert (first.conformance.orphaned[CHAT], second.conformance.replayed[CHAT]) == (1, 1)
        silver = {r.chat_id: r for r in delta.snapshot(spark, lake.silver(settings, CHAT)).collect()}
        assert {key: row.resolution_status for key, row in silver.items()} == {answered: "Resolved", orphaned: "In-Progress"}
        quarantine = delta.snapshot(spark, lake.silver(settings, ORPHANED_COMPLAINTS)).where(F.col("channel") == CHAT)
        assert [(r.complaint_id, r.status, r.resolved_date) for r in quarantine.collect()] == [(orphaned, "resolved", D2)]
        history = delta.snapshot(spark, lake.silver(settings, STATUS_HISTORY)).where(F.col("channel") == CHAT)
        assert sorted((r.complaint_id, r.resolution_status) for r in history.collect()) == [
            (answered, "Backlog"), (answered, "Resolved"), (orphaned, "In-Progress")]
        lifecycle = delta.snapshot(spark, lake.gold(settings, COMPLAINT_LIFECYCLE)).where(F.col("channel") == CHAT)
        assert sorted((r.complaint_id, r.current_status, r.resolution_date) for r in lifecycle.collect()) == [
            (answered, "Resolved", dt.datetime(2025, 9, 1, 16)), (orphaned, "In-Progress", None)]
        unified = delta.snapshot(spark, lake.gold(settings, UNIFIED_COMPLAINTS)).where(F.col("channel") == CHAT)
        assert unified.count() == 2

        assert rows(dsn, "SELECT chat_id, resolution_status, first_seen_date, last_changed_date FROM chat_complaints") == [
            (answered, "Resolved", D1, D2), (orphaned, "In-Progress", D2, D2)]
        assert rows(dsn, "SELECT complaint_id, current_status FROM complaint_lifecycle WHERE channel = 'chat_complaints'") == [
            (answered, "Resolved"), (orphaned, "In-Progress")]
        assert rows(dsn, "SELECT complaint_id, status FROM orphaned_complaints WHERE channel = 'chat_complaints'") == [
            (orphaned, "resolved")]
        assert len(rows(dsn, "SELECT 1 FROM complaint_status_history WHERE channel = 'chat_complaints'")) == 3
        assert len(rows(dsn, "SELECT 1 FROM complaints WHERE channel = 'chat_complaints'")) == 2
    finally:
        drop_database(embedded_pg.url("postgres"), "ct_test_new_channel")
