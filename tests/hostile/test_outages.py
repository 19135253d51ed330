"""Outages fail fast and explain themselves: a database that is down stops the run before any Spark work;
one that goes down mid-run fails the load in one line, loads nothing, and a re-run after it is back loads
every record; a lake that cannot be written names the input and the cause, and the report still reaches
the runs folder.

The mid-run outage stops a PostgreSQL server of the test's own (its data folder under var/test: the server
runs as an unprivileged user, who cannot enter pytest's private temporary folders) at a stage marker.
"""
from __future__ import annotations

import csv
import datetime as dt
import json
import os
import shutil

import psycopg2
import pytest

from coretelecoms import pipeline
from coretelecoms.platform.postgres import CONFORMANCE_DB, EmbeddedPostgres, _free_port, create_database
from coretelecoms_dev.generator import GeneratorConfig, generate, publish
from tests.conftest import PROJECT_ROOT, make_settings

DAY = dt.date(2025, 10, 21)  # no other test generates this date into the shared source database


@pytest.fixture(scope="module")
def landing(tmp_path_factory, source_dsn):
    root = tmp_path_factory.mktemp("outage_landing")
    generate(GeneratorConfig(start_date=DAY, days=1, scale=0.001, seed=31), root, source_dsn, progress=lambda _: None)
    publish(root, DAY)
    return root


def jobs_started(spark) -> int:
    return spark.sparkContext._jsc.sc().dagScheduler().nextJobId()


def run_failure(settings, spark, lines: list[str], on_line=lambda line: None) -> pipeline.RunFailed:
    def progress(line: str) -> None:
        lines.append(line)
        on_line(line)

    with pytest.raises(pipeline.RunFailed) as raised:
        pipeline.run(settings, DAY, spark=spark, progress=progress)
    return raised.value


def count(dsn: str, query: str) -> int:
    with psycopg2.connect(dsn) as connection, connection.cursor() as cursor:
        cursor.execute(query)
        return cursor.fetchone()[0]


def test_a_database_that_is_down_stops_the_run_before_any_spark_work(spark, tmp_path, landing, source_dsn):
    down = f"postgresql://etl:s3cret-p%40ss@127.0.0.1:{_free_port()}/conformance"
    settings = make_settings(tmp_path, source_dsn, **{"landing": str(landing), "postgres.conformance_url": down})
    before, lines = jobs_started(spark), []

    failure = run_failure(settings, spark, lines)

    assert jobs_started(spark) == before  # not one Spark job before the database was tried
    run_id = failure.result.run_id
    assert str(failure).startswith(f"run {run_id} failed in setup: OperationalError: connection to server at \"127.0.0.1\"")
    assert "Connection refused" in str(failure)
    assert not (tmp_path / "lake" / "bronze").exists()
    report = json.loads((tmp_path / "runs" / DAY.isoformat() / f"{run_id}.json").read_text())
    assert report["status"] == "failed" and report["bronze"] == []
    trace = (tmp_path / "runs" / DAY.isoformat() / f"{run_id}.log").read_text()
    assert "Connection refused" in trace
    assert not any("s3cret" in text for text in [str(failure), trace, json.dumps(report), *lines])


@pytest.fixture(scope="module")
def own_server():
    server = EmbeddedPostgres(PROJECT_ROOT / "var" / "test" / f"outage-{os.getpid()}")
    shutil.rmtree(server.home, ignore_errors=True)
    server.start(progress=lambda _: None)
    yield server
    server.stop()
    shutil.rmtree(server.home, ignore_errors=True)


def test_a_database_that_goes_down_mid_run_fails_the_load_in_one_line_and_a_rerun_loads_everything(
        spark, tmp_path, landing, source_dsn, own_server):
    dsn = own_server.url(CONFORMANCE_DB)
    create_database(own_server.url("postgres"), CONFORMANCE_DB, drop_first=True)
    settings = make_settings(tmp_path, source_dsn, **{"landing": str(landing), "postgres.conformance_url": dsn})
    lines: list[str] = []

    failure = run_failure(settings, spark, lines, on_line=lambda line: line == "[gold]" and own_server.stop())

    assert str(failure).startswith(f"run {failure.result.run_id} failed in conformance_postgres: OperationalError: ")
    assert len(str(failure).splitlines()) == 1
    assert any(line.startswith("postgres: the failure could not be recorded in pipeline_runs: ") for line in lines)
    report = json.loads(open(failure.result.report_html[-1].removesuffix(".html") + ".json").read())
    assert (report["status"], report["failed_stage"]) == ("failed", "conformance_postgres")

    own_server.start(progress=lambda _: None)
    assert count(dsn, "SELECT count(*) FROM call_logs") == count(dsn, "SELECT count(*) FROM customers") == 0
    assert count(dsn, "SELECT count(*) FROM pipeline_runs") == 0  # the database was down when the run failed

    rerun = pipeline.run(settings, DAY, spark=spark, progress=lambda _: None)

    assert (rerun.status, rerun.exit_code) == ("succeeded", 0)
    [calls] = landing.rglob(f"call_logs_day_{DAY}.csv")
    with calls.open(newline="") as handle:
        records = sum(1 for row in csv.reader(handle) if row) - 1
    loaded = count(dsn, "SELECT count(*) FROM call_logs")
    orphaned = count(dsn, "SELECT count(*) FROM orphaned_complaints WHERE channel = 'call_logs'")
    accounting = rerun.quality["call_logs"]
    assert loaded > 0
    assert loaded + orphaned + accounting.rejected_total + accounting.collapsed == records


def test_a_lake_that_cannot_be_written_names_the_input_and_the_cause_and_the_report_still_reaches_the_runs_folder(
        spark, tmp_path, landing, source_dsn):
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the lake's folder should be")
    settings = make_settings(tmp_path, source_dsn, **{"landing": str(landing), "lake": str(blocked / "lake"),
                                                       "postgres.required": "false", "postgres.embedded_dir": ""})
    lines: list[str] = []

    failure = run_failure(settings, spark, lines)

    message = str(failure)
    assert message.startswith(f"run {failure.result.run_id} failed in bronze (customers {landing}")
    assert "not-a-folder" in message and len(message.splitlines()) == 1
    assert any(line.startswith(f"could not write the run report into {blocked / 'lake'}") for line in lines)
    [written] = failure.result.report_html
    assert written.startswith(str(tmp_path / "runs"))
    report = json.loads(open(written.removesuffix(".html") + ".json").read())
    assert report["failed_input"].startswith("customers ") and report["status"] == "failed"
