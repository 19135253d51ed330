"""complaint_lifecycle for crafted histories: exact milestones and durations, incremental == rebuild."""
import datetime as dt

import pytest
from pyspark.sql import functions as F

from coretelecoms.gold import lifecycle
from coretelecoms.gold.lifecycle import KEY

D = [None] + [dt.date(2025, 3, day) for day in range(1, 10)]  # D[1] is the first file date
REQUEST = dt.datetime(2025, 2, 27, 9, 0)

# (complaint, [(file date, run date, status, agent)]): one observation per run date at most.
HISTORIES = {
    "skipped": [(D[1], D[1], "Backlog", 1001), (D[4], D[4], "Resolved", 1001)],
    "blocked_then_resolved": [(D[1], D[1], "In-Progress", 1002), (D[2], D[2], "Blocked", 1002),
                              (D[5], D[5], "Resolved", 1003)],
    "reopened": [(D[1], D[1], "Backlog", 1004), (D[2], D[2], "Resolved", 1004), (D[4], D[4], "In-Progress", 1004),
                 (D[6], D[6], "Resolved", 1005)],
    # Quarantined on day 1 (its parent arrived later), replayed on run day 3 with its day-1 record.
    "late_replay": [(D[1], D[3], "Backlog", 1006), (D[4], D[4], "In-Progress", 1006)],
    "reassigned_only": [(D[1], D[1], "Backlog", 1007), (D[3], D[3], "Backlog", 1008)],
    "seen_once": [(D[2], D[2], "Blocked", 1010)],
    # A malformed status is loaded as null: such an observation says nothing about the status.
    "status_malformed_once": [(D[1], D[1], "Backlog", 1011), (D[2], D[2], None, 1011), (D[3], D[3], "Resolved", 1011)],
    "status_never_known": [(D[1], D[1], None, 1012)],
}


def history_rows(spark, histories, channel="web_complaints"):
    rows = [(complaint, channel, status, agent, None, run, observed, "cust")
            for complaint, steps in histories.items() for observed, run, status, agent in steps]
    return spark.createDataFrame(
        rows, "complaint_id string, channel string, resolution_status string, agent_id int, resolution_date timestamp,"
              " observed_run_date date, source_generation_date date, customer_id string")


def facts_rows(spark, complaints, channel="web_complaints", resolution=None, call_end=None):
    rows = [(channel, c, "cust", 1009, "Payments", REQUEST, resolution, call_end, None) for c in complaints]
    return spark.createDataFrame(
        rows, "channel string, complaint_id string, customer_id string, agent_id int, complaint_category string,"
              " request_date timestamp, reported_resolution timestamp, call_end_time timestamp, platform string")


def fold_daily(spark, history, facts, last_run_day, sla_days=3):
    """The lifecycle after running every day 1..last_run_day incrementally (table replaced by key)."""
    current = spark.createDataFrame([], lifecycle.LIFECYCLE_SCHEMA)
    for day in D[1:last_run_day + 1]:
        today = history.where(F.col("observed_run_date") == F.lit(day))
        affected = today.select(*KEY).distinct()
        rows = lifecycle.advance(current.join(affected, list(KEY), "left_semi"), today,
                                 facts.join(affected, list(KEY), "left_semi"), day, sla_days)
        current = current.join(rows.select(*KEY), list(KEY), "left_anti").unionByName(rows).localCheckpoint()
    return current


def by_complaint(frame):
    return {row["complaint_id"]: row.asDict() for row in frame.collect()}


@pytest.fixture(scope="module")
def folded(spark):
    history = history_rows(spark, HISTORIES)
    facts = facts_rows(spark, HISTORIES)
    return history, facts, by_complaint(fold_daily(spark, history, facts, 6))


