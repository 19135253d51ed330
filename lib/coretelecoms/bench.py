"""Benchmarks, measured side by side in one process (never timing asserts in tests).

`conformance`: one full day at scale 1 (the initial dimension load included), then the PostgreSQL
load of that day's complaints next to a plain COPY of the same rows.
`quality`: the silver double pass on one day of scale-1 call logs (about 380,000 rows), next to the
floor of reading the same bronze rows and writing them nowhere, and the Great Expectations run.
Generated inputs and the bronze table are cached under var/bench/ so later runs only measure.
"""
from __future__ import annotations

import datetime as dt
import io
import json
import shutil
import time
from pathlib import Path

import psycopg2
from psycopg2 import sql

from pyspark.sql import DataFrame

from coretelecoms.bronze.ingest import RunContext, bronze_table, ingest
from coretelecoms.conformance.database import STAGING_COLUMNS
from coretelecoms.conformance.load import RunLoad, empty_staging, load_run, write_staging
from coretelecoms.conformance.stage import run_date_rows
from coretelecoms.platform import storage
from coretelecoms.platform.postgres import create_database, embedded_server, source_url
from coretelecoms.platform.settings import Settings, load_settings
from coretelecoms.platform.spark import spark_session
from coretelecoms.quality.entities import ENTITIES
from coretelecoms.quality.expectations import validate
from coretelecoms.quality.stage import read_bronze_batch
from coretelecoms.quality.transform import transform_batch
from coretelecoms.sources.catalog import complaint_inputs
from coretelecoms.sources.generator import GeneratorConfig, generate

BENCH_DAY = dt.date(2025, 9, 1)


def bench_settings(scale: float) -> Settings:
    base = load_settings()
    root = base.project_root / "var" / "bench" / f"scale-{scale:g}"
    return load_settings(overrides={"landing": str(root / "landing"), "lake": str(root / "lake"), "runs": str(root / "runs")})


def _timed(action) -> tuple[float, object]:
    started = time.perf_counter()
    value = action()
    return time.perf_counter() - started, value


def _drain(frame: DataFrame) -> None:
    """Compute every row and column, write nothing: the cost of the transformation alone."""
    frame.write.format("noop").mode("overwrite").save()


def quality(scale: float = 1.0, progress=print) -> dict:
    settings = bench_settings(scale)
    landing = Path(settings.landing)
    if not (landing / "ground_truth.json").exists():
        progress(f"generating one day at scale {scale:g} into {landing} (cached for later runs)")
        generate(GeneratorConfig(start_date=BENCH_DAY, days=1, scale=scale, seed=1), landing, source_url(settings), progress)
    spark = spark_session(settings, app_name="coretelecoms bench")
    call_logs = next(i for i in complaint_inputs(settings, BENCH_DAY) if i.source == "call_logs")
    outcome = ingest(spark, settings, call_logs, RunContext("bench", BENCH_DAY))
    bronze, raw_by_column = read_bronze_batch(spark, settings, outcome)
    rows = bronze.count()
    floor_seconds, _ = _timed(lambda: _drain(bronze))
    spec = ENTITIES["call_logs"]
    transform_seconds, batch = _timed(lambda: transform_batch(spec, bronze, raw_by_column, "bench", BENCH_DAY))
    outputs_seconds, _ = _timed(lambda: (_drain(batch.rows), _drain(batch.issues)))
    validate_seconds, _ = _timed(lambda: validate(batch.rows, "call_logs", "bench", storage.join(settings.lake, "_bench_validations")))
    batch.release()
    cleaning_seconds = transform_seconds + outputs_seconds
    report = {
        "measured_at": dt.datetime.now(dt.timezone.utc).isoformat(),
        "input": {"table": bronze_table(settings, "call_logs"), "rows": rows, "scale": scale},
        "floor_read_bronze_seconds": round(floor_seconds, 2),
        "double_pass_seconds": round(cleaning_seconds, 2),
        "double_pass_rows_per_second": round(rows / cleaning_seconds),
        "double_pass_to_floor_ratio": round(cleaning_seconds / floor_seconds, 2),
        "great_expectations_seconds": round(validate_seconds, 2),
        "accounting": {"clean": batch.accounting.clean, "repaired": batch.accounting.repaired,
                       "rejected": batch.accounting.rejected_total, "collapsed": batch.accounting.collapsed},
    }
    out = settings.project_root / "var" / "bench" / "quality.json"
    out.write_text(json.dumps(report, indent=2))
    progress(json.dumps(report, indent=2))
    progress(f"written to {out}")
    return report


