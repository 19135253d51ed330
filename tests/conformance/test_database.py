"""The conformance database: migrations, catalog, staging over Spark JDBC and the one-transaction load."""

from __future__ import annotations

import datetime as dt
import re
import threading
import time

import psycopg2
import pytest
from psycopg2 import errors, sql
from pyspark.sql import types as T

from coretelecoms.conformance.database import MigrationError, apply_migrations, migrations
from coretelecoms.conformance.load import (
    ConformanceLoadError,
    RunLoad,
    clear_staging,
    load_run,
    loaded_versions,
    record_failed_run,
    staging_lock,
    write_staging,
)
from coretelecoms.platform.delta import LakeVersion
from coretelecoms.platform.tables import RESOLVED_ORPHANS, channels, postgres_tables, staging_columns
from coretelecoms.platform.postgres import create_database

SPARK_TYPES = {
    "string": T.StringType(),
    "int": T.IntegerType(),
    "date": T.DateType(),
    "timestamp": T.TimestampType(),
    "boolean": T.BooleanType(),
    "double": T.DoubleType(),
}
POSTGRES_TYPES = {
    "string": "text",
    "int": "integer",
    "date": "date",
    "timestamp": "timestamp without time zone",
    "boolean": "boolean",
    "double": "double precision",
}

CUSTOMER_A = "0a1b2c3d-0000-4000-8000-00000000000a"
CUSTOMER_B = "0a1b2c3d-0000-4000-8000-00000000000b"
MISSING_CUSTOMER = "0a1b2c3d-0000-4000-8000-0000000000ff"
DAY_1, DAY_2, DAY_3 = dt.date(2025, 11, 20), dt.date(2025, 11, 21), dt.date(2025, 11, 22)


# ---------------------------------------------------------------------------------------------
# Helpers


def scratch_database(embedded_pg, name: str) -> str:
    create_database(embedded_pg.url("postgres"), name, drop_first=True)
    return embedded_pg.url(name)


def query(dsn: str, statement, params=None) -> list[tuple]:
    connection = psycopg2.connect(dsn)
    try:
        with connection, connection.cursor() as cursor:
            cursor.execute(statement, params)
            return cursor.fetchall()
    finally:
        connection.close()


