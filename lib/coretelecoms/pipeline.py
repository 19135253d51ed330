"""The order of stages for one run date; the only module that knows it."""
from __future__ import annotations

import datetime as dt
import secrets
import time
from dataclasses import asdict, dataclass, field

from pyspark.sql import SparkSession

from coretelecoms.bronze.ingest import NOT_READY, IngestOutcome, RunContext, ingest
from coretelecoms.platform import storage
from coretelecoms.conformance.database import apply_migrations
from coretelecoms.conformance.load import RunLoad, record_failed_run
from coretelecoms.conformance.stage import ConformanceResult, load_postgres, merge_silver
from coretelecoms.platform.postgres import conformance_url
from coretelecoms.platform.settings import Settings
from coretelecoms.platform.spark import spark_session
from coretelecoms.quality.expectations import build_data_docs
from coretelecoms.quality.stage import (
    check_batches,
    data_docs_dir,
    mark_dimensions_processed,
    validation_results_dir,
    write_issues,
)
from coretelecoms.quality.transform import Accounting
from coretelecoms.sources.catalog import complaint_inputs, dimension_inputs

STAGES = ("bronze", "silver", "conformance")  # a run goes up to and including the stage asked for

SUCCEEDED, NOT_READY_STATUS, FAILED = "succeeded", "not_ready", "failed"
EXIT_CODES = {SUCCEEDED: 0, FAILED: 1, NOT_READY_STATUS: 3}


@dataclass
class RunResult:
    run_id: str
    run_date: dt.date
    stages: tuple[str, ...]
    status: str = SUCCEEDED
    error: str = ""
    bronze: list[IngestOutcome] = field(default_factory=list)
    quality: dict[str, Accounting] = field(default_factory=dict)
    quality_skipped: dict[str, str] = field(default_factory=dict)
    validations: dict[str, str] = field(default_factory=dict)  # entity -> validation result location
    data_docs: str = ""
    conformance: ConformanceResult | None = None
    started_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.timezone.utc))
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.status]

    @property
    def not_ready(self) -> list[IngestOutcome]:
        return [outcome for outcome in self.bronze if outcome.status == NOT_READY]


def stages_up_to(last: str) -> tuple[str, ...]:
    return STAGES[: STAGES.index(last) + 1]


def new_run_id(run_date: dt.date) -> str:
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return f"{run_date.isoformat()}_{stamp}_{secrets.token_hex(2)}"


def run(
    settings: Settings,
    run_date: dt.date,
    stages: tuple[str, ...] = STAGES,  # a prefix of STAGES (see stages_up_to)
    spark: SparkSession | None = None,
    progress=print,
) -> RunResult:
    """Run the given stages for one date in one Spark session; dimensions before complaints."""
    unknown = set(stages) - set(STAGES)
    if unknown:
        raise ValueError(f"unknown stage(s) {', '.join(sorted(unknown))}; known: {', '.join(STAGES)}")
    result = RunResult(run_id=new_run_id(run_date), run_date=run_date, stages=stages)
    context = RunContext(result.run_id, run_date)
    spark = spark or spark_session(settings, app_name=f"coretelecoms {run_date}")
    dsn = conformance_url(settings) if "conformance" in stages else None
    try:
        if dsn:
            apply_migrations(dsn)  # idempotent; the schema is current before anything is loaded
        started = time.monotonic()
        for source_input in dimension_inputs(settings, run_date) + complaint_inputs(settings, run_date):
            outcome = ingest(spark, settings, source_input, context)
            progress(f"  bronze {outcome.source:<15} {outcome.status:<10} {_count(outcome.rows):>10} rows  {outcome.seconds:6.1f}s")
            result.bronze.append(outcome)
        result.timings["bronze"] = round(time.monotonic() - started, 3)
        if "silver" in stages:
            started = time.monotonic()
            checked = check_batches(spark, settings, result.run_id, run_date, result.bronze, progress)
            try:
                write_issues(spark, settings, checked)
                result.quality, result.quality_skipped = checked.accounting, checked.skipped
                result.validations = {entity: v.result_location for entity, v in checked.validations.items()}
                result.timings["silver"] = round(time.monotonic() - started, 3)
                if dsn:
                    started = time.monotonic()
                    result.conformance = merge_silver(spark, settings, result.run_id, run_date, checked, progress)
                    result.timings["conformance_lake"] = round(time.monotonic() - started, 3)
                    mark_dimensions_processed(settings, checked)  # only once their versions are merged
            finally:
                checked.release()
            started = time.monotonic()
            result.data_docs = build_data_docs(validation_results_dir(settings), data_docs_dir(settings))
            result.timings["data_docs"] = round(time.monotonic() - started, 3)
        if result.not_ready:
            result.status = NOT_READY_STATUS
        if dsn:
            started = time.monotonic()
            load_postgres(spark, settings, dsn, _run_load(result), result.conformance)
            result.timings["conformance_postgres"] = round(time.monotonic() - started, 3)
    except Exception as error:  # recorded in the run report and the audit table, then re-raised
        result.status, result.error = FAILED, f"{type(error).__name__}: {error}"
        if dsn:
            record_failed_run(dsn, _run_load(result))
        raise
    finally:
        write_run_report(settings, result)
    return result


def _stage_counts(result: RunResult) -> dict:
    conformance = result.conformance
    return {
        "bronze": {o.source: {"status": o.status, "rows": o.rows} for o in result.bronze},
        "silver": {
            entity: {"in": c.rows_in, "clean": c.clean, "repaired": c.repaired, "rejected": c.rejected, "collapsed": c.collapsed}
            for entity, c in result.quality.items()
        },
        "conformance": {} if conformance is None else {
            "orphaned": conformance.orphaned, "replayed": conformance.replayed, "changed": conformance.changed,
            "transitions": conformance.transitions, "dimensions": conformance.dimensions, "staged": conformance.staged,
        },
    }


def _run_load(result: RunResult) -> RunLoad:
    return RunLoad(
        run_id=result.run_id, run_date=result.run_date, status=result.status, started_at=result.started_at,
        stage_counts=_stage_counts(result), timings=result.timings, error=result.error or None,
    )


def _count(rows: int | None) -> str:
    return "-" if rows is None else f"{rows:,}"


def report_location(settings: Settings, result: RunResult) -> str:
    return storage.join(settings.runs, result.run_date.isoformat(), f"{result.run_id}.json")


def write_run_report(settings: Settings, result: RunResult) -> str:
    location = report_location(settings, result)
    storage.write_json(
        location,
        {
            "run_id": result.run_id,
            "run_date": result.run_date.isoformat(),
            "stages": list(result.stages),
            "status": result.status,
            "error": result.error,
            "timings_seconds": result.timings,
            "bronze": [asdict(outcome) for outcome in result.bronze],
            "quality": {
                entity: {**asdict(counts), "kept": counts.kept, "rejected_total": counts.rejected_total}
                for entity, counts in result.quality.items()
            },
            "quality_skipped": result.quality_skipped,
            "validations": result.validations,
            "data_docs": result.data_docs,
            "stage_counts": _stage_counts(result),
            "postgres_load": result.conformance.load.as_dict() if result.conformance and result.conformance.load else None,
        },
    )
    return location
