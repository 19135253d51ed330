"""The order of stages for one run date; the only module that knows it."""
from __future__ import annotations

import datetime as dt
import secrets
import time
from dataclasses import asdict, dataclass, field

from pyspark.sql import SparkSession

from coretelecoms.bronze.ingest import NOT_READY, IngestOutcome, RunContext, ingest
from coretelecoms.platform import storage
from coretelecoms.platform.settings import Settings
from coretelecoms.platform.spark import spark_session
from coretelecoms.sources.catalog import complaint_inputs, dimension_inputs

STAGES = ("bronze",)

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
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.status]

    @property
    def not_ready(self) -> list[IngestOutcome]:
        return [outcome for outcome in self.bronze if outcome.status == NOT_READY]


def new_run_id(run_date: dt.date) -> str:
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return f"{run_date.isoformat()}_{stamp}_{secrets.token_hex(2)}"


def run(
    settings: Settings,
    run_date: dt.date,
    stages: tuple[str, ...] = STAGES,
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
    try:
        if "bronze" in stages:
            started = time.monotonic()
            for source_input in dimension_inputs(settings, run_date) + complaint_inputs(settings, run_date):
                outcome = ingest(spark, settings, source_input, context)
                progress(f"  bronze {outcome.source:<15} {outcome.status:<10} {_count(outcome.rows):>10} rows  {outcome.seconds:6.1f}s")
                result.bronze.append(outcome)
            result.timings["bronze"] = round(time.monotonic() - started, 3)
        if result.not_ready:
            result.status = NOT_READY_STATUS
    except Exception as error:  # recorded in the run report, then re-raised for the caller's exit code
        result.status, result.error = FAILED, f"{type(error).__name__}: {error}"
        raise
    finally:
        write_run_report(settings, result)
    return result


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
        },
    )
    return location
