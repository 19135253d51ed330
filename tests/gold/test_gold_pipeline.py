"""Gold on the generated run (fixture `generated_run`): the lifecycle against the generator's ground
truth, against a from-scratch rebuild and against PostgreSQL; the CLI answers; the run reports."""
import datetime as dt
from functools import reduce

import psycopg2
import pytest
from pyspark.sql import DataFrame

from coretelecoms import cli
from coretelecoms.gold import lifecycle
from coretelecoms.platform.tables import COMPLAINT_LIFECYCLE, STATUS_HISTORY, UNIFIED_COMPLAINTS
from coretelecoms.platform.storage import spark_path
from coretelecoms.platform.tables import channels
from coretelecoms.platform import lake


def read(spark, location):
    return spark.read.format("delta").load(spark_path(location))


def expected_lifecycles(truth) -> dict:
    """Milestones and durations of every complaint the generator observed more than once."""
    observed = {}
    for seen in truth["transitions"]:
        observed.setdefault((seen["source"], seen["id"]), []).append(
            (dt.date.fromisoformat(seen["date"]), seen["status"], int(seen["agent_id"])))
    expected = {}
    for key, steps in observed.items():
        steps.sort()
        row = {m: None for m in lifecycle.MILESTONES} | {d: 0 for d in lifecycle.DURATIONS}
        for (day, status, _), following in zip(steps, steps[1:] + [None]):
            row[lifecycle.status_column(status, "date")] = row[lifecycle.status_column(status, "date")] or day
            if following:
                row[lifecycle.status_column(status, "days")] += (following[0] - day).days
        row["current_status"], row["agent_id"] = steps[-1][1], steps[-1][2]
        expected[key] = row
    return expected


@pytest.fixture(scope="module")
def gold_lifecycle(spark, generated_run):
    settings, truth, _ = generated_run
    rows = read(spark, lake.gold(settings, COMPLAINT_LIFECYCLE)).collect()
    return {(r["channel"], r["complaint_id"]): r.asDict() for r in rows}


def test_lifecycle_matches_the_ground_truth(generated_run, gold_lifecycle):
    settings, truth, _ = generated_run
    expected = expected_lifecycles(truth)
    assert len(expected) >= 5
    several = [key for key, row in expected.items() if sum(row[m] is not None for m in lifecycle.MILESTONES) > 1]
    assert several, "the generated data has complaints that went through several statuses"
    for key, row in expected.items():
        assert {name: gold_lifecycle[key][name] for name in row} == row, key


def test_lifecycle_equals_a_rebuild_from_scratch(spark, generated_run):
    settings, truth, results = generated_run
    history = read(spark, lake.silver(settings, STATUS_HISTORY))
    facts = reduce(DataFrame.unionByName, [
        lifecycle.channel_facts(channel, read(spark, lake.silver(settings, channel)))
        for channel in channels()])
    rebuilt = lifecycle.rebuild(history, facts, results[-1].run_date, settings.gold.sla_days).drop("updated_date")
    stored = read(spark, lake.gold(settings, COMPLAINT_LIFECYCLE)).drop("updated_date", "row_hash")
    assert sorted(map(tuple, rebuilt.collect())) == sorted(map(tuple, stored.select(*rebuilt.columns).collect()))


def query(dsn, statement):
    with psycopg2.connect(dsn) as connection, connection.cursor() as cursor:
        cursor.execute(statement)
        return cursor.fetchall()


def test_postgres_holds_the_same_gold(spark, generated_run, conformance_dsn):
    settings, _, _ = generated_run
    columns = [c for c in lifecycle.COLUMNS]
    in_lake = read(spark, lake.gold(settings, COMPLAINT_LIFECYCLE)).select(*columns).collect()
    database = query(conformance_dsn, f"SELECT {', '.join(columns)} FROM complaint_lifecycle")
    assert sorted(map(tuple, in_lake)) == sorted(database)
    unified = read(spark, lake.gold(settings, UNIFIED_COMPLAINTS))
    by_channel = {r["channel"]: r["count"] for r in unified.groupBy("channel").count().collect()}
    assert dict(query(conformance_dsn, "SELECT channel, count(*) FROM complaints GROUP BY channel")) == by_channel
    for channel in channels():
        assert by_channel[channel] == read(spark, lake.silver(settings, channel)).count()


