"""jobs/run_pipeline.py: its arguments (argparse, and Glue's resolver), and a real spark-submit of it."""
from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from coretelecoms.platform.jars import cached_jars
from coretelecoms.platform.postgres import create_database
from coretelecoms.platform.settings import load_settings
from jobs import run_pipeline

PROJECT_ROOT = Path(__file__).resolve().parents[2]
UTC_TODAY = dt.datetime.now(dt.timezone.utc).date()


@pytest.fixture(autouse=True)
def no_environment_settings(monkeypatch):
    """The defaults under test, not whatever the shell running the tests exports."""
    for name in list(os.environ):
        if name.startswith("CORETELECOMS_"):
            monkeypatch.delenv(name)


@pytest.mark.parametrize("word, days_back", [("today", 0), ("yesterday", 1)])
def test_date_words_are_utc_days(word, days_back):
    args = run_pipeline.parse_arguments(["--date", word])
    assert args.date in {UTC_TODAY - dt.timedelta(days=days_back),  # the UTC day may turn during the test
                         dt.datetime.now(dt.timezone.utc).date() - dt.timedelta(days=days_back)}


def test_defaults_run_every_stage_on_all_sources_locally():
    args = run_pipeline.parse_arguments(["--date", "2025-06-01"])
    assert (args.date, args.stage, args.scope, args.env, args.settings) == (
        dt.date(2025, 6, 1), "gold", "all", "local", {})


def test_settings_json_becomes_the_dotted_overrides_load_settings_takes(tmp_path):
    text = json.dumps({"lake": str(tmp_path / "lake"), "jdbc": {"write_partitions": 8}, "spark": {"ui": True},
                       "postgres": {"source_url": "postgresql://etl@db.internal:5432/source"}})
    args = run_pipeline.parse_arguments(["--date", "2025-06-01", "--env", "test", "--settings", text])
    assert args.settings == {"lake": str(tmp_path / "lake"), "jdbc.write_partitions": "8", "spark.ui": "true",
                             "postgres.source_url": "postgresql://etl@db.internal:5432/source"}
    settings = load_settings(args.env, conf_dir=PROJECT_ROOT / "conf", overrides=args.settings)
    assert (settings.lake, settings.jdbc.write_partitions, settings.spark.ui) == (str(tmp_path / "lake"), 8, True)


@pytest.mark.parametrize("settings_json, named", [
    ("{not json", "not valid JSON"),
    ('["lake"]', "JSON object"),
    ('{"lake": null}', "'lake'"),
    ('{"postgres": {"no_such_key": "x"}}', "postgres.no_such_key"),
    ('{"no_such_section": {"key": "x"}}', "no_such_section"),
])
def test_bad_settings_are_a_configuration_error_naming_the_problem(settings_json, named, capsys):
    code = run_pipeline.main(["--date", "2025-06-01", "--env", "test", "--settings", settings_json])
    assert code == 2
    assert named in capsys.readouterr().err


@pytest.mark.parametrize("argv, named", [
    (["--stage", "gold"], "--date"),
    (["--date", "2025-13-01"], "2025-13-01"),
    (["--date", "2025-06-01", "--scope", "everything"], "--scope"),
    (["--date", "2025-06-01", "--unknown", "x"], "--unknown"),  # spark-submit passes only ours: a typo is an error
])
def test_bad_arguments_exit_2_naming_them(argv, named, capsys):
    assert run_pipeline.main(argv) == 2
    assert named in capsys.readouterr().err


# Stands in for the Glue runtime's awsglue.utils, which is not installable here. getResolvedOptions as in
# aws-glue-libs: an argparse parser whose errors raise GlueArgumentError; Glue's own options optional;
# every name asked for becomes a required `--name value`; everything else passed is ignored.
GLUE_UTILS = '''
import argparse


class GlueArgumentError(Exception):
    pass


class GlueArgumentParser(argparse.ArgumentParser):
    def error(self, msg):
        raise GlueArgumentError(msg)


def getResolvedOptions(args, options):
    parser = GlueArgumentParser()
    parser.add_argument("--job-bookmark-option", required=False,
                        choices=["job-bookmark-enable", "job-bookmark-pause", "job-bookmark-disable"])
    for option in ("--JOB_ID", "--JOB_RUN_ID", "--SECURITY_CONFIGURATION", "--TempDir", "--RedshiftTempDir"):
        parser.add_argument(option, required=False)
    for option in options:
        parser.add_argument("--" + option, required=True)
    parsed, extra = parser.parse_known_args(args[1:])
    return vars(parsed)
'''

