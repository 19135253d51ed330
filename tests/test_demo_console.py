"""`make demo` as a new user sees it: `coretelecoms-dev demo` in a fresh process, its console as printed.

One generated day at scale 0.001 on an embedded PostgreSQL of the test's own (its own data folder under
var/test: the server runs as an unprivileged user, who cannot enter pytest's private temporary folders), so
the demo's reset touches nothing of the suite's or a developer's. The console carries our messages only: no
Spark WARN line, no Python warning, each run's progress once and one summary block per run.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from coretelecoms.platform.postgres import EmbeddedPostgres
from tests.conftest import PROJECT_ROOT

DEV_COMMAND = Path(sys.executable).with_name("coretelecoms-dev")
START, DAYS = "2025-12-01", 1
SUMMARY_HEADER = re.compile(r"^run (\S+)  date (\d{4}-\d{2}-\d{2})  [A-Z_]+  took ")
PROGRESS = re.compile(r"^  (bronze|silver) +(\w+) ")


@pytest.fixture(scope="module")
def demo():
    root = PROJECT_ROOT / "var" / "test" / f"demo-{os.getpid()}"
    shutil.rmtree(root, ignore_errors=True)
    environment = {**os.environ, "CORETELECOMS__LANDING": str(root / "landing"), "CORETELECOMS__LAKE": str(root / "lake"),
                   "CORETELECOMS__RUNS": str(root / "runs"), "CORETELECOMS__DATA_DOCS": str(root / "data_docs"),
                   "CORETELECOMS__POSTGRES__EMBEDDED_DIR": str(root / "pg"), "CORETELECOMS__SPARK__DRIVER_MEMORY": "1g",
                   "PYTHONUNBUFFERED": "1"}
    for name in ("CORETELECOMS_VERBOSE", "CORETELECOMS__POSTGRES__CONFORMANCE_URL", "CORETELECOMS__POSTGRES__SOURCE_URL"):
        environment.pop(name, None)
    try:
        done = subprocess.run([str(DEV_COMMAND), "--env", "test", "demo", "--start-date", START, "--days", str(DAYS),
                               "--scale", "0.001"], cwd=PROJECT_ROOT, env=environment, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, timeout=900)
    finally:
        EmbeddedPostgres(root / "pg").stop()
    yield done, root
    shutil.rmtree(root, ignore_errors=True)


def test_the_demo_succeeds_and_says_where_to_look(demo):
    done, root = demo
    assert done.returncode == 0, done.stdout
    last = done.stdout.splitlines()[-1]
    assert last.startswith(f"5. last run's report: {root / 'runs'}") and last.split()[4].endswith(".html")
    assert Path(last.split()[4]).is_file()


def test_no_spark_or_python_warning_reaches_the_console(demo):
    done, _ = demo
    noise = [line for line in done.stdout.splitlines()
             if re.search(r"\bWARN\b|Warning:|log4j|Setting default log level|^\s+warnings\.warn|LooseVersion", line)]
    assert noise == [], done.stdout


def test_each_run_prints_its_progress_once_and_one_summary_block(demo):
    done, _ = demo
    lines = done.stdout.splitlines()
    headers = [SUMMARY_HEADER.match(line) for line in lines]
    assert [match.group(2) for match in headers if match] == [START]
    runs = [index for index, line in enumerate(lines) if re.fullmatch(r"run \d{4}-\d{2}-\d{2}", line)]
    assert len(runs) == DAYS
    for start, end in zip(runs, [*runs[1:], len(lines)]):
        progress = [PROGRESS.match(line).groups() for line in lines[start:end] if PROGRESS.match(line)]
        assert len(progress) == len(set(progress)) >= 5, lines[start:end]  # every source once per step
        assert sum(bool(SUMMARY_HEADER.match(line)) for line in lines[start:end]) == 1
