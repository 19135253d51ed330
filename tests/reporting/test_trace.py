"""`coretelecoms trace ID` as users run it, on one generated call made to have every kind of lineage: a
repaired field, a quarantine (its customer arrives a day late), the replay, and a later status change."""
from __future__ import annotations

import csv
import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from coretelecoms import cli, pipeline
from coretelecoms.reporting.trace import issue_line
from coretelecoms_dev.generator import GeneratorConfig, Hazards, generate, input_location, publish
from tests.conftest import make_settings, session_database

DAYS = (dt.date(2025, 12, 8), dt.date(2025, 12, 9), dt.date(2025, 12, 10))  # no other test generates these dates
SEED = 3  # its first day has a call whose customer reaches the customers file on the second day
ID, CATEGORY, AGENT, STATUS = 1, 3, 4, 7  # columns of a call-log row (after the leaked index)


@dataclass(frozen=True)
class Scenario:
    settings: object
    call_id: str
    category: str  # as generated; the first day's row says "Unknown" instead
    agent: str
    inputs: tuple[tuple[Path, int], ...]  # (call-log file, data row of the call) on the first and the last day
    run_ids: tuple[str, ...]


def rows_of(path: Path) -> list[list[str]]:
    with path.open(newline="") as handle:
        return list(csv.reader(handle))


def write_rows(path: Path, rows: list[list[str]]) -> None:
    with path.open("w", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)


@pytest.fixture(scope="module")
def trace_dsn(embedded_pg):
    yield from session_database(embedded_pg, f"coretelecoms_test_trace_{os.getpid()}")


@pytest.fixture(scope="module")
def scenario(tmp_path_factory, spark, source_dsn, trace_dsn) -> Scenario:
    """Day 1: the late customer's call arrives with a category to repair and is quarantined; day 2: the
    customer arrives and the call is replayed; day 3: the call comes back resolved."""
    root = tmp_path_factory.mktemp("trace")
    settings = make_settings(root, source_dsn, **{"postgres.conformance_url": trace_dsn})
    landing = root / "landing"
    truth = generate(GeneratorConfig(start_date=DAYS[0], days=len(DAYS), scale=0.001, seed=SEED,
                                     hazards=Hazards(missing_daily_input=False)), landing, source_dsn,
                     progress=lambda _: None)
    late = [c["id"] for late in truth["late_customers"] if late["arrives_on"] == DAYS[1].isoformat()
            for c in late["complaints"] if c["source"] == "call_logs" and c["date"] == DAYS[0].isoformat()]
    assert late, f"seed {SEED} no longer makes a day-1 call whose customer arrives on day 2"
    first, last = (landing / input_location("call_logs", day) for day in (DAYS[0], DAYS[-1]))
    rows = rows_of(first)
    row = next(r for r in rows if r[ID] == late[0])
    comeback = ["9999", *row[ID:STATUS], "Resolved", DAYS[-1].isoformat()]  # 9999: its leaked index
    category, agent, position = row[CATEGORY], row[AGENT], rows.index(row) - 1  # - 1: the header
    row[CATEGORY], row[STATUS] = "Unknown", "Backlog"
    write_rows(first, rows)
    later = rows_of(last)
    write_rows(last, later + [comeback])
    run_ids = []
    for day in DAYS:
        publish(landing, day)
        result = pipeline.run(settings, day, spark=spark, progress=lambda _: None)
        assert result.status == "succeeded", result.error
        run_ids.append(result.run_id)
    return Scenario(settings, late[0], category, agent, ((first, position), (last, len(later) - 1)), tuple(run_ids))


def trace(scenario: Scenario, complaint_id: str, monkeypatch) -> int:
    monkeypatch.setenv("CORETELECOMS__LAKE", scenario.settings.lake)
    monkeypatch.setenv("CORETELECOMS__POSTGRES__SOURCE_URL", scenario.settings.postgres.source_url)
    monkeypatch.setenv("CORETELECOMS__POSTGRES__CONFORMANCE_URL", scenario.settings.postgres.conformance_url)
    return cli.main(["--env", "test", "trace", complaint_id])


def test_trace_of_a_repaired_quarantined_replayed_call_that_changed_status(scenario, monkeypatch, capsys):
    assert trace(scenario, scenario.call_id, monkeypatch) == 0
    printed = capsys.readouterr().out.splitlines()
    day1, day2, day3 = DAYS
    run1, run2, run3 = scenario.run_ids
    (first, row1), (last, row3) = scenario.inputs
    expected = [  # in this order, each a whole line
        f"complaint {scenario.call_id} (call_logs)",
        f"  {day1}  run {run1}: {first} line {row1 + 2} (data row {row1})",
        f"  {day3}  run {run3}: {last} line {row3 + 2} (data row {row3})",
        f"  {day1}  complaint_category invalid_enumeration: repaired, original value 'Unknown'"
        f"  [{first.name} line {row1 + 2} (data row {row1}), run {run1}]",
        f"  {day1}  quarantined: missing_customer (run {run1}); last seen {day1}, 1 sighting",
        f"  {day2}  replayed: loaded once its customer and agent existed (run {run2})",
        f"  {day2}  Backlog      agent {scenario.agent}  source date {day1}",
        f"  {day3}  Resolved     agent {scenario.agent}  source date {day3}",
        f"  {day3}  call_logs: Resolved, {scenario.category}, agent {scenario.agent}; first seen {day2}, run {run3}",
        f"  {day2}  orphaned_complaints: resolved (missing_customer), first seen {day1}, last seen {day1}",
        f"  {day3}  complaints: Resolved, {scenario.category}, agent {scenario.agent}; first seen {day2}, run {run3}",
    ]
    assert [line for line in printed if line in expected] == expected
    sections = [line.split(" ", 1)[0] for line in printed if line[:2] in ("1.", "2.", "3.", "4.", "5.")]
    assert sections == ["1.", "2.", "3.", "4.", "5."]
    lifecycle = f"complaint_lifecycle: Resolved since {day3}, first observed {day1}, 2 observations, 1 status change;"
    assert [line for line in printed if line.startswith(f"  {day3}  {lifecycle}")] != []


def test_an_unknown_id_is_not_found(scenario, monkeypatch, capsys):
    assert trace(scenario, "Nob0000XnotAcomplaintOfAnyChannel0000000000000000000Xwq", monkeypatch) == 1
    printed = capsys.readouterr()
    assert printed.out == ""
    assert "not found: it is in no table of the lake" in printed.err and "nor in the conformance database" in printed.err


def test_an_original_value_is_shown_masked():
    issue = {"rule": "invalid_uuid", "field": "customer_id", "outcome": "rejected", "original_value": "jane.doe@example.com",
             "_source": "call logs/call_logs_day_2025-12-08.csv", "_source_row": 4, "run_date": DAYS[0], "run_id": "r1"}
    assert issue_line(issue) == (f"  {DAYS[0]}  customer_id invalid_uuid: rejected, original value 'j***@***.com'"
                                 "  [call_logs_day_2025-12-08.csv line 6 (data row 4), run r1]")
