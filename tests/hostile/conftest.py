"""What the kill points and the standalone cluster compare against: one generated day (scale 0.001) run
once, without interruption, in the suite's one-JVM session, into a lake and a database of its own. It is
run once for both, while their own runs go on in other processes."""
from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from coretelecoms import pipeline
from coretelecoms_dev.generator import GeneratorConfig, generate, publish
from tests.conftest import make_settings, session_database

REFERENCE_DAY = dt.date(2025, 9, 17)  # no other test generates this date into the shared source database


@dataclass(frozen=True)
class ReferenceRun:
    lake: Path
    dsn: str


@pytest.fixture(scope="session")
def reference_landing(tmp_path_factory, source_dsn) -> Path:
    root = tmp_path_factory.mktemp("reference_landing")
    generate(GeneratorConfig(start_date=REFERENCE_DAY, days=1, scale=0.001, seed=37), root, source_dsn,
             progress=lambda _: None)
    publish(root, REFERENCE_DAY)
    return root


@pytest.fixture(scope="session")
def reference_dsn(embedded_pg):
    yield from session_database(embedded_pg, f"coretelecoms_test_reference_{os.getpid()}")


@pytest.fixture(scope="session")
def reference_run(tmp_path_factory, spark, reference_landing, source_dsn, reference_dsn) -> ReferenceRun:
    root = tmp_path_factory.mktemp("reference_run")
    settings = make_settings(root, source_dsn, **{"landing": str(reference_landing),
                                                  "postgres.conformance_url": reference_dsn})
    result = pipeline.run(settings, REFERENCE_DAY, spark=spark, progress=lambda _: None)
    assert (result.status, result.exit_code) == ("succeeded", 0), result.error
    return ReferenceRun(Path(settings.lake), reference_dsn)
