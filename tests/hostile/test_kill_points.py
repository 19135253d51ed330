"""kill -9 at ten points spread over a run, chosen by the stage markers the run prints, never by time.

One generated day at scale 0.001 is run as users run it (the `coretelecoms run` command, its own JVM) and
killed with SIGKILL (driver and JVM, the whole process group) as soon as it prints the k-th marker; the next
attempt starts from what the killed one left and is killed at the next marker, and so on: every attempt
re-runs the date over the partial state of all the kills before it. After each kill the conformance
database holds no row of the run (its load is one transaction). The attempt after the tenth kill runs to
the end, and the lake and the database it leaves are identical, row for row and column for column (the
columns naming the run aside), to those of the same day run once without interruption.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT, session_database
from tests.hostile.conftest import REFERENCE_DAY as DAY
from tests.hostile.state import differences, lake_state, postgres_state

COMMAND = Path(sys.executable).with_name("coretelecoms")
KILL_MARKERS = (  # in the order a run prints them
    "[bronze]",
    "  bronze agents ",
    "  bronze sm_complaints ",
    "[silver]",
    "  silver call_logs ",
    "[conformance_lake]",
    "  conformance status history ",
    "[gold]",
    "[features]",
    "[conformance_postgres]",
)
ATTEMPT_TIMEOUT = 900  # seconds; a hung attempt is killed and fails the test


@pytest.fixture(scope="module")
def killed_dsn(embedded_pg):
    yield from session_database(embedded_pg, f"coretelecoms_test_killed_{os.getpid()}")


def attempt(root: Path, landing: Path, source_dsn: str, dsn: str, kill_at: str | None) -> tuple[int, list[str]]:
    """One `coretelecoms run` of the day; killed with SIGKILL right after it prints `kill_at`."""
    environment = {**os.environ, "CORETELECOMS__LANDING": str(landing), "CORETELECOMS__LAKE": str(root / "lake"),
                   "CORETELECOMS__RUNS": str(root / "runs"), "CORETELECOMS__DATA_DOCS": str(root / "data_docs"),
                   "CORETELECOMS__POSTGRES__SOURCE_URL": source_dsn, "CORETELECOMS__POSTGRES__CONFORMANCE_URL": dsn,
                   "CORETELECOMS__SPARK__DRIVER_MEMORY": "1g", "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen([str(COMMAND), "--env", "test", "run", "--date", DAY.isoformat()], cwd=PROJECT_ROOT,
                               env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               start_new_session=True)  # its own process group: the JVM dies with the driver

    def kill() -> None:
        os.killpg(process.pid, signal.SIGKILL)

    watchdog = threading.Timer(ATTEMPT_TIMEOUT, kill)
    watchdog.start()
    lines = []
    try:
        for line in process.stdout:
            lines.append(line.rstrip("\n"))
            if kill_at is not None and line.startswith(kill_at):
                kill()
                break
        return process.wait(), lines
    finally:
        watchdog.cancel()
        process.stdout.close()


def rows_loaded(dsn: str) -> int:
    return sum(len(rows) for rows in postgres_state(dsn).values())


def kill_chain(root: Path, landing: Path, source_dsn: str, dsn: str):
    """An attempt killed at each marker in turn, then one left to finish: (kills, the last attempt)."""
    kills = []
    for marker in KILL_MARKERS:
        code, lines = attempt(root, landing, source_dsn, dsn, kill_at=marker)
        kills.append((marker, code, lines[-1] if lines else "", rows_loaded(dsn)))
    return kills, attempt(root, landing, source_dsn, dsn, kill_at=None)


@pytest.fixture(scope="module")
def runs(request, tmp_path_factory, reference_landing, source_dsn, killed_dsn):
    killed = tmp_path_factory.mktemp("killed")
    with ThreadPoolExecutor(max_workers=1) as background:
        chain = background.submit(kill_chain, killed, reference_landing, source_dsn, killed_dsn)
        reference = request.getfixturevalue("reference_run")  # in this JVM, while the attempts run in theirs
        kills, last = chain.result()
    return reference, killed, kills, last


def test_every_attempt_was_killed_at_its_marker_and_left_no_row_in_postgresql(runs):
    _, _, kills, _ = runs
    assert [(marker, code, last.startswith(marker), loaded) for marker, code, last, loaded in kills] == [
        (marker, -signal.SIGKILL, True, 0) for marker in KILL_MARKERS]


def test_the_attempt_after_ten_kills_succeeds(runs):
    _, _, _, (code, lines) = runs
    assert code == 0, "\n".join(lines[-30:])


def test_the_lake_after_the_kills_is_the_uninterrupted_lake(spark, runs):
    reference, killed, _, _ = runs
    expected, found = lake_state(spark, str(reference.lake)), lake_state(spark, str(killed / "lake"))
    assert len(expected) >= 15
    assert differences(expected, found) == {}


def test_postgresql_after_the_kills_is_the_uninterrupted_database(runs, killed_dsn):
    reference, _, _, _ = runs
    expected = postgres_state(reference.dsn)
    assert sum(map(len, expected.values())) > 0
    assert differences(expected, postgres_state(killed_dsn)) == {}
