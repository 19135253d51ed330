"""complaint_features for crafted histories: every feature's value worked out by hand, calendar months
without complaints, month-end states, ties, and that an old month does not change when later
observations arrive."""
import datetime as dt

import pytest

from coretelecoms.gold import features
from coretelecoms.platform.tables import COMPLAINT_FEATURES, TABLES
from tests.conftest import PROJECT_ROOT

RUN = dt.date(2025, 4, 10)
T = dt.datetime
ANN, BOB, CAT = "ann", "bob", "cat"

# (channel, complaint, customer, category, request, call end, platform, [(file date, status, agent, reported resolution)])
COMPLAINTS = [
    # Ann: a call open at January's end, resolved on 2 February (89.58 days after its Monday request).
    ("call_logs", "c1", ANN, "Payments", T(2024, 11, 4, 10), T(2024, 11, 4, 10, 10), None,
     [(dt.date(2025, 1, 30), "Backlog", 1001, None), (dt.date(2025, 2, 2), "Resolved", 1002, None)]),
    # Ann: a tweet seen first in March, already resolved two days after its Thursday request.
    ("sm_complaints", "s1", ANN, "Network Failure", T(2025, 2, 27, 12), None, "Twitter",
     [(dt.date(2025, 3, 5), "Resolved", 1003, T(2025, 3, 1, 12))]),
    # Bob: Backlog at March's end, Blocked at April's end (a status change across the month boundary).
    ("web_complaints", "w1", BOB, "Router Delivery", T(2025, 3, 8, 9), None, None,
     [(dt.date(2025, 3, 31), "Backlog", 1004, None), (dt.date(2025, 4, 1), "Blocked", 1004, None)]),
    # Bob: a call solved on the call, 12 minutes (its end is its resolution: 0.01 days).
    ("call_logs", "c2", BOB, "Payments", T(2025, 3, 15, 8, 0), T(2025, 3, 15, 8, 12), None,
     [(dt.date(2025, 4, 2), "Resolved", 1005, None)]),
    # Cat: a tie on everything: one Monday web form, one Tuesday tweet (LinkedIn) in the same month.
    ("web_complaints", "w2", CAT, "Payments", T(2025, 3, 3, 9), None, None,
     [(dt.date(2025, 4, 3), "In-Progress", 1006, None)]),
    ("sm_complaints", "s2", CAT, "Payments", T(2025, 3, 4, 9), None, "LinkedIn",
     [(dt.date(2025, 4, 4), "Backlog", 1006, None)]),
]


def frames(spark, complaints=COMPLAINTS, observed_up_to=RUN):
    history = [(channel, complaint, seen, status, agent, reported, seen, customer)
               for channel, complaint, customer, *_, steps in complaints
               for seen, status, agent, reported in steps if seen <= observed_up_to]
    facts = [(channel, complaint, customer, None, category, request, None, call_end, platform)
             for channel, complaint, customer, category, request, call_end, platform, _ in complaints]
    return (
        spark.createDataFrame(history, "channel string, complaint_id string, observed_run_date date,"
                              " resolution_status string, agent_id int, resolution_date timestamp,"
                              " source_generation_date date, customer_id string"),
        spark.createDataFrame(facts, "channel string, complaint_id string, customer_id string, agent_id int,"
                              " complaint_category string, request_date timestamp, reported_resolution timestamp,"
                              " call_end_time timestamp, platform string"),
    )


def computed(spark, run_date=RUN, observed_up_to=RUN):
    history, facts = frames(spark, observed_up_to=observed_up_to)
    rows = features.customer_months(history, facts, run_date, sla_days=3).collect()
    return {(row["customer_id"], row["month"].isoformat()[:7]): row.asDict() for row in rows}


@pytest.fixture(scope="module")
def rows(spark):
    return computed(spark)


ZERO = {name: 0 for name in ("complaints", "call_complaints", "social_media_complaints", "web_form_complaints",
                             "technician_support_complaints", "payments_complaints", "router_delivery_complaints",
                             "network_failure_complaints", "distinct_agents", "resolved", "open_at_month_end",
                             "blocked_at_month_end", "weekday_complaints", "weekend_complaints")}
NONE = {name: None for name in ("resolution_rate", "mean_days_to_resolution", "p90_days_to_resolution",
                                "sla_met_share", "mean_call_minutes", "max_call_minutes",
                                "most_frequent_complaint_day", "preferred_channel", "preferred_platform")}


def expected(**values):
    return {**ZERO, **NONE, **values}


def test_every_column_is_a_defined_feature(spark):  # columns need a running Spark
    defined = features.features()
    content = [c.name for c in TABLES[COMPLAINT_FEATURES].columns if c.name not in ("row_hash", "updated_date")]
    assert list(defined) == content[2:] and content[:2] == ["customer_id", "month"]
    assert all(feature.meaning for feature in defined.values())


def test_the_readme_defines_every_feature(spark):
    readme = (PROJECT_ROOT / "README.md").read_text()
    section = readme[readme.index("### Complaint features"):readme.index("`notebooks/explore.ipynb` opens")]
    assert [name for name in features.features() if f"`{name}`" not in section] == []


