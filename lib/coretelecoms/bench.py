"""Benchmarks, measured side by side in one process (never timing asserts in tests).

`quality`: the silver double pass on one day of scale-1 call logs (about 380,000 rows), next to the
floor of reading the same bronze rows and writing them nowhere, and the Great Expectations run.
Generated inputs and the bronze table are cached under var/bench/ so later runs only measure.
"""
from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path

from pyspark.sql import DataFrame

from coretelecoms.bronze.ingest import RunContext, bronze_table, ingest
from coretelecoms.platform import storage
from coretelecoms.platform.postgres import source_url
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