@pytest.mark.parametrize("source", ["conformance database", "lake"])
def test_cli_lifecycle_answers_match_the_ground_truth(generated_run, gold_lifecycle, conformance_dsn, monkeypatch,
                                                      capsys, source):
    settings, truth, _ = generated_run
    expected = expected_lifecycles(truth)
    (channel, complaint), row = max(expected.items(), key=lambda item: sum(item[1][d] for d in lifecycle.DURATIONS))
    monkeypatch.setenv("CORETELECOMS__LAKE", settings.lake)
    monkeypatch.setenv("CORETELECOMS__POSTGRES__SOURCE_URL", settings.postgres.source_url)
    if source == "lake":  # no database configured: the lake answers, through Spark
        monkeypatch.setenv("CORETELECOMS__POSTGRES__REQUIRED", "false")
        monkeypatch.setenv("CORETELECOMS__POSTGRES__EMBEDDED_DIR", "")
    else:  # the database answers, without Spark
        monkeypatch.setenv("CORETELECOMS__POSTGRES__CONFORMANCE_URL", conformance_dsn)
    assert cli.main(["--env", "test", "lifecycle", complaint]) == 0
    printed = capsys.readouterr().out
    assert f"channel {channel}" in printed and f"now {row['current_status']}" in printed
    for status, milestone, days in zip(lifecycle.STATUSES, lifecycle.MILESTONES, lifecycle.DURATIONS):
        reached = f"first seen {row[milestone]}" if row[milestone] else "never"
        assert f"  {status:<12} {row[days]:>4}   {reached}" in printed
    assert cli.main(["--env", "test", "lifecycle", "no-such-complaint"]) == 1
    assert f"is not in the lifecycle of the {source}" in capsys.readouterr().out


def test_cli_lifecycle_of_a_resolved_call_shows_no_missing_resolution_time(generated_run, conformance_dsn, monkeypatch,
                                                                           capsys):
    """Calls report no resolution time: their history shows none, not a '-' beside 'Resolved'."""
    [(complaint,)] = query(conformance_dsn, "SELECT complaint_id FROM complaint_lifecycle WHERE channel = 'call_logs'"
                                            " AND current_status = 'Resolved' ORDER BY complaint_id LIMIT 1")
    monkeypatch.setenv("CORETELECOMS__POSTGRES__CONFORMANCE_URL", conformance_dsn)
    monkeypatch.setenv("CORETELECOMS__POSTGRES__SOURCE_URL", generated_run[0].postgres.source_url)
    assert cli.main(["--env", "test", "lifecycle", complaint]) == 0
    printed = capsys.readouterr().out
    assert "history (source date, run date, status, agent):" in printed
    [step] = [line for line in printed.splitlines() if "  Resolved " in line and " run " in line][:1]
    assert not step.rstrip().endswith("-")
    assert "days after the request, SLA (3 days)" in printed


def test_every_run_wrote_json_and_html_reports(generated_run, monkeypatch, capsys):
    settings, truth, results = generated_run
    for result in results:
        for folder in (f"{settings.lake}/_runs", settings.runs):
            base = f"{folder}/{result.run_date}/{result.run_id}"
            assert spark_path(base + ".json") and open(base + ".json").read().startswith("{")
            page = open(base + ".html").read()
            assert page.count("<svg") >= 3 and result.run_id in page
    monkeypatch.setenv("CORETELECOMS__LAKE", settings.lake)
    monkeypatch.setenv("CORETELECOMS__RUNS", settings.runs)
    last = results[-1]
    assert cli.main(["--env", "test", "report", "--date", last.run_date.isoformat()]) == 0
    printed = capsys.readouterr().out
    assert last.run_id in printed and "  open orphans " in printed and "  expectations passed (critical, warning): " in printed and "html report:" in printed
    steps = next(line.strip() for line in printed.splitlines() if line.strip().startswith("steps "))
    assert [part.split()[0] for part in steps[len("steps "):].split(", ")] == [
        "bronze", "silver", "conformance_lake", "gold", "features", "data_docs", "conformance_postgres"]  # as they ran
    assert all(sum(result.gold.transitions.values()) > 0 for result in results)