def snapshot(dsn: str) -> dict[str, list[str]]:
    """Every row of every model table, as sorted JSON text."""
    tables = query(dsn, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")
    statement = "SELECT to_jsonb(t)::text FROM {} AS t ORDER BY 1"
    return {
        table: [row[0] for row in query(dsn, sql.SQL(statement).format(sql.Identifier(table)))]
        for (table,) in sorted(tables)
    }


def stage(spark, dsn: str, table: str, rows: list[dict]) -> int:
    """Write rows (dicts by column name; absent columns are null) to staging.<table> through Spark."""
    columns = staging_columns()[table]
    schema = T.StructType([T.StructField(name, SPARK_TYPES[kind]) for name, kind in columns])
    frame = spark.createDataFrame([tuple(row.get(name) for name, _ in columns) for row in rows], schema)
    return write_staging(frame.repartition(3), table, dsn, connections=2)


def run(run_id: str, run_date: dt.date) -> RunLoad:
    return RunLoad(
        run_id=run_id,
        run_date=run_date,
        status="succeeded",
        started_at=dt.datetime(2025, 11, 26, 8, 0, tzinfo=dt.timezone.utc),
        stage_counts={"silver": {"call_logs": 1}},
        timings={"silver": 1.5},
    )


def customer(customer_id: str, email: str, row_hash: str, valid_from: dt.date = DAY_1) -> dict:
    return {
        "customer_id": customer_id,
        "name": "Ada Obi",
        "gender": "F",
        "date_of_birth": dt.date(1990, 5, 17),
        "signup_date": dt.date(2021, 3, 2),
        "email": email,
        "address": "317 Paul Turnpike\nDarrenland, NY 13297",
        "state_code": "NY",
        "state_name": "New York",
        "zip_code": "13297",
        "row_hash": row_hash,
        "valid_from": valid_from,
    }


def agent(agent_id: int, row_hash: str) -> dict:
    return {
        "agent_id": agent_id,
        "name": "Sam Lee",
        "experience": "Mid-level",
        "state": "Ohio",
        "row_hash": row_hash,
        "valid_from": DAY_1,
    }


def call_log(call_id: str, customer_id: str, row_hash: str = "hash-call") -> dict:
    return {
        "call_id": call_id,
        "customer_id": customer_id,
        "agent_id": 1001,
        "complaint_category": "Payments",
        "resolution_status": "Backlog",
        "call_start_time": dt.datetime(2025, 6, 1, 9, 30, 15),
        "call_end_time": dt.datetime(2025, 6, 1, 9, 41, 2),
        "call_logs_generation_date": DAY_1,
        "row_hash": row_hash,
    }


def status_seen(channel: str, complaint_id: str, status: str, agent_id: int, customer_id: str, resolved=None) -> dict:
    return {
        "channel": channel,
        "complaint_id": complaint_id,
        "observed_run_date": DAY_1,
        "resolution_status": status,
        "agent_id": agent_id,
        "resolution_date": resolved,
        "source_generation_date": DAY_1,
        "customer_id": customer_id,
    }


def base_staging() -> dict[str, list[dict]]:
    """A small consistent day: two customers, two agents, one complaint per channel, one orphan."""
    customers = [customer(CUSTOMER_A, "ada@gmail.com", "hash-a1"), customer(CUSTOMER_B, "bo@yahoo.com", "hash-b1")]
    agents = [agent(1001, "hash-1001"), agent(1002, "hash-1002")]
    return {
        "customers": customers,
        "customers_history": [{**row, "valid_to": None, "is_current": True} for row in customers],
        "agents": agents,
        "agents_history": [{**row, "valid_to": None, "is_current": True} for row in agents],
        "call_logs": [call_log("call-a", CUSTOMER_A)],
        "sm_complaints": [
            {
                "complaint_id": "sm-b",
                "customer_id": CUSTOMER_B,
                "agent_id": 1002,
                "complaint_category": "Network Failure",
                "resolution_status": "Resolved",
                "request_date": dt.datetime(2025, 5, 2, 10, 0),
                "resolution_date": dt.datetime(2025, 5, 4, 16, 0),
                "media_channel": "LinkedIn",
                "media_complaint_generation_date": DAY_1,
                "row_hash": "hash-sm-b",
            }
        ],
        "web_complaints": [
            {
                "request_id": "web-a",
                "customer_id": CUSTOMER_A,
                "agent_id": 1002,
                "complaint_category": "Router Delivery",
                "resolution_status": "In-Progress",
                "request_date": dt.datetime(2025, 4, 9, 12, 0),
                "resolution_date": None,
                "web_form_generation_date": DAY_1,
                "row_hash": "hash-web-a",
            }
        ],
        "complaint_status_history": [
            status_seen("call_logs", "call-a", "Backlog", 1001, CUSTOMER_A),
            status_seen("sm_complaints", "sm-b", "Resolved", 1002, CUSTOMER_B, dt.datetime(2025, 5, 4, 16, 0)),
            status_seen("web_complaints", "web-a", "In-Progress", 1002, CUSTOMER_A),
        ],
        "orphaned_complaints": [
            {
                "channel": "call_logs",
                "complaint_id": "call-orphan",
                "customer_id": MISSING_CUSTOMER,
                "agent_id": 1001,
                "reason": "missing_customer",
                "record": '{"call_id": "call-orphan", "resolution_status": "Backlog"}',
            }
        ],
        "resolved_orphans": [],
    }


def stage_all(spark, dsn: str, staging: dict[str, list[dict]]) -> None:
    for table, rows in staging.items():
        assert stage(spark, dsn, table, rows) == len(rows)


def changes(counts) -> dict[str, tuple[int, int]]:
    """Only the tables where something was inserted or updated."""
    return {table: (c.inserted, c.updated) for table, c in counts.tables.items() if c.inserted or c.updated}


def loaded_database(spark, embedded_pg, name: str) -> str:
    """A migrated scratch database holding the base day, loaded by run `r1`."""
    dsn = scratch_database(embedded_pg, f"ct_test_conformance_{name}")
    apply_migrations(dsn)
    stage_all(spark, dsn, base_staging())
    load_run(dsn, run("r1", DAY_1))
    return dsn


# ---------------------------------------------------------------------------------------------
# Migrations


def test_migrations_apply_once_then_nothing(embedded_pg):
    dsn = scratch_database(embedded_pg, "ct_test_conformance_migrations")
    labels = [migration.label for migration in migrations()]
    assert labels[0] == "0001_dimensions" and labels == sorted(labels)

    assert apply_migrations(dsn) == labels
    assert apply_migrations(dsn) == []
    recorded = query(dsn, "SELECT version || '_' || name, checksum FROM schema_migrations ORDER BY version")
    assert recorded == [(migration.label, migration.checksum) for migration in migrations()]


def test_concurrent_runners_apply_each_migration_once(embedded_pg):
    dsn = scratch_database(embedded_pg, "ct_test_conformance_concurrent")
    results, failures = [], []

    def runner():
        try:
            results.append(apply_migrations(dsn))
        except Exception as error:  # surfaced by the assertion below
            failures.append(error)

    threads = [threading.Thread(target=runner) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    applied = [label for result in results for label in result]
    assert sorted(applied) == [migration.label for migration in migrations()]


def test_a_changed_applied_migration_is_refused(embedded_pg):
    dsn = scratch_database(embedded_pg, "ct_test_conformance_checksum")
    apply_migrations(dsn)
    query(dsn, "UPDATE schema_migrations SET checksum = 'edited' WHERE version = '0002' RETURNING 1")

    with pytest.raises(MigrationError, match=r"0002_facts\.sql changed after it was applied"):
        apply_migrations(dsn)


# ---------------------------------------------------------------------------------------------
# Catalog


def one_of(column: str, *values: str) -> str:
    listed = ", ".join(f"'{value}'::text" for value in values)
    return f"CHECK (({column} = ANY (ARRAY[{listed}])))"


CATEGORY = one_of("complaint_category", "Technician Support", "Payments", "Router Delivery", "Network Failure")
STATUS = one_of("resolution_status", "Resolved", "In-Progress", "Backlog", "Blocked")
CHANNEL = one_of("channel", "call_logs", "sm_complaints", "web_complaints")
EXPERIENCE = one_of("experience", "intern", "Junior", "Mid-level", "Senior")
FACTS = {"call_logs": "call_id", "sm_complaints": "complaint_id", "web_complaints": "request_id"}

EXPECTED_CONSTRAINTS = {
    # name: (table, definition)
    "schema_migrations_pk": ("schema_migrations", "PRIMARY KEY (version)"),
    "customers_pk": ("customers", "PRIMARY KEY (customer_id)"),
    "customers_gender_check": ("customers", one_of("gender", "F", "M")),
    "customers_history_pk": ("customers_history", "PRIMARY KEY (customer_id, valid_from)"),
    "customers_history_gender_check": ("customers_history", one_of("gender", "F", "M")),
    "customers_history_validity_check": ("customers_history", "CHECK ((valid_to >= valid_from))"),
    "agents_pk": ("agents", "PRIMARY KEY (agent_id)"),
    "agents_experience_check": ("agents", EXPERIENCE),
    "agents_history_pk": ("agents_history", "PRIMARY KEY (agent_id, valid_from)"),
    "agents_history_experience_check": ("agents_history", EXPERIENCE),
    "agents_history_validity_check": ("agents_history", "CHECK ((valid_to >= valid_from))"),
    **{
        name: (fact, definition)
        for fact, key in FACTS.items()
        for name, definition in (
            (f"{fact}_pk", f"PRIMARY KEY ({key})"),
            (f"{fact}_customer_fk", "FOREIGN KEY (customer_id) REFERENCES customers(customer_id)"),
            (f"{fact}_agent_fk", "FOREIGN KEY (agent_id) REFERENCES agents(agent_id)"),
            (f"{fact}_category_check", CATEGORY),
            (f"{fact}_status_check", STATUS),
        )
    },
    "call_logs_end_after_start_check": ("call_logs", "CHECK ((call_end_time >= call_start_time))"),
    "sm_complaints_resolution_after_request_check": ("sm_complaints", "CHECK ((resolution_date >= request_date))"),
    "sm_complaints_media_channel_check": (
        "sm_complaints",
        one_of("media_channel", "Facebook", "Twitter", "Instagram", "LinkedIn"),
    ),
    "web_complaints_resolution_after_request_check": ("web_complaints", "CHECK ((resolution_date >= request_date))"),
    "complaint_status_history_pk": (
        "complaint_status_history",
        "PRIMARY KEY (channel, complaint_id, observed_run_date)",
    ),
    "complaint_status_history_channel_check": ("complaint_status_history", CHANNEL),
    "complaint_status_history_status_check": ("complaint_status_history", STATUS),
    "orphaned_complaints_pk": ("orphaned_complaints", "PRIMARY KEY (channel, complaint_id)"),
    "orphaned_complaints_channel_check": ("orphaned_complaints", CHANNEL),
    "orphaned_complaints_reason_check": (
        "orphaned_complaints",
        one_of("reason", "missing_customer", "missing_agent", "both"),
    ),
    "orphaned_complaints_status_check": ("orphaned_complaints", one_of("status", "open", "resolved")),
    "orphaned_complaints_times_seen_check": ("orphaned_complaints", "CHECK ((times_seen >= 1))"),
    "orphaned_complaints_resolution_check": (
        "orphaned_complaints",
        "CHECK (((status = 'resolved'::text) = ((resolved_run IS NOT NULL) AND (resolved_date IS NOT NULL))))",
    ),
    "pipeline_runs_pk": ("pipeline_runs", "PRIMARY KEY (run_id)"),
    "loaded_lake_versions_pk": ("loaded_lake_versions", "PRIMARY KEY (staging_table)"),
    "complaint_lifecycle_pk": ("complaint_lifecycle", "PRIMARY KEY (channel, complaint_id)"),
    "complaint_lifecycle_channel_check": ("complaint_lifecycle", CHANNEL),
    "complaint_lifecycle_status_check": (
        "complaint_lifecycle", one_of("current_status", "Resolved", "In-Progress", "Backlog", "Blocked")),
    "complaint_lifecycle_days_check": (
        "complaint_lifecycle",
        "CHECK ((LEAST(backlog_days, in_progress_days, blocked_days, resolved_days) >= 0))"),
    "complaint_lifecycle_resolution_check": (
        "complaint_lifecycle", "CHECK (((current_status = 'Resolved'::text) = (resolution_date IS NOT NULL)))"),
    "pipeline_runs_status_check": ("pipeline_runs", one_of("status", "running", "succeeded", "not_ready", "rejected_input", "failed")),
    "complaints_pk": ("complaints", "PRIMARY KEY (channel, complaint_id)"),
    "complaints_channel_check": ("complaints", CHANNEL),
    "complaint_features_pk": ("complaint_features", "PRIMARY KEY (customer_id, month)"),
    "complaint_features_month_check": ("complaint_features", "CHECK ((EXTRACT(day FROM month) = (1)::numeric))"),
    "complaint_features_counts_check": (
        "complaint_features",
        "CHECK (((LEAST(complaints, distinct_agents, resolved, open_at_month_end, blocked_at_month_end,"
        " weekday_complaints, weekend_complaints, complaints_3m, months_since_first_complaint) >= 0)"
        " AND (complaints_3m <= complaints_6m) AND (complaints_6m <= complaints_12m)"
        " AND (blocked_at_month_end <= open_at_month_end) AND ((weekday_complaints + weekend_complaints) <= complaints)))"),
}


@pytest.fixture(scope="module")
def migrated(embedded_pg) -> str:
    dsn = scratch_database(embedded_pg, "ct_test_conformance_catalog")
    apply_migrations(dsn)
    return dsn


def test_every_key_and_check_is_in_the_catalog(migrated):
    found = query(
        migrated,
        "SELECT conname, conrelid::regclass::text, pg_get_constraintdef(oid) FROM pg_constraint"
        " WHERE connamespace = 'public'::regnamespace",
    )
    assert {name: (table, definition) for name, table, definition in found} == EXPECTED_CONSTRAINTS


def test_complaints_cannot_lack_their_references(migrated):
    nullable = query(
        migrated,
        "SELECT table_name, column_name, is_nullable FROM information_schema.columns"
        " WHERE table_schema = 'public' AND column_name IN ('customer_id', 'agent_id') AND table_name = ANY(%s)",
        (list(FACTS),),
    )
    assert sorted(nullable) == sorted((fact, column, "NO") for fact in FACTS for column in ("customer_id", "agent_id"))


def test_staging_tables_are_unlogged_unconstrained_and_match_the_contract(migrated):
    tables = query(
        migrated,
        "SELECT relname, relpersistence FROM pg_class WHERE relnamespace = 'staging'::regnamespace AND relkind = 'r'",
    )
    assert dict(tables) == {table: "u" for table in staging_columns()}
    assert query(migrated, "SELECT conname FROM pg_constraint WHERE connamespace = 'staging'::regnamespace") == []
    for table, columns in staging_columns().items():
        actual = query(
            migrated,
            "SELECT column_name, data_type FROM information_schema.columns"
            " WHERE table_schema = 'staging' AND table_name = %s ORDER BY ordinal_position",
            (table,),
        )
        assert actual == [(name, POSTGRES_TYPES[kind]) for name, kind in columns], table


# ---------------------------------------------------------------------------------------------
# Staging and the load


def test_write_staging_replaces_rows_and_keeps_the_unlogged_table(spark, migrated):
    assert stage(spark, migrated, "agents", [agent(1001, "h1"), agent(1002, "h2"), agent(1003, "h3")]) == 3
    assert stage(spark, migrated, "agents", [agent(1004, "h4")]) == 1

    assert query(migrated, "SELECT agent_id FROM staging.agents") == [(1004,)]
    assert query(migrated, "SELECT relpersistence FROM pg_class WHERE oid = 'staging.agents'::regclass") == [("u",)]


def test_write_staging_copies_every_value_exactly(spark, migrated):
    """COPY's CSV must keep what JDBC would: empty string vs NULL, quotes, commas, line breaks,
    non-ASCII text, wall-clock timestamps with microseconds, booleans and NULL dates."""
    awkward = customer("c-1", "", "h1") | {
        "name": 'Ann "Nan" O\'Neil, Jr.', "gender": None, "date_of_birth": None,
        "address": "1 Rue de l'Église\r\nParis,\tFR\n\"Apt\" 5", "valid_from": dt.date(2025, 9, 1),
    }
    assert stage(spark, migrated, "customers", [awkward, customer("c-2", "b@x.io", "h2")]) == 2
    history = {**awkward, "valid_to": None, "is_current": True}
    assert stage(spark, migrated, "customers_history", [history, history | {"customer_id": "c-3", "is_current": False}]) == 2
    start = dt.datetime(2025, 9, 1, 23, 59, 58, 123456)
    call = {"call_id": "k-1", "customer_id": "c-1", "agent_id": 7, "complaint_category": "Payments",
            "resolution_status": "Resolved", "call_start_time": start, "call_end_time": None,
            "call_logs_generation_date": dt.date(2025, 9, 1), "row_hash": "h"}
    assert stage(spark, migrated, "call_logs", [call]) == 1

    assert query(migrated, "SELECT name, gender, date_of_birth, email, address FROM staging.customers ORDER BY 1") == [
        ("Ada Obi", "F", dt.date(1990, 5, 17), "b@x.io", "317 Paul Turnpike\nDarrenland, NY 13297"),
        (awkward["name"], None, None, "", awkward["address"]),
    ]
    assert query(migrated, "SELECT customer_id, is_current, valid_to FROM staging.customers_history ORDER BY 1") == [
        ("c-1", True, None), ("c-3", False, None)]
    assert query(migrated, "SELECT agent_id, call_start_time, call_end_time FROM staging.call_logs") == [(7, start, None)]


def test_write_staging_of_an_empty_frame_empties_the_table(spark, migrated):
    stage(spark, migrated, "agents", [agent(1001, "h1")])

    assert stage(spark, migrated, "agents", []) == 0
    assert query(migrated, "SELECT count(*) FROM staging.agents") == [(0,)]


def test_clear_staging_empties_the_table_without_spark(migrated):
    connection = psycopg2.connect(migrated)
    try:
        with connection, connection.cursor() as cursor:
            cursor.execute("INSERT INTO staging.agents (agent_id) VALUES (1001)")
    finally:
        connection.close()

    assert clear_staging("agents", migrated) == 0
    assert query(migrated, "SELECT count(*) FROM staging.agents") == [(0,)]
    with pytest.raises(ValueError, match="no staging table 'agent'"):
        clear_staging("agent", migrated)


def test_write_staging_refuses_a_frame_that_does_not_fit(spark, migrated):
    frame = spark.createDataFrame([("1001", "Sam")], "agent_id string, name string")

    with pytest.raises(ValueError, match=r"agent_id is string, expected int; experience is missing"):
        write_staging(frame, "agents", migrated, connections=1)


def test_a_second_run_waits_for_the_first_from_its_staging_to_its_commit(migrated):
    """Two runs of a date (a schedule and a manual re-run) never stage into each other's load."""
    said, order = [], []

    def second_run():
        with staging_lock(migrated, said.append):
            order.append("second stages")

    with staging_lock(migrated, said.append):
        order.append("first stages")
        second = threading.Thread(target=second_run)
        second.start()
        deadline = time.monotonic() + 10
        while not said and time.monotonic() < deadline:
            time.sleep(0.05)
        assert said == ["  postgres: another run is loading into this database; waiting for it to finish"]
        time.sleep(0.3)
        assert order == ["first stages"]  # still waiting
        order.append("first commits")
    second.join(timeout=10)
    assert order == ["first stages", "first commits", "second stages"]


def test_a_full_load_inserts_then_an_identical_load_changes_nothing_and_a_change_updates_one_row(spark, embedded_pg):
    dsn = scratch_database(embedded_pg, "ct_test_conformance_full_load")
    apply_migrations(dsn)
    stage_all(spark, dsn, base_staging())

    first = load_run(dsn, run("r1", DAY_1))
    assert changes(first) == {
        "customers": (2, 0),
        "customers_history": (2, 0),
        "agents": (2, 0),
        "agents_history": (2, 0),
        "call_logs": (1, 0),
        "sm_complaints": (1, 0),
        "web_complaints": (1, 0),
        "complaint_status_history": (3, 0),
        "orphaned_complaints": (1, 0),
    }
    # Wall-clock timestamps arrive unchanged; run columns come from the run.
    assert query(dsn, "SELECT call_start_time, first_seen_date, last_changed_date, updated_run FROM call_logs") == [
        (dt.datetime(2025, 6, 1, 9, 30, 15), DAY_1, DAY_1, "r1")
    ]
    assert query(dsn, "SELECT record->>'call_id', times_seen, status FROM orphaned_complaints") == [
        ("call-orphan", 1, "open")
    ]

    before_rerun = snapshot(dsn)
    rerun = load_run(dsn, run("r2", DAY_1))
    assert changes(rerun) == {}
    after_rerun = snapshot(dsn)
    assert {t: rows for t, rows in after_rerun.items() if t != "pipeline_runs"} == {
        t: rows for t, rows in before_rerun.items() if t != "pipeline_runs"
    }

    changed = [
        customer(CUSTOMER_A, "ada.obi@gmail.com", "hash-a2", valid_from=DAY_2),
        customer(CUSTOMER_B, "bo@yahoo.com", "hash-b1"),
    ]
    stage(spark, dsn, "customers", changed)
    third = load_run(dsn, run("r3", DAY_2))
    assert changes(third) == {"customers": (0, 1), "orphaned_complaints": (0, 1)}  # the orphan was seen again
    assert query(dsn, "SELECT customer_id, email, valid_from, updated_run FROM customers ORDER BY 1") == [
        (CUSTOMER_A, "ada.obi@gmail.com", DAY_2, "r3"),
        (CUSTOMER_B, "bo@yahoo.com", DAY_1, "r1"),
    ]
    runs = query(
        dsn, "SELECT run_id, status, stage_counts->'conformance_load'->'customers' FROM pipeline_runs ORDER BY 1"
    )
    assert runs == [
        ("r1", "succeeded", {"inserted": 2, "updated": 0, "unchanged": 0}),
        ("r2", "succeeded", {"inserted": 0, "updated": 0, "unchanged": 2}),  # the re-run: both held as they are
        ("r3", "succeeded", {"inserted": 0, "updated": 1, "unchanged": 1}),
    ]


def test_an_orphan_is_resolved_once_its_customer_arrives(spark, embedded_pg):
    loaded = loaded_database(spark, embedded_pg, "resolve")
    staging = base_staging()
    stage(
        spark,
        loaded,
        "customers",
        [*staging["customers"], customer(MISSING_CUSTOMER, "late@aol.com", "hash-late", DAY_2)],
    )
    stage(spark, loaded, "call_logs", [call_log("call-orphan", MISSING_CUSTOMER, "hash-orphan")])
    stage(spark, loaded, "orphaned_complaints", [])
    stage(
        spark,
        loaded,
        "resolved_orphans",
        [{"channel": "call_logs", "complaint_id": "call-orphan", "resolved_run": "r2", "resolved_date": DAY_2}],
    )

    counts = load_run(loaded, run("r2", DAY_2))

    assert changes(counts) == {"customers": (1, 0), "call_logs": (1, 0), "resolved_orphans": (0, 1)}
    assert query(loaded, "SELECT status, resolved_run, resolved_date FROM orphaned_complaints") == [
        ("resolved", "r2", DAY_2)
    ]
    assert changes(load_run(loaded, run("r2-again", DAY_2))) == {}


def test_a_failure_before_commit_leaves_every_table_as_it_was(spark, embedded_pg):
    loaded = loaded_database(spark, embedded_pg, "atomic")
    before = snapshot(loaded)
    stage(spark, loaded, "customers", [customer(CUSTOMER_A, "ada.obi@gmail.com", "hash-a2", DAY_2)])
    stage(spark, loaded, "call_logs", [call_log("call-a", CUSTOMER_A), call_log("call-new", CUSTOMER_A)])
    seen_inside = []

    def fail(cursor):
        cursor.execute("SELECT count(*) FROM call_logs")
        seen_inside.append(cursor.fetchone()[0])
        raise RuntimeError("injected failure")

    with pytest.raises(RuntimeError, match="injected failure"):
        load_run(loaded, run("r2", DAY_2), {"call_logs": LakeVersion("calls-table", 7)}, before_commit=fail)

    assert seen_inside == [2]  # the whole load had run when the failure struck
    assert snapshot(loaded) == before  # the lake version it staged from is not recorded either
    counts = load_run(loaded, run("r2", DAY_2))
    assert changes(counts) == {"customers": (0, 1), "call_logs": (1, 0), "orphaned_complaints": (0, 1)}


def test_the_load_records_the_lake_version_each_staging_table_came_from(spark, embedded_pg):
    loaded = loaded_database(spark, embedded_pg, "lake_versions")
    customers_v3 = LakeVersion("customers-table", 3)
    load_run(loaded, run("r2", DAY_2), {"customers": customers_v3})
    assert loaded_versions(loaded, DAY_2) == {"customers": customers_v3}
    assert loaded_versions(loaded, DAY_1) == {}  # r1 recorded none; and versions are per run date

    load_run(loaded, run("r3", DAY_2), {"customers": customers_v3})  # found already loaded: r2 keeps the row
    assert query(loaded, "SELECT staging_table, lake_version, run_id FROM loaded_lake_versions") == [("customers", 3, "r2")]
    recreated = LakeVersion("customers-table-recreated", 3)  # same version number, another table
    load_run(loaded, run("r4", DAY_2), {"customers": recreated})
    assert loaded_versions(loaded, DAY_2) == {"customers": recreated}


def test_a_fact_without_its_customer_names_the_key_and_changes_nothing(spark, embedded_pg):
    loaded = loaded_database(spark, embedded_pg, "fk")
    before = snapshot(loaded)
    stage(spark, loaded, "call_logs", [call_log("call-a", CUSTOMER_A), call_log("call-lost", MISSING_CUSTOMER)])

    with pytest.raises(ConformanceLoadError) as raised:
        load_run(loaded, run("r2", DAY_2))

    error = raised.value
    assert isinstance(error.__cause__, errors.ForeignKeyViolation)
    assert (error.table, error.constraint, error.keys) == (
        "call_logs",
        "call_logs_customer_fk",
        [("call-lost", MISSING_CUSTOMER)],
    )
    assert "call_logs" in str(error) and "call-lost" in str(error) and MISSING_CUSTOMER in str(error)
    assert snapshot(loaded) == before

    record_failed_run(loaded, RunLoad("r2", DAY_2, "running", dt.datetime.now(dt.timezone.utc), error=str(error)))
    assert query(loaded, "SELECT status, error LIKE '%call-lost%' FROM pipeline_runs WHERE run_id = 'r2'") == [
        ("failed", True)
    ]


def test_a_derived_row_without_its_customer_aborts_the_load_naming_the_key(spark, embedded_pg):
    """Derived tables carry no foreign keys: the load's set-wise check stands in for them."""
    loaded = loaded_database(spark, embedded_pg, "derived_parents")
    before = snapshot(loaded)
    unified = {"channel": "call_logs", "agent_id": 1001, "updated_date": DAY_2, "row_hash": "hash-unified"}
    stage(spark, loaded, "complaints", [{**unified, "complaint_id": "call-a", "customer_id": CUSTOMER_A},
                                        {**unified, "complaint_id": "call-lost", "customer_id": MISSING_CUSTOMER}])

    with pytest.raises(ConformanceLoadError) as raised:
        load_run(loaded, run("r2", DAY_2))

    error = raised.value
    assert (error.table, error.constraint, error.keys) == (
        "complaints", "complaints_customer_parent", [("call-lost", MISSING_CUSTOMER)])
    assert "1 staged row(s) reference a customer_id that is not in customers" in str(error)
    assert "complaint_id=call-lost" in str(error)
    assert snapshot(loaded) == before


# ---------------------------------------------------------------------------------------------
# The migrations against the table registry


def catalog_columns(dsn: str, schema: str) -> dict[str, list[tuple[str, str, bool]]]:
    """table -> [(column, PostgreSQL type, NOT NULL)] in column order."""
    rows = query(dsn, "SELECT table_name, column_name, data_type, is_nullable = 'NO' FROM information_schema.columns"
                      " WHERE table_schema = %s ORDER BY table_name, ordinal_position", (schema,))
    tables: dict[str, list[tuple[str, str, bool]]] = {}
    for table, column, kind, not_null in rows:
        tables.setdefault(table, []).append((column, kind, not_null))
    return tables


def constraint_definitions(dsn: str, kind: str) -> dict[str, tuple[str, str]]:
    """name -> (table, definition) of the public schema's constraints of one kind (p, f, c)."""
    rows = query(dsn, "SELECT conname, conrelid::regclass::text, pg_get_constraintdef(oid) FROM pg_constraint"
                      " WHERE connamespace = 'public'::regnamespace AND contype = %s", (kind,))
    return {name: (table, definition) for name, table, definition in rows}


NOT_IN_THE_REGISTRY = {"schema_migrations", "pipeline_runs", "loaded_lake_versions"}  # the pipeline's own bookkeeping


def test_every_model_table_is_the_registry_s_columns_keys_and_foreign_keys(migrated):
    model = catalog_columns(migrated, "public")
    described = {table.name: table for table in postgres_tables() if table.name != RESOLVED_ORPHANS}
    assert set(model) == set(described) | NOT_IN_THE_REGISTRY
    for name, table in described.items():
        expected = [(c.name, c.postgres_type or POSTGRES_TYPES[c.type], c.required)
                    for c in (*table.columns, *(column for column, _ in table.run_columns))]
        assert sorted(model[name]) == sorted(expected), name
    keys = {table: definition for table, definition in constraint_definitions(migrated, "p").values()}
    for name, table in described.items():
        assert keys[name] == f"PRIMARY KEY ({', '.join(table.key)})", name
    foreign = constraint_definitions(migrated, "f")
    assert foreign == {
        fk.name: (table.name, f"FOREIGN KEY ({fk.column}) REFERENCES {fk.parent}({fk.column})")
        for table in described.values() for fk in table.foreign_keys
    }


def test_channel_checks_allow_exactly_the_registered_channels(migrated):
    checks = {name: definition for name, (_, definition) in constraint_definitions(migrated, "c").items()
              if name.endswith("_channel_check") and "(channel = ANY" in definition}
    assert len(checks) == 4  # history, quarantine, lifecycle and the unified complaints name the channels
    for name, definition in checks.items():
        assert sorted(re.findall(r"'([a-z_]+)'::text", definition)) == sorted(channels()), name
