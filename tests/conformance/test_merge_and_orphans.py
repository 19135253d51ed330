"""Orphan quarantine and replay, SCD2 dimensions, complaint current state and status history on crafted rows."""
import datetime as dt
import json
import shutil

from chispa import assert_df_equality
from delta.tables import DeltaTable
from pyspark.sql import functions as F

from coretelecoms.conformance.merge import append_status_history, merge_complaints, merge_dimension_scd2
from coretelecoms.conformance.orphans import (
    BOTH,
    MISSING_AGENT,
    MISSING_CUSTOMER,
    ORPHAN_SCHEMA,
    check_parents,
    replayable,
    split_orphans,
    update_quarantine,
)
from coretelecoms.platform.delta import pinned
from coretelecoms.platform.tables import DIMENSION, TABLES, EntitySpec, FieldSpec, dimension_table

D1, D2, D3, D4 = (dt.date(2025, 6, day) for day in (1, 2, 3, 4))
KNOWN, LATE, GHOST = "cust-known", "cust-late", "cust-ghost"
LINEAGE = "_source string, _source_row bigint, _source_date date, _source_checksum string, _run_id string, _run_date date"
CALLS = ("call_id string, customer_id string, agent_id int, complaint_category string, resolution_status string, "
         f"call_start_time timestamp, call_end_time timestamp, call_logs_generation_date date, {LINEAGE}")
WEB = ("request_id string, customer_id string, agent_id int, complaint_category string, resolution_status string, "
       f"request_date timestamp, resolution_date timestamp, web_form_generation_date date, {LINEAGE}")
CUSTOMERS = f"customer_id string, name string, email string, {LINEAGE}"
START = dt.datetime(2025, 3, 7, 18, 40, 43)


def lineage(day, row=0):
    return (f"s3a://landing/{day}", row, day, f"sum-{day}", f"run-{day}", day)


def calls(spark, *rows):
    """rows: (call_id, customer_id, agent_id, status, generation date)."""
    return spark.createDataFrame(
        [(cid, cust, agent, "Payments", status, START, START + dt.timedelta(minutes=9), day, *lineage(day, n))
         for n, (cid, cust, agent, status, day) in enumerate(rows)],
        CALLS,
    )


def web(spark, *rows):
    """rows: (request_id, category, status, resolution_date, generation date)."""
    return spark.createDataFrame(
        [(rid, KNOWN, 1001, category, status, START, resolved, day, *lineage(day, n))
         for n, (rid, category, status, resolved, day) in enumerate(rows)],
        WEB,
    )


def keys(spark, column, values, kind="string"):
    return spark.createDataFrame([(v,) for v in values], f"{column} {kind}")


def version(spark, path):
    return DeltaTable.forPath(spark, str(path)).history(1).first()["version"]


def orphan_state(spark, path):
    return {r.complaint_id: r for r in spark.read.format("delta").load(str(path)).collect()}


# --- orphans -----------------------------------------------------------------------------------------

def test_split_orphans_gives_reasons_and_keeps_the_full_typed_record(spark):
    complaints = calls(spark, ("ok", KNOWN, 1001, "Backlog", D1), ("no-cust", GHOST, 1001, "Backlog", D1),
                       ("no-agent", KNOWN, 1999, "Backlog", D1), ("no-both", GHOST, 1999, "Backlog", D1))
    customers = keys(spark, "customer_id", [KNOWN, KNOWN])  # duplicate keys never duplicate complaints
    loadable, orphans = split_orphans(check_parents(complaints, customers, keys(spark, "agent_id", [1001], "int")), "call_logs")

    assert_df_equality(loadable, complaints.where("call_id = 'ok'"), ignore_row_order=True)
    found = {(r.channel, r.complaint_id, r.customer_id, r.agent_id, r.reason, r.source_date) for r in orphans.collect()}
    assert found == {("call_logs", "no-cust", GHOST, 1001, MISSING_CUSTOMER, D1),
                     ("call_logs", "no-agent", KNOWN, 1999, MISSING_AGENT, D1),
                     ("call_logs", "no-both", GHOST, 1999, BOTH, D1)}
    parsed = orphans.select(F.from_json("record", complaints.schema).alias("r")).select("r.*")
    # Everything but the writing run, which the quarantine keeps as last_seen_run: a re-run stores the same record.
    assert_df_equality(parsed.drop("_run_id"), complaints.where("call_id != 'ok'").drop("_run_id"),
                       ignore_row_order=True, ignore_nullable=True)
    assert all("_run_id" not in json.loads(r.record) for r in orphans.collect())


