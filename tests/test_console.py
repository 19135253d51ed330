"""The console carries our messages: Spark's and libraries' warnings only with `--verbose`.

Run as users run it: the installed `coretelecoms` command in a fresh process (its own JVM), output as printed.
"""
from __future__ import annotations

import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from coretelecoms import cli
from tests.conftest import PROJECT_ROOT

COMMAND = Path(sys.executable).with_name("coretelecoms")
QUERY = "SELECT clean_email('2772Brianna@GmaiL.om') AS email"


def console(tmp_path, *options: str) -> str:
    environment = {**os.environ, "CORETELECOMS__LAKE": str(tmp_path / "lake"),
                   "CORETELECOMS__SPARK__DRIVER_MEMORY": "1g"}
    environment.pop("CORETELECOMS_VERBOSE", None)
    done = subprocess.run([str(COMMAND), "--env", "test", *options, "sql", QUERY], cwd=PROJECT_ROOT, env=environment,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=300)
    assert done.returncode == 0, done.stdout
    return done.stdout


@pytest.fixture(scope="module")
def printed(tmp_path_factory):
    folder = tmp_path_factory.mktemp("console")
    return console(folder), console(folder, "--verbose")


def test_a_command_prints_only_its_answer(printed):
    quiet, _ = printed
    lines = [line for line in quiet.splitlines() if line.strip()]
    assert len(lines) == 5 and all(line[0] in "+|" for line in lines), quiet  # the table, nothing else
    assert "email" in lines[1] and "brianna@gmail.com" in lines[3]


def test_verbose_restores_sparks_own_console_logging(printed):
    _, verbose = printed
    assert 'Setting default log level to "WARN"' in verbose and "brianna@gmail.com" in verbose


def test_library_deprecations_are_dropped_even_after_a_library_resets_the_filters_but_ours_are_not():
    library = "/venv/lib/python3.11/site-packages/pyspark/sql/pandas/utils.py"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cli.quiet_console()
        warnings.simplefilter("default", DeprecationWarning)  # what importing Great Expectations does
        warnings.warn_explicit("LooseVersion is deprecated", DeprecationWarning, library, 37)
        warnings.warn_explicit("ours", DeprecationWarning, "/project/lib/coretelecoms/gold/stage.py", 1)
        warnings.warn_explicit("a library's user warning", UserWarning, library, 40)
    shown = [str(w.message) for w in caught]
    assert shown == ["ours", "a library's user warning"]


def test_library_log_records_below_warning_stay_off_the_console_after_py4j_logs_at_the_root():
    script = """
import logging
from coretelecoms import cli
cli.quiet_console()
logging.info("Exception while sending command.")  # what py4j does: the root logger's default setup
chatty = logging.getLogger("great_expectations.data_context.types.base")
chatty.setLevel(logging.INFO)  # what Great Expectations does
chatty.info("Created temporary directory for ephemeral docs site")
logging.getLogger("some.library").warning("a library warning")
"""
    done = subprocess.run([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stdout
    assert done.stdout.splitlines() == ["a library warning"]
