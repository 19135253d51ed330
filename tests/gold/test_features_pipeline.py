"""complaint_features on the generated run (fixture `generated_run`: 27 February to 1 March, so across a
month end): against an independent computation from the raw inputs the generator wrote, incremental
against a rebuild from the history, PostgreSQL against the lake, and the `features` command."""
from __future__ import annotations

import calendar
import datetime as dt
import json
from collections import defaultdict
from functools import reduce
from pathlib import Path

import numpy as np
import pandas as pd
import psycopg2
import pytest
from pyspark.sql import DataFrame

from coretelecoms import cli
from coretelecoms.gold import features, lifecycle
from coretelecoms.gold.stage import GoldResult, build_features, read_gold_inputs
from coretelecoms.platform import lake
from coretelecoms.platform.storage import spark_path
from coretelecoms.platform.tables import COMPLAINT_FEATURES, STATUS_HISTORY, channels
from coretelecoms.sources.catalog import CALL_LOGS, SM_COMPLAINTS, WEB_FORMS_SCHEMA, web_forms_table

ISO_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
CATEGORY_COLUMNS = {"Technician Support": "technician_support_complaints", "Payments": "payments_complaints",
                    "Router Delivery": "router_delivery_complaints", "Network Failure": "network_failure_complaints"}
CHANNEL_COLUMNS = {"call_logs": "call_complaints", "sm_complaints": "social_media_complaints",
                   "web_complaints": "web_form_complaints"}


def read(spark, location):
    return spark.read.format("delta").load(spark_path(location))


# --- the raw inputs, read with pandas and psycopg2 only ------------------------------------------------