GLUE_OWN_ARGUMENTS = ["--JOB_ID", "j_0123", "--JOB_RUN_ID", "jr_0123", "--job-bookmark-option", "job-bookmark-disable",
                      "--TempDir", "s3://glue-temp/coretelecoms/", "--JOB_NAME", "coretelecoms-complaints",
                      "--enable-metrics", "true"]


@pytest.fixture
def glue_runtime(tmp_path, monkeypatch):
    package = tmp_path / "awsglue"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "utils.py").write_text(GLUE_UTILS)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield
    for module in ("awsglue.utils", "awsglue"):
        sys.modules.pop(module, None)


def test_under_glue_the_job_arguments_go_through_glue_and_the_same_validation(glue_runtime):
    argv = [*GLUE_OWN_ARGUMENTS, "--date", "yesterday", "--scope", "complaints", "--settings", '{"lake": "s3a://b/lake"}']
    args = run_pipeline.parse_arguments(argv)
    assert args.date in {UTC_TODAY - dt.timedelta(days=1), dt.datetime.now(dt.timezone.utc).date() - dt.timedelta(days=1)}
    assert (args.scope, args.stage, args.env, args.settings) == ("complaints", "gold", "glue", {"lake": "s3a://b/lake"})


def test_under_glue_a_missing_date_is_a_configuration_error(glue_runtime, capsys):
    assert run_pipeline.main([*GLUE_OWN_ARGUMENTS, "--scope", "dimensions"]) == 2
    assert "--date" in capsys.readouterr().err


def test_under_glue_a_bad_value_is_refused_as_everywhere(glue_runtime, capsys):
    assert run_pipeline.main([*GLUE_OWN_ARGUMENTS, "--date", "today", "--stage", "platinum"]) == 2
    assert "--stage" in capsys.readouterr().err


@pytest.fixture(scope="module")
def empty_source_dsn(embedded_pg) -> str:
    """A web-forms source database without any day's table: every web-form input is not ready."""
    create_database(embedded_pg.url("postgres"), "coretelecoms_jobs_source")
    return embedded_pg.url("coretelecoms_jobs_source")


def test_spark_submit_with_nothing_landed_exits_3_and_reports(tmp_path, empty_source_dsn):
    (tmp_path / "landing").mkdir()
    overrides = {
        "landing": str(tmp_path / "landing"), "lake": str(tmp_path / "lake"), "runs": str(tmp_path / "runs"),
        "postgres": {"source_url": empty_source_dsn, "embedded_dir": str(tmp_path / "pg")},
    }
    venv_bin = Path(sys.executable).parent
    environment = dict(os.environ)  # without CORETELECOMS_* (no_environment_settings)
    environment.update(PATH=f"{venv_bin}{os.pathsep}{environment['PATH']}", PYSPARK_PYTHON=sys.executable,
                       SPARK_LOCAL_IP="127.0.0.1")
    command = [str(venv_bin / "spark-submit"), "--jars", ",".join(str(jar) for jar in cached_jars()),
               "jobs/run_pipeline.py", "--date", "2030-01-01", "--stage", "bronze", "--env", "test",
               "--settings", json.dumps(overrides)]
    done = subprocess.run(command, cwd=PROJECT_ROOT, env=environment, capture_output=True, text=True, timeout=300)

    assert done.returncode == 3, done.stdout[-3000:] + done.stderr[-3000:]
    summary = done.stdout.strip().splitlines()[-1]
    assert summary.startswith("run 2030-01-01_") and ": not_ready; report " in summary
    (report,) = (tmp_path / "runs" / "2030-01-01").glob("*.json")
    content = json.loads(report.read_text())
    assert content["status"] == "not_ready"
    assert {outcome["source"]: outcome["status"] for outcome in content["bronze"]} == dict.fromkeys(
        ["customers", "agents", "call_logs", "sm_complaints", "web_complaints"], "not_ready")
    assert not (tmp_path / "pg").exists()  # stage bronze needs no conformance database