def loaded_keys(spark, *complaint_ids):
    return spark.createDataFrame([("call_logs", c) for c in complaint_ids], "channel string, complaint_id string")


def test_late_arriving_customer_is_replayed_then_resolved_by_the_run(spark, tmp_path):
    path = tmp_path / "orphaned_complaints"
    agents = keys(spark, "agent_id", [1001], "int")
    none_orphaned, nothing_loaded = spark.createDataFrame([], ORPHAN_SCHEMA), loaded_keys(spark)
    day1 = calls(spark, ("late", LATE, 1001, "Backlog", D1), ("ok", KNOWN, 1001, "Backlog", D1))
    _, orphans = split_orphans(check_parents(day1, keys(spark, "customer_id", [KNOWN]), agents), "call_logs")
    # The run that wrote day1's rows (see lineage) loaded "ok" and quarantined "late".
    update_quarantine(spark, str(path), orphans, loaded_keys(spark, "ok"), f"run-{D1}", D1)
    assert replayable(spark, str(path), keys(spark, "customer_id", [KNOWN]), agents, "call_logs", day1.schema,
                      none_orphaned).isEmpty()

    customers_day2 = keys(spark, "customer_id", [KNOWN, LATE])
    replay = replayable(spark, str(path), customers_day2, agents, "call_logs", day1.schema, none_orphaned)
    assert_df_equality(replay, day1.where("call_id = 'late'"), ignore_nullable=True)

    resolved = replay.select(F.lit("call_logs").alias("channel"), F.col("call_id").alias("complaint_id"))
    update_quarantine(spark, str(path), none_orphaned, resolved, "run-d2", D2)
    late = orphan_state(spark, path)["late"]
    assert (late.status, late.resolved_run, late.resolved_date, late.first_seen_date, late.times_seen) == (
        "resolved", "run-d2", D2, D1, 1)
    assert set(orphan_state(spark, path)) == {"late"}  # a loaded key never quarantined is left alone
    assert replayable(spark, str(path), customers_day2, agents, "call_logs", day1.schema, none_orphaned).isEmpty()

    before = version(spark, path)
    update_quarantine(spark, str(path), none_orphaned, resolved, "run-d2-again", D2)
    update_quarantine(spark, str(path), none_orphaned, nothing_loaded, "run-d2-again", D2)
    assert version(spark, path) == before
    assert orphan_state(spark, path)["late"].resolved_run == "run-d2"


def test_an_orphan_sighted_again_without_its_parent_is_not_replayed(spark, tmp_path):
    """Day 1 lacked customer LATE; on day 2 LATE exists, but the complaint comes again naming GHOST."""
    path = str(tmp_path / "orphaned_complaints")
    agents = keys(spark, "agent_id", [1001], "int")
    day1 = calls(spark, ("moved", LATE, 1001, "Backlog", D1))
    _, orphans = split_orphans(check_parents(day1, keys(spark, "customer_id", [KNOWN]), agents), "call_logs")
    update_quarantine(spark, path, orphans, loaded_keys(spark), "run-d1", D1)

    customers_day2 = keys(spark, "customer_id", [KNOWN, LATE])
    day2 = calls(spark, ("moved", GHOST, 1001, "In-Progress", D2))
    _, again = split_orphans(check_parents(day2, customers_day2, agents), "call_logs")
    assert replayable(spark, path, customers_day2, agents, "call_logs", day1.schema, again).isEmpty()
    update_quarantine(spark, path, again, loaded_keys(spark), "run-d2", D2)
    moved = orphan_state(spark, path)["moved"]
    assert (moved.status, moved.customer_id, moved.times_seen, moved.last_seen_run) == ("open", GHOST, 2, "run-d2")