@pytest.mark.parametrize("complaint, expected", [
    ("skipped", dict(backlog_date=D[1], in_progress_date=None, blocked_date=None, resolved_date=D[4],
                     backlog_days=3, in_progress_days=0, blocked_days=0, resolved_days=0,
                     current_status="Resolved", current_status_since=D[4], status_changes=1, reopened=0)),
    ("blocked_then_resolved", dict(backlog_date=None, in_progress_date=D[1], blocked_date=D[2], resolved_date=D[5],
                                   in_progress_days=1, blocked_days=3, current_status="Resolved", agent_id=1009,
                                   status_changes=2)),
    ("reopened", dict(backlog_date=D[1], resolved_date=D[2], in_progress_date=D[4], backlog_days=1, resolved_days=2,
                      in_progress_days=2, current_status="Resolved", current_status_since=D[6], status_changes=3,
                      reopened=1, observations=4, first_observed_date=D[1], last_observed_date=D[6])),
    ("late_replay", dict(backlog_date=D[1], in_progress_date=D[4], backlog_days=3, in_progress_days=0,
                         current_status="In-Progress", current_status_since=D[4], last_observed_run_date=D[4])),
    ("seen_once", dict(blocked_date=D[2], blocked_days=0, backlog_days=0, current_status="Blocked",
                       current_status_since=D[2], status_changes=0, reopened=0, observations=1, resolution_date=None)),
    ("status_malformed_once", dict(backlog_date=D[1], backlog_days=2, resolved_date=D[3], current_status="Resolved",
                                   observations=2, status_changes=1)),
    ("reassigned_only", dict(backlog_date=D[1], backlog_days=2, current_status="Backlog", current_status_since=D[1],
                             status_changes=0, observations=2)),
])
def test_milestones_and_durations(folded, complaint, expected):
    row = folded[2][complaint]
    assert {name: row[name] for name in expected} == expected


def test_a_complaint_without_a_known_status_has_no_lifecycle_yet(folded):
    assert "status_never_known" not in folded[2]


def test_resolution_and_sla(folded):
    rows = folded[2]
    # No reported resolution time in these facts: the day Resolved was first seen, from the request.
    assert rows["skipped"]["resolution_date"] == dt.datetime(2025, 3, 4)
    assert rows["skipped"]["days_to_resolution"] == pytest.approx(4.62, abs=0.01)  # 27 Feb 09:00 -> 4 Mar 00:00
    assert rows["skipped"]["met_sla"] is False
    assert rows["late_replay"]["resolution_date"] is None and rows["late_replay"]["met_sla"] is None


def test_reported_resolution_and_calls_solved_on_the_call(spark):
    history = history_rows(spark, {"web": [(D[2], D[2], "Resolved", 1001)]}).unionByName(
        history_rows(spark, {"call": [(D[2], D[2], "Resolved", 1001)]}, channel="call_logs"))
    facts = facts_rows(spark, ["web"], resolution=dt.datetime(2025, 3, 1, 9, 0)).unionByName(
        facts_rows(spark, ["call"], channel="call_logs", call_end=dt.datetime(2025, 2, 27, 9, 12)))
    rows = by_complaint(fold_daily(spark, history, facts, 2))
    assert (rows["web"]["resolution_date"], rows["web"]["days_to_resolution"], rows["web"]["met_sla"]) == (
        dt.datetime(2025, 3, 1, 9, 0), 2.0, True)
    assert (rows["call"]["resolution_date"], rows["call"]["days_to_resolution"], rows["call"]["met_sla"]) == (
        dt.datetime(2025, 2, 27, 9, 12), 0.01, True)


def test_a_milestone_is_never_overwritten_and_a_rerun_changes_nothing(spark, folded):
    history, facts, _ = folded
    after_five = fold_daily(spark, history, facts, 5)
    day_five = history.where(F.col("observed_run_date") == F.lit(D[5]))
    again = by_complaint(lifecycle.advance(after_five, day_five, facts, D[5], 3).drop("updated_date"))
    before = by_complaint(after_five.drop("updated_date"))
    assert again == before  # day 5 is already folded in
    assert before["reopened"]["resolved_date"] == D[2]


def test_incremental_equals_rebuild(spark, folded):
    history, facts, incremental = folded
    rebuilt = by_complaint(lifecycle.rebuild(history, facts, D[6], 3).drop("updated_date"))
    assert rebuilt == {key: {k: v for k, v in row.items() if k != "updated_date"} for key, row in incremental.items()}


def test_transitions_count_only_new_observations(spark, folded):
    history, facts, _ = folded
    after_three = fold_daily(spark, history, facts, 3)
    day_four = history.where(F.col("observed_run_date") == F.lit(D[4]))
    counted = {(r["from_status"], r["to_status"]): r["count"]
               for r in lifecycle.transitions(after_three, day_four).collect()}
    assert counted == {("Backlog", "Resolved"): 1, ("Resolved", "In-Progress"): 1, ("Backlog", "In-Progress"): 1}