COMPLAINT_TABLES = ("call_logs", "sm_complaints", "web_complaints", "complaint_status_history")


def _copy_floor(dsn: str, table: str) -> tuple[int, float]:
    """A plain COPY of a table's rows into an empty table of the same columns (no keys, no checks)."""
    with psycopg2.connect(dsn) as connection, connection.cursor() as cursor:
        buffer = io.BytesIO()
        cursor.copy_expert(sql.SQL("COPY {} TO STDOUT").format(sql.Identifier(table)).as_string(connection), buffer)
        rows = cursor.rowcount
        copy = sql.Identifier(f"bench_copy_{table}")
        cursor.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(copy))
        cursor.execute(sql.SQL("CREATE TABLE {} (LIKE {})").format(copy, sql.Identifier(table)))
        connection.commit()
        buffer.seek(0)
        started = time.perf_counter()
        cursor.copy_expert(sql.SQL("COPY {} FROM STDIN").format(copy).as_string(connection), buffer)
        connection.commit()
        return rows, time.perf_counter() - started


def _empty_facts(dsn: str) -> None:
    with psycopg2.connect(dsn) as connection, connection.cursor() as cursor:
        cursor.execute(sql.SQL("TRUNCATE {}").format(sql.SQL(", ").join(sql.Identifier(t) for t in COMPLAINT_TABLES)))


def conformance(scale: float = 1.0, progress=print) -> dict:
    """One full day at `scale` (initial dimension load included), then the PostgreSQL load of that
    day's complaints alone, timed next to a plain COPY of the same rows into empty tables."""
    from coretelecoms import pipeline  # imported here: the pipeline imports every stage

    base = bench_settings(scale)
    landing = Path(base.landing)
    if not (landing / "ground_truth.json").exists():
        generate(GeneratorConfig(start_date=BENCH_DAY, days=1, scale=scale, seed=1), landing, source_url(base), progress)
    server = embedded_server(base).start(progress=progress)
    create_database(server.url("postgres"), "coretelecoms_bench", drop_first=True)
    dsn = server.url("coretelecoms_bench")
    shutil.rmtree(base.lake, ignore_errors=True)
    settings = load_settings(overrides={"landing": base.landing, "lake": base.lake, "runs": base.runs,
                                        "postgres.conformance_url": dsn, "postgres.source_url": source_url(base)})
    spark = spark_session(settings, app_name="coretelecoms bench")
    run_seconds, result = _timed(lambda: pipeline.run(settings, BENCH_DAY, spark=spark, progress=progress))
    _empty_facts(dsn)
    frames = run_date_rows(spark, settings, BENCH_DAY)
    staged = {}
    started = time.perf_counter()
    for table in STAGING_COLUMNS:
        frame = frames[table] if table in COMPLAINT_TABLES else empty_staging(spark, table)
        staged[table] = write_staging(frame, table, dsn, settings.jdbc.write_batch_size, settings.jdbc.write_partitions)
    staging_seconds = time.perf_counter() - started
    load_seconds, _ = _timed(lambda: load_run(dsn, RunLoad("bench-load", BENCH_DAY, "succeeded", dt.datetime.now(dt.timezone.utc))))
    rows = sum(staged[t] for t in COMPLAINT_TABLES)
    copies = {table: _copy_floor(dsn, table) for table in COMPLAINT_TABLES}
    copy_seconds = sum(seconds for _, seconds in copies.values())
    report = {
        "measured_at": dt.datetime.now(dt.timezone.utc).isoformat(),
        "scale": scale,
        "full_day_run_seconds": round(run_seconds, 1),
        "full_day_stage_seconds": result.timings,
        "complaint_rows": {t: staged[t] for t in COMPLAINT_TABLES},
        "postgres_load": {
            "staging_jdbc_seconds": round(staging_seconds, 2),
            "transaction_seconds": round(load_seconds, 2),
            "rows_per_second": round(rows / (staging_seconds + load_seconds)),
        },
        "copy_floor": {"seconds": round(copy_seconds, 2), "rows_per_second": round(rows / copy_seconds)},
        "load_to_copy_ratio": round((staging_seconds + load_seconds) / copy_seconds, 2),
    }
    out = settings.project_root / "var" / "bench" / "conformance.json"
    out.write_text(json.dumps(report, indent=2, default=str))
    progress(json.dumps(report, indent=2, default=str))
    progress(f"written to {out}")
    return report