def test_true_orphan_stays_open_and_is_counted_once_per_run_date(spark, tmp_path):
    path = str(tmp_path / "orphaned_complaints")
    customers, agents = keys(spark, "customer_id", [KNOWN]), keys(spark, "agent_id", [1001], "int")

    def quarantine(agent, status, day, run_id):
        _, orphans = split_orphans(check_parents(calls(spark, ("ghost", GHOST, agent, status, day)), customers, agents), "call_logs")
        update_quarantine(spark, path, orphans, loaded_keys(spark), run_id, day)

    quarantine(1001, "Backlog", D1, "run-d1")
    created = version(spark, path)
    quarantine(1001, "Backlog", D1, "run-d1-again")  # same date: no change, no commit
    assert version(spark, path) == created
    quarantine(1999, "In-Progress", D2, "run-d2")  # later date: the latest record wins

    ghost = orphan_state(spark, path)["ghost"]
    assert (ghost.status, ghost.times_seen, ghost.first_seen_run, ghost.first_seen_date,
            ghost.last_seen_run, ghost.last_seen_date) == ("open", 2, "run-d1", D1, "run-d2", D2)
    assert (ghost.reason, ghost.agent_id, ghost.source_date) == (BOTH, 1999, D2)
    assert '"resolution_status":"In-Progress"' in ghost.record


# --- SCD type 2 ----------------------------------------------------------------------------------------

# A dimension of three fields, described as the registry describes one.
CUSTOMERS_SPEC = dimension_table(EntitySpec("customers", DIMENSION, key="customer_id", fields=(
    FieldSpec("customer_id", "customer_id"), FieldSpec("name", "person_name"), FieldSpec("email", "email"))))


def customers(spark, day, *rows):
    return spark.createDataFrame([(cid, name, email, *lineage(day, n)) for n, (cid, name, email) in enumerate(rows)],
                                 CUSTOMERS)


def test_scd2_inserts_versions_closes_changed_keys_and_reruns_idempotently(spark, tmp_path):
    path = str(tmp_path / "customers")

    def merge(day, *rows):
        return merge_dimension_scd2(spark, path, customers(spark, day, *rows), CUSTOMERS_SPEC, day, len(rows))

    assert merge(D1, ("a", "Ann", "ann@x.com"), ("b", "Bob", None), ("d", "Dee", "dee@x.com")) == {
        "inserted": 3, "updated": 0, "unchanged": 0}
    day2 = [("a", "Ann", "ann@y.com"), ("b", "Bob", None), ("c", "Cy", "cy@x.com")]  # d is absent: kept as is
    assert merge(D2, *day2) == {"inserted": 1, "updated": 1, "unchanged": 1}
    table = spark.read.format("delta").load(path)
    expected = {("a", "ann@x.com", D1, D2, False, D1), ("a", "ann@y.com", D2, None, True, D2),
                ("b", None, D1, None, True, D1), ("c", "cy@x.com", D2, None, True, D2),
                ("d", "dee@x.com", D1, None, True, D1)}
    versions = {(r.customer_id, r.email, r.valid_from, r.valid_to, r.is_current, r._source_date) for r in table.collect()}
    assert versions == expected
    assert table.where("is_current").groupBy("customer_id").count().where("count != 1").isEmpty()
    assert {r.customer_id for r in table.where(F.col("is_current") & (F.col("valid_from") == D2)).collect()} == {"a", "c"}

    before = version(spark, path)
    assert merge(D2, *day2) == {"inserted": 0, "updated": 0, "unchanged": 3}
    assert version(spark, path) == before


# --- complaints: current state and status history --------------------------------------------------------