def test_one_row_per_customer_and_month_from_the_first_complaint_to_the_run_month(rows):
    assert sorted(rows) == [(ANN, "2025-01"), (ANN, "2025-02"), (ANN, "2025-03"), (ANN, "2025-04"),
                            (BOB, "2025-03"), (BOB, "2025-04"), (CAT, "2025-04")]
    assert all(row["updated_date"] == RUN for row in rows.values())


@pytest.mark.parametrize("key, values", [
    ((ANN, "2025-01"), expected(
        complaints=1, call_complaints=1, payments_complaints=1, distinct_agents=1, open_at_month_end=1,
        resolution_rate=0.0, mean_call_minutes=10.0, max_call_minutes=10.0, weekday_complaints=1,
        most_frequent_complaint_day="Monday", preferred_channel="call_logs",
        complaints_3m=1, complaints_6m=1, complaints_12m=1, complaints_change=1, months_since_first_complaint=0,
        rising_trend=True)),
    # No new complaint: the January call's resolution lands here (request 2024-11-04 10:00 to 2025-02-02).
    ((ANN, "2025-02"), expected(
        distinct_agents=1, resolved=1, mean_days_to_resolution=89.58, p90_days_to_resolution=89.58, sla_met_share=0.0,
        complaints_3m=1, complaints_6m=1, complaints_12m=1, complaints_change=-1, months_since_first_complaint=1,
        rising_trend=True)),
    ((ANN, "2025-03"), expected(
        complaints=1, social_media_complaints=1, network_failure_complaints=1, distinct_agents=1, resolved=1,
        resolution_rate=1.0, mean_days_to_resolution=2.0, p90_days_to_resolution=2.0, sla_met_share=1.0,
        weekday_complaints=1, most_frequent_complaint_day="Thursday", preferred_channel="sm_complaints",
        preferred_platform="Twitter", complaints_3m=2, complaints_6m=2, complaints_12m=2, complaints_change=1,
        months_since_first_complaint=2, rising_trend=True)),
    ((ANN, "2025-04"), expected(
        complaints_3m=1, complaints_6m=2, complaints_12m=2, complaints_change=-1, months_since_first_complaint=3,
        rising_trend=False)),
    ((BOB, "2025-03"), expected(
        complaints=1, web_form_complaints=1, router_delivery_complaints=1, distinct_agents=1, open_at_month_end=1,
        resolution_rate=0.0, weekend_complaints=1, most_frequent_complaint_day="Saturday",
        preferred_channel="web_complaints", complaints_3m=1, complaints_6m=1, complaints_12m=1, complaints_change=1,
        rising_trend=True)),
    # The web form moved from Backlog to Blocked on 1 April; the call was solved on the call (12 minutes).
    ((BOB, "2025-04"), expected(
        complaints=1, call_complaints=1, payments_complaints=1, distinct_agents=2, resolved=1, open_at_month_end=1,
        blocked_at_month_end=1, resolution_rate=1.0, mean_days_to_resolution=0.01, p90_days_to_resolution=0.01,
        sla_met_share=1.0, mean_call_minutes=12.0, max_call_minutes=12.0, weekend_complaints=1,
        most_frequent_complaint_day="Saturday", preferred_channel="call_logs", complaints_3m=2, complaints_6m=2,
        complaints_12m=2, complaints_change=0, months_since_first_complaint=1, rising_trend=True)),
    # Ties: Monday before Tuesday, sm_complaints before web_complaints; one platform only.
    ((CAT, "2025-04"), expected(
        complaints=2, social_media_complaints=1, web_form_complaints=1, payments_complaints=2, distinct_agents=1,
        open_at_month_end=2, resolution_rate=0.0, weekday_complaints=2, most_frequent_complaint_day="Monday",
        preferred_channel="sm_complaints", preferred_platform="LinkedIn", complaints_3m=2, complaints_6m=2,
        complaints_12m=2, complaints_change=2, rising_trend=True)),
])
def test_feature_values(rows, key, values):
    assert {name: rows[key][name] for name in values} == values


def test_an_old_month_is_the_same_whenever_it_is_computed(spark, rows):
    """Computed at the end of March with what was known then, March equals March computed in April."""
    in_march = computed(spark, run_date=dt.date(2025, 3, 31), observed_up_to=dt.date(2025, 3, 31))
    for key in [(ANN, "2025-01"), (ANN, "2025-02"), (ANN, "2025-03"), (BOB, "2025-03")]:
        assert {k: v for k, v in in_march[key].items() if k != "updated_date"} == \
            {k: v for k, v in rows[key].items() if k != "updated_date"}, key


def test_the_twelve_month_window_counts_calendar_months(spark):
    """A complaint 13 months before the run month has left the 12-month sum; the months between exist."""
    history, facts = frames(spark, [COMPLAINTS[1]])  # Ann's March 2025 tweet only
    rows = {row["month"]: row for row in features.customer_months(history, facts, dt.date(2026, 4, 1), 3).collect()}
    assert len(rows) == 14
    assert [rows[dt.date(2026, m, 1)]["complaints_12m"] for m in (2, 3, 4)] == [1, 0, 0]
    assert rows[dt.date(2026, 4, 1)]["months_since_first_complaint"] == 13