def _timestamp(text: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(text) if text else None


def raw_deliveries(settings, truth) -> list[dict]:
    """Every row of every daily complaint input the generator wrote, as delivered (one per source row)."""
    landing, rows = Path(settings.landing), []
    for given in truth["inputs"]:
        if given["missing"]:
            continue
        source, day = given["source"], dt.date.fromisoformat(given["date"])
        if source == CALL_LOGS:
            frame = pd.read_csv(landing / given["location"], dtype=str, keep_default_na=False)
            frame = frame.rename(columns={"call ID": "id", "call_start_time": "request", "call_end_time": "call_end"})
        elif source == SM_COMPLAINTS:
            frame = pd.DataFrame(json.loads((landing / given["location"]).read_text()))
            frame = frame.rename(columns={"complaint_id": "id", "request_date": "request",
                                          "resolution_date": "resolution", "media_channel": "platform"})
        else:
            with psycopg2.connect(settings.postgres.source_url) as connection, connection.cursor() as cursor:
                cursor.execute(f'SELECT * FROM "{WEB_FORMS_SCHEMA}"."{web_forms_table(day)}"')
                frame = pd.DataFrame(cursor.fetchall(), columns=[column.name for column in cursor.description])
            frame = frame.rename(columns={"request_id": "id", "request_date": "request", "resolution_date": "resolution"})
        frame = frame.rename(columns={"customeR iD": "customer", "COMPLAINT_catego ry": "category",
                                      "agent ID": "agent", "resolutionstatus": "status"})
        for row, record in enumerate(frame.to_dict("records")):
            rows.append({"source": source, "date": day, "row": row, "id": record["id"], "customer": record["customer"],
                         "category": record["category"], "agent": record["agent"], "status": record["status"],
                         "request": _timestamp(record["request"]), "call_end": _timestamp(record.get("call_end")),
                         "resolution": _timestamp(record.get("resolution")), "platform": record.get("platform")})
    return rows


def usable_complaints(truth, deliveries) -> dict[tuple, list[dict]]:
    """(source, id) -> its deliveries in date order, for complaints that reach the history: not a
    never-resolved orphan, and (to keep the expectation simple) no malformed value in any delivery."""
    last_day = truth["dates"][-1]
    replayed = {(c["source"], c["id"]) for late in truth["late_customers"] if late["arrives_on"] <= last_day
                for c in late["complaints"]}
    orphaned = {(o["source"], o["id"]) for o in truth["orphans"]} - replayed
    malformed = {(m["source"], m["id"]) for m in truth["malformed"]}
    complaints = defaultdict(list)
    for row in deliveries:
        key = (row["source"], row["id"])
        if key not in orphaned:
            complaints[key].append(row)
    return {key: sorted(rows, key=lambda r: r["date"]) for key, rows in complaints.items() if key not in malformed}


def month_end(month: dt.date) -> dt.date:
    return month.replace(day=calendar.monthrange(month.year, month.month)[1])


def next_month(month: dt.date) -> dt.date:
    return (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def expected_features(complaints: list[list[dict]], run_month: dt.date, sla_days: int) -> dict[dt.date, dict]:
    """One customer's rows, by the definitions in gold/features.py, from its deliveries."""
    first_month = min(rows[0]["date"].replace(day=1) for rows in complaints)
    months, month = [], first_month
    while month <= run_month:
        months.append(month)
        month = next_month(month)

    def state(rows, end):  # (status, reported resolution, first day seen Resolved) at `end`, None if unknown
        known = [r for r in rows if r["date"] <= end]
        if not known:
            return None
        resolved = [r["date"] for r in known if r["status"] == "Resolved"]
        return known[-1]["status"], known[-1]["resolution"], resolved[0] if resolved else None

    result, counts = {}, []
    for month in months:
        end, previous_end = month_end(month), month - dt.timedelta(days=1)
        new = [rows for rows in complaints if rows[0]["date"].replace(day=1) == month]
        facts = [rows[-1] for rows in new]
        resolved_days, met = [], []
        open_now = blocked = resolved_by_end_of_new = 0
        for rows in complaints:
            now = state(rows, end)
            if now is None:
                continue
            status, reported, first_resolved = now
            open_now += status != "Resolved"
            blocked += status == "Blocked"
            if rows in new and status == "Resolved":
                resolved_by_end_of_new += 1
            before = state(rows, previous_end)
            if status == "Resolved" and (before is None or before[0] != "Resolved"):
                on_call = rows[-1]["call_end"] is not None and first_resolved == rows[0]["date"]
                when = reported or (rows[-1]["call_end"] if on_call else dt.datetime.combine(first_resolved, dt.time()))
                seconds = (when - rows[-1]["request"]).total_seconds()
                resolved_days.append(round(seconds / 86400, 2))
                met.append(seconds <= sla_days * 86400)
        days = [f["request"].isoweekday() for f in facts]
        calls = [round((f["call_end"] - f["request"]).total_seconds() / 60, 2) for f in facts if f["call_end"]]
        agents = {int(r["agent"]) for rows in complaints for r in rows if r["date"].replace(day=1) == month}

        def most(values, order):
            best = max(order, key=lambda v: (values.count(v), -order.index(v)))
            return best if values.count(best) else None

        counts.append(len(new))
        window = lambda n: sum(counts[-n:])  # noqa: E731 (every month is present, so months are list items)
        result[month] = {
            "complaints": len(new),
            **{column: sum(f["source"] == channel for f in facts) for channel, column in CHANNEL_COLUMNS.items()},
            **{column: sum(f["category"] == category for f in facts) for category, column in CATEGORY_COLUMNS.items()},
            "distinct_agents": len(agents),
            "resolved": len(resolved_days), "open_at_month_end": open_now, "blocked_at_month_end": blocked,
            "resolution_rate": round(resolved_by_end_of_new / len(new), 4) if new else None,
            "mean_days_to_resolution": round(float(np.mean(resolved_days)), 2) if resolved_days else None,
            "p90_days_to_resolution": round(float(np.percentile(resolved_days, 90)), 2) if resolved_days else None,
            "sla_met_share": round(sum(met) / len(met), 4) if met else None,
            "mean_call_minutes": round(float(np.mean(calls)), 2) if calls else None,
            "max_call_minutes": max(calls) if calls else None,
            "weekday_complaints": sum(d <= 5 for d in days), "weekend_complaints": sum(d >= 6 for d in days),
            "most_frequent_complaint_day": most([ISO_DAYS[d - 1] for d in days], list(ISO_DAYS)),
            "preferred_channel": most([f["source"] for f in facts], sorted(CHANNEL_COLUMNS)),
            "preferred_platform": most([f["platform"] for f in facts if f["platform"]],
                                       ["Facebook", "Instagram", "LinkedIn", "Twitter"]),
            "complaints_3m": window(3), "complaints_6m": window(6), "complaints_12m": window(12),
            "complaints_change": len(new) - (counts[-2] if len(counts) > 1 else 0),
            "months_since_first_complaint": len(counts) - 1,
            "rising_trend": window(3) > window(6) - window(3),
        }
    return result


@pytest.fixture(scope="module")
def stored_features(spark, generated_run):
    settings, _, _ = generated_run
    rows = read(spark, lake.gold(settings, COMPLAINT_FEATURES)).collect()
    return {(row["customer_id"], row["month"]): row.asDict() for row in rows}


@pytest.fixture(scope="module")
def complaints_by_customer(generated_run):
    settings, truth, _ = generated_run
    by_customer = defaultdict(list)
    for rows in usable_complaints(truth, raw_deliveries(settings, truth)).values():
        by_customer[rows[0]["customer"]].append(rows)
    return by_customer


def chosen_customers(truth, by_customer) -> dict[str, str]:
    """Why each checked customer is interesting -> the customer."""
    all_clean = {customer for customer, complaints in by_customer.items()}
    replayed = [c["id"] for late in truth["late_customers"] if late["arrives_on"] <= truth["dates"][-1]
                for c in late["complaints"]]
    across = [rows for complaints in by_customer.values() for rows in complaints
              if len({r["date"].month for r in rows}) > 1 and len({r["status"] for r in rows}) > 1]
    busiest = sorted(all_clean, key=lambda c: (-len(by_customer[c]), c))
    chosen = {
        "replayed orphan": next(c for c in busiest if any(rows[0]["id"] in replayed for rows in by_customer[c])),
        "status changed across the month end": across[0][0]["customer"],
    }
    for customer in busiest[:4]:
        chosen[f"{len(by_customer[customer])} complaints"] = customer
    return chosen


def test_features_match_an_independent_computation_from_the_raw_inputs(generated_run, stored_features,
                                                                       complaints_by_customer):
    settings, truth, results = generated_run
    assert truth["dates"][0].startswith("2025-02") and truth["dates"][-1].startswith("2025-03")
    run_month = results[-1].run_date.replace(day=1)
    chosen = chosen_customers(truth, complaints_by_customer)
    assert len(set(chosen.values())) >= 4, chosen
    checked_months = 0
    for why, customer in chosen.items():
        expected = expected_features(complaints_by_customer[customer], run_month, settings.gold.sla_days)
        stored = {month: row for (c, month), row in stored_features.items() if c == customer}
        assert sorted(stored) == sorted(expected), why
        for month, values in expected.items():
            got = {name: stored[month][name] for name in values}
            assert got == pytest.approx(values, abs=0.006), (why, customer, month)
            checked_months += 1
    assert checked_months >= 8


def test_months_without_complaints_are_present(stored_features):
    """Everyone who complained in February has a March row, zeros included where nothing new came."""
    february = {c for c, month in stored_features if month == dt.date(2025, 2, 1)}
    march = {c for c, month in stored_features if month == dt.date(2025, 3, 1)}
    assert february and february <= march
    quiet = [stored_features[(c, dt.date(2025, 3, 1))] for c in february]
    assert any(row["complaints"] == 0 and row["complaints_3m"] > 0 for row in quiet)


def test_incremental_features_equal_a_rebuild_from_the_history(spark, generated_run):
    """Day by day, each run recomputed only the months it touched; a rebuild from the whole history
    at the last date gives exactly the same rows (point in time: no later knowledge leaks back)."""
    settings, _, results = generated_run
    history = read(spark, lake.silver(settings, STATUS_HISTORY))
    facts = reduce(DataFrame.unionByName, [lifecycle.channel_facts(channel, read(spark, lake.silver(settings, channel)))
                                           for channel in channels()])
    rebuilt = features.customer_months(history, facts, results[-1].run_date, settings.gold.sla_days)
    stored = read(spark, lake.gold(settings, COMPLAINT_FEATURES)).select(*rebuilt.columns)
    content = [c for c in rebuilt.columns if c != "updated_date"]
    assert rebuilt.count() == stored.count() > 0
    assert stored.select(*content).exceptAll(rebuilt.select(*content)).isEmpty()
    # Each run wrote only the customers and months it touched: the first run of March wrote every
    # customer's March row, the February runs only their own customers' February rows.
    run_dates = [result.run_date for result in results]
    first_march_run = min(day for day in run_dates if day.month == 3)
    written = {(row["month"], row["updated_date"]) for row in stored.select("month", "updated_date").distinct().collect()}
    assert {updated for month, updated in written if month == dt.date(2025, 3, 1)} == {first_march_run}
    assert {updated for month, updated in written if month == dt.date(2025, 2, 1)} & {d for d in run_dates if d.month == 2}


def test_rerunning_the_last_date_or_rebuilding_every_month_changes_nothing(spark, generated_run):
    settings, _, results = generated_run
    last = results[-1].run_date
    location = lake.gold(settings, COMPLAINT_FEATURES)
    commits = spark.sql(f"DESCRIBE HISTORY delta.`{spark_path(location)}`").count()
    again, rebuilt = GoldResult(), GoldResult()
    inputs = read_gold_inputs(spark, settings, last)
    build_features(spark, settings, last, inputs, again, progress=lambda _: None)
    build_features(spark, settings, last, inputs, rebuilt, rebuild=True, progress=lambda _: None)
    assert (again.features_customers, again.features_changed) == ("touched", 0)
    assert (rebuilt.features_customers, rebuilt.features_changed) == ("all", 0)
    assert spark.sql(f"DESCRIBE HISTORY delta.`{spark_path(location)}`").count() == commits  # nothing committed


def test_postgres_holds_the_same_features(spark, generated_run, conformance_dsn):
    settings, _, _ = generated_run
    columns = [c for c in features.COLUMNS]
    in_lake = read(spark, lake.gold(settings, COMPLAINT_FEATURES)).select(*columns).collect()
    with psycopg2.connect(conformance_dsn) as connection, connection.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(columns)} FROM complaint_features")
        database = cursor.fetchall()
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE tablename = 'complaint_features'")
        indexes = " ".join(row[0] for row in cursor.fetchall())
    assert sorted(map(tuple, in_lake)) == sorted(database)
    assert "(customer_id, month)" in indexes and "(month)" in indexes


def test_cli_prints_a_customers_months(generated_run, complaints_by_customer, stored_features, monkeypatch, capsys,
                                       conformance_dsn):
    settings, truth, _ = generated_run
    customer = chosen_customers(truth, complaints_by_customer)["status changed across the month end"]
    monkeypatch.setenv("CORETELECOMS__POSTGRES__CONFORMANCE_URL", conformance_dsn)
    monkeypatch.setenv("CORETELECOMS__POSTGRES__SOURCE_URL", settings.postgres.source_url)
    assert cli.main(["--env", "test", "features", customer]) == 0
    printed = capsys.readouterr().out.splitlines()
    months = sorted(month for c, month in stored_features if c == customer)
    assert printed[1].split() == ["month", *(f"{m:%Y-%m}" for m in months)]
    total = next(line for line in printed if line.startswith("complaints "))
    assert total.split()[1:] == [str(stored_features[(customer, m)]["complaints"]) for m in months]
    assert cli.main(["--env", "test", "features", customer, "--month", "2025-03"]) == 0
    assert capsys.readouterr().out.splitlines()[1].split() == ["month", "2025-03"]
    assert cli.main(["--env", "test", "features", "no-such-customer"]) == 1
    assert "no complaint features for customer no-such-customer" in capsys.readouterr().err