def test_complaint_lifecycle_current_state_and_status_history(spark, tmp_path):
    state, history = str(tmp_path / "web_complaints"), str(tmp_path / "complaint_status_history")

    def run(day, *rows):
        batch = web(spark, *rows)
        written = merge_complaints(spark, state, batch, TABLES["web_complaints"], day).written
        return written, append_status_history(spark, history, {"web_complaints": batch}, day, {"web_complaints": state})["web_complaints"]

    resolved_at = dt.datetime(2025, 6, 3, 9, 30)
    assert run(D1, ("x", "Payments", "Backlog", None, D1), ("y", "Payments", "Backlog", None, D1)) == (2, 2)
    day2 = [("x", "Payments", "In-Progress", None, D2), ("y", "Network Failure", "Backlog", None, D2)]
    assert run(D2, *day2) == (2, 1)  # y's category change is state, not history
    versions = version(spark, state), version(spark, history)
    assert run(D2, *day2) == (0, 0)  # re-running day 2 writes nothing
    assert (version(spark, state), version(spark, history)) == versions
    late_copy_of_y = ("y", "Router Delivery", "Blocked", None, D1)  # an old file delivered again
    assert run(D3, ("x", "Payments", "Resolved", resolved_at, D3), late_copy_of_y) == (1, 1)

    current = {r.request_id: r for r in spark.read.format("delta").load(state).collect()}
    x, y = current["x"], current["y"]
    assert (x.resolution_status, x.resolution_date, x.first_seen_date, x.last_changed_date) == ("Resolved", resolved_at, D1, D3)
    assert (y.complaint_category, y.resolution_status, y.web_form_generation_date, y.last_changed_date) == (
        "Network Failure", "Backlog", D2, D2)
    rows = spark.read.format("delta").load(history).orderBy("complaint_id", "observed_run_date").collect()
    assert [(r.complaint_id, r.resolution_status, r.resolution_date, r.observed_run_date, r.source_generation_date)
            for r in rows] == [("x", "Backlog", None, D1, D1), ("x", "In-Progress", None, D2, D2),
                               ("x", "Resolved", resolved_at, D3, D3), ("y", "Backlog", None, D1, D1)]
    assert {(r.channel, r.customer_id, r.agent_id) for r in rows} == {("web_complaints", KNOWN, 1001)}


def test_call_history_keeps_the_newest_of_repeated_keys_and_has_no_resolution_date(spark, tmp_path):
    batch_and_replay = calls(spark, ("c", KNOWN, 1001, "Backlog", D1), ("c", KNOWN, 1002, "In-Progress", D2))
    added = append_status_history(spark, str(tmp_path / "history"), {"call_logs": batch_and_replay}, D4,
                                  {"call_logs": str(tmp_path / "call_logs")})["call_logs"]
    rows = spark.read.format("delta").load(str(tmp_path / "history")).collect()
    assert added == 1
    assert [(r.channel, r.complaint_id, r.resolution_status, r.agent_id, r.resolution_date, r.source_generation_date)
            for r in rows] == [("call_logs", "c", "In-Progress", 1002, None, D2)]


def test_channels_sharing_a_complaint_id_keep_separate_histories_in_one_append(spark, tmp_path):
    history = str(tmp_path / "history")
    tables = {"call_logs": str(tmp_path / "call_logs"), "web_complaints": str(tmp_path / "web_complaints")}

    def append(day, call_status, web_status):
        batches = {"call_logs": calls(spark, ("same-id", KNOWN, 1001, call_status, day)),
                   "web_complaints": web(spark, ("same-id", "Payments", web_status, None, day))}
        return append_status_history(spark, history, batches, day, tables)

    assert append(D1, "Backlog", "Backlog") == {"call_logs": 1, "web_complaints": 1}
    assert append(D2, "Backlog", "Resolved") == {"call_logs": 0, "web_complaints": 1}  # only the web form moved
    assert append(D2, "Backlog", "Resolved") == {"call_logs": 0, "web_complaints": 0}  # re-run: nothing
    rows = spark.read.format("delta").load(history).collect()
    assert sorted((r.channel, r.resolution_status, r.observed_run_date) for r in rows) == [
        ("call_logs", "Backlog", D1), ("web_complaints", "Backlog", D1), ("web_complaints", "Resolved", D2)]


def test_a_table_recreated_at_the_same_path_is_another_lake_version(spark, tmp_path):
    path = str(tmp_path / "table")
    spark.range(3).write.format("delta").save(path)
    rows, first = pinned(spark, path)
    spark.range(5).write.format("delta").mode("append").save(path)
    assert rows.count() == 3 and first.version == 0  # the frame stays at the version it reports
    shutil.rmtree(path)
    spark.range(3).write.format("delta").save(path)
    _, recreated = pinned(spark, path)
    assert recreated.version == first.version and recreated != first
