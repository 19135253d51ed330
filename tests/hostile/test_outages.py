"""Outages fail fast and explain themselves: a database that is down stops the run before any Spark work;
one that goes down mid-run fails the load in one line, loads nothing, and a re-run after it is back loads
every record; a lake that cannot be written names the input and the cause, and the report still reaches
the runs folder.

The mid-run outage is run 2 of the bad day (conftest.py): a PostgreSQL server of the test's own is stopped
at a stage marker. The other cases need only an input folder: the reference day's.
"""
from __future__ import annotations

import json

import pytest

from coretelecoms import pipeline
from coretelecoms.platform.postgres import _free_port
from tests.conftest import make_settings
from tests.hostile.conftest import REFERENCE_DAY as DAY
from tests.hostile.conftest import count, count_rows


def jobs_started(spark) -> int:
    return spark.sparkContext._jsc.sc().dagScheduler().nextJobId()


def run_failure(settings, spark, lines: list[str]) -> pipeline.RunFailed:
    with pytest.raises(pipeline.RunFailed) as raised:
        pipeline.run(settings, DAY, spark=spark, progress=lines.append)
    return raised.value


def test_a_database_that_is_down_stops_the_run_before_any_spark_work(spark, tmp_path, reference_landing, source_dsn):
    down = f"postgresql://etl:s3cret-p%40ss@127.0.0.1:{_free_port()}/conformance"
    settings = make_settings(tmp_path, source_dsn, **{"landing": str(reference_landing), "postgres.conformance_url": down})
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


def test_a_database_that_goes_down_mid_run_fails_the_load_in_one_line_and_a_rerun_loads_everything(bad_day):
    """Run 2 of the bad day (conftest.py): the server is stopped when the run prints [gold]."""
    failure = bad_day.outage
    assert str(failure).startswith(f"run {failure.result.run_id} failed in conformance_postgres: OperationalError: ")
    assert len(str(failure).splitlines()) == 1
    assert any(line.startswith("postgres: the failure could not be recorded in pipeline_runs: ")
               for line in bad_day.outage_lines)
    report = json.loads(open(failure.result.report_html[-1].removesuffix(".html") + ".json").read())
    assert (report["status"], report["failed_stage"]) == ("failed", "conformance_postgres")
    # Not one row of the failed run, and no audit row (the database was down when the run failed):
    # the database holds what the run before it left.
    assert bad_day.after_outage == bad_day.after_refusal
    assert bad_day.after_outage["call_logs"] == 0

    rerun = bad_day.rerun
    assert (rerun.status, rerun.exit_code) == ("succeeded", 0)
    loaded = count_rows(bad_day.dsn, "call_logs")
    orphaned = count(bad_day.dsn, "SELECT count(*) FROM orphaned_complaints WHERE channel = 'call_logs'")
    accounting = rerun.quality["call_logs"]
    assert loaded > 0
    assert loaded + orphaned + accounting.rejected_total + accounting.collapsed == bad_day.call_records


def test_a_lake_that_cannot_be_written_names_the_input_and_the_cause_and_the_report_still_reaches_the_runs_folder(
        spark, tmp_path, reference_landing, source_dsn):
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the lake's folder should be")
    settings = make_settings(tmp_path, source_dsn, **{"landing": str(reference_landing), "lake": str(blocked / "lake"),
                                                       "postgres.required": "false", "postgres.embedded_dir": ""})
    lines: list[str] = []

    failure = run_failure(settings, spark, lines)

    message = str(failure)
    assert message.startswith(f"run {failure.result.run_id} failed in bronze (customers {reference_landing}")
    assert "not-a-folder" in message and len(message.splitlines()) == 1
    assert any(line.startswith(f"could not write the run report into {blocked / 'lake'}") for line in lines)
    [written] = failure.result.report_html
    assert written.startswith(str(tmp_path / "runs"))
    report = json.loads(open(written.removesuffix(".html") + ".json").read())
    assert report["failed_input"].startswith("customers ") and report["status"] == "failed"
