"""Shared fixtures: one real Spark session with Delta, the real embedded PostgreSQL, test settings."""
from __future__ import annotations

from pathlib import Path

import pytest

from coretelecoms.platform.postgres import create_database, embedded_server
from coretelecoms.platform.settings import load_settings

PROJECT_ROOT = Path(__file__).resolve().parent.parent
TEST_SOURCE_DB = "coretelecoms_test_source"


@pytest.fixture(scope="session")
def embedded_pg():
    """The project's embedded PostgreSQL (started if needed, left running for the next user)."""
    return embedded_server(load_settings(env="test", conf_dir=PROJECT_ROOT / "conf")).start(progress=lambda _: None)


@pytest.fixture(scope="session")
def source_dsn(embedded_pg) -> str:
    """An empty scratch database standing in for the web-forms source database."""
    create_database(embedded_pg.url("postgres"), TEST_SOURCE_DB, drop_first=True)
    return embedded_pg.url(TEST_SOURCE_DB)


def make_settings(root: Path, source_dsn: str, **extra: str):
    """Test settings whose landing, lake and runs live under `root`."""
    overrides = {
        "landing": str(root / "landing"),
        "lake": str(root / "lake"),
        "runs": str(root / "runs"),
        "postgres.source_url": source_dsn,
        **extra,
    }
    return load_settings(env="test", conf_dir=PROJECT_ROOT / "conf", overrides=overrides)


@pytest.fixture(scope="session")
def spark():
    from coretelecoms.platform.spark import spark_session

    session = spark_session(load_settings(env="test", conf_dir=PROJECT_ROOT / "conf"), app_name="coretelecoms tests")
    yield session
    session.stop()
