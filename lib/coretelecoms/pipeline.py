"""The order of stages for one run date; the only module that knows it.

    bronze        land every input unchanged
    silver        clean and check (dq_issues, Great Expectations), then every silver table: SCD2
                  dimensions, orphan quarantine and replay, complaint state, status history
    conformance   load PostgreSQL from what the lake holds for the date, in one transaction
    gold          the lifecycle snapshot, unified complaints and the customer-month features (loaded with
                  the rest when PostgreSQL is)

The lake needs no database: without one (and with `postgres.required: false`) a run builds every lake
table it is asked for and says that it skipped the load. With one, the database is reached before any
work starts, and loaded last, after gold when gold is part of the run.
"""
from __future__ import annotations

import datetime as dt
import secrets
import time
from collections.abc import Callable

from pyspark.sql import SparkSession

from coretelecoms.bronze.ingest import REJECTED_INPUT, RunContext, ingest
from coretelecoms.conformance.database import apply_migrations
from coretelecoms.conformance.load import record_failed_run
from coretelecoms.conformance.stage import load_postgres, merge_silver
from coretelecoms.gold.stage import build_features, build_gold, gold_rows_of, read_gold_inputs
from coretelecoms.platform.postgres import conformance_url
from coretelecoms.platform.settings import Settings
from coretelecoms.platform.spark import configure_s3, spark_session
from coretelecoms.quality.expectations import start_importing as start_importing_expectations
from coretelecoms.quality.stage import check_batches, mark_dimensions_processed, publish_data_docs, write_issues
from coretelecoms.reporting import run_report
from coretelecoms.reporting.failure import root_cause, trace_text
from coretelecoms.reporting.outcome import FAILED, RunResult, audit_row, report_run
from coretelecoms.sources.catalog import complaint_inputs, dimension_inputs

STAGES = ("bronze", "silver", "conformance", "gold")  # a run goes up to and including the stage asked for
SCOPES = ("all", "dimensions", "complaints")  # which sources a run takes (a scheduler may split them)

Timing = Callable[[str, float], None]  # (step, seconds): each step of a run, and each GX validation


def stages_up_to(last: str) -> tuple[str, ...]:
    return STAGES[: STAGES.index(last) + 1]


def new_run_id(run_date: dt.date) -> str:
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return f"{run_date.isoformat()}_{stamp}_{secrets.token_hex(2)}"


class _Step:
    """Adds a step's time to result.timings (and the timing hook) and remembers it as the one running."""

    def __init__(self, result: RunResult, name: str, progress, timing: Timing | None):
        self.result, self.name, self.progress, self.timing = result, name, progress, timing

    def __enter__(self):
        self.result.failed_stage = self.name
        if self.name not in self.result.timings:
            self.progress(f"[{self.name}]")
        self.started = time.monotonic()

    def __exit__(self, kind, error, trace):
        spent = time.monotonic() - self.started
        self.result.timings[self.name] = round(self.result.timings.get(self.name, 0.0) + spent, 3)
        if self.timing is not None:
            self.timing(self.name, spent)
        if kind is None:
            self.result.failed_stage = ""


def run(
    settings: Settings,
    run_date: dt.date,
    stages: tuple[str, ...] = STAGES,  # a prefix of STAGES (see stages_up_to)
    scope: str = "all",
    spark: SparkSession | None = None,
    progress=print,
    timing: Timing | None = None,
    rebuild_features: bool = False,  # recompute every month of complaint_features, not only the touched ones
    accept_shrink: bool = False,  # land a customers or agents snapshot however much smaller it is
) -> RunResult:
    """Run the given stages for one date in one Spark session; dimensions before complaints."""
    unknown = set(stages) - set(STAGES)
    if unknown:
        raise ValueError(f"unknown stage(s) {', '.join(sorted(unknown))}; known: {', '.join(STAGES)}")
    if scope not in SCOPES:
        raise ValueError(f"unknown scope {scope!r}; known: {', '.join(SCOPES)}")
    result = RunResult(run_id=new_run_id(run_date), run_date=run_date, stages=stages, scope=scope)

    def step(name: str) -> _Step:
        return _Step(result, name, progress, timing)

    context = RunContext(result.run_id, run_date, accept_shrink)
    if "silver" in stages:
        start_importing_expectations()
    spark = spark or spark_session(settings, app_name=f"coretelecoms {run_date}")
    configure_s3(spark, settings)  # a session passed in (tests, notebooks) learns this run's buckets and roles
    dsn = _conformance_database(settings, stages, result, progress)
    inputs = (dimension_inputs(settings, run_date) if scope != "complaints" else []) + (
        complaint_inputs(settings, run_date) if scope != "dimensions" else [])
    try:
        if dsn:
            apply_migrations(dsn)  # idempotent; the schema is current before anything is loaded
        with step("bronze"):
            for source_input in inputs:
                result.failed_input = f"{source_input.source} {source_input.location}"
                outcome = ingest(spark, settings, source_input, context)
                progress(f"  bronze {outcome.source:<15} {outcome.status:<14} {_count(outcome.rows):>10} rows  {outcome.seconds:6.1f}s")
                if outcome.status == REJECTED_INPUT:
                    progress(f"    refused {outcome.location}: {outcome.message}")
                result.bronze.append(outcome)
            result.failed_input = ""
        if "silver" in stages:
            _lake(spark, settings, result, step, progress, timing, rebuild_features)
        result.settle_status()
        if dsn:
            with step("conformance_postgres"):
                gold_rows = gold_rows_of(spark, settings, run_date) if "gold" in stages else {}
                load_postgres(spark, settings, dsn, audit_row(result), result.conformance, gold_rows, progress)
    except Exception as error:  # recorded in the report, its trace log and the audit table, then raised as RunFailed
        result.status, result.error, result.trace = FAILED, bounded_error(error), trace_text(error)
        if dsn:
            try:
                record_failed_run(dsn, audit_row(result))
            except Exception as audit_error:  # noqa: BLE001 - a database that is down must not hide the run's error
                progress(f"postgres: the failure could not be recorded in pipeline_runs: {root_cause(audit_error)}")
        raise RunFailed(result, error) from error
    finally:
        report_run(spark, settings, result, progress)
    return result


class RunFailed(RuntimeError):
    """A run failed: one line says in which step and why (the root cause); `result` holds its report
    and trace log locations (written by the time this reaches the caller); `__cause__` is the error."""

    def __init__(self, result: RunResult, error: BaseException):
        self.result = result
        where = (result.failed_stage or "setup") + (f" ({result.failed_input})" if result.failed_input else "")
        super().__init__(f"run {result.run_id} failed in {where}: {root_cause(error)}")

    def explained(self) -> str:
        """The line, then where to read more: the full trace and the run report."""
        lines = [str(self)]
        if self.result.trace_locations:
            lines.append(f"  full trace: {self.result.trace_locations[-1]}")
        if self.result.report_html:
            lines.append(f"  report: {self.result.report_html[-1]}")
        return "\n".join(lines)


ERROR_LIMIT = 2_000  # characters of an error kept in the report and pipeline_runs: an offending value may be huge


def bounded_error(error: BaseException) -> str:
    """`Type: message`, cut to ERROR_LIMIT characters, saying so when it was cut."""
    text = f"{type(error).__name__}: {error}"
    if len(text) <= ERROR_LIMIT:
        return text
    return f"{text[:ERROR_LIMIT]}... ({len(text) - ERROR_LIMIT:,} more characters cut)"


def _conformance_database(settings: Settings, stages: tuple[str, ...], result: RunResult, progress) -> str | None:
    """The DSN to load when the run includes the load and a database is configured, else None (said why)."""
    if "conformance" not in stages:
        return None
    if not settings.has_conformance_database:  # settings refuse this unless postgres.required is false
        result.postgres_skipped = "no conformance database is configured (postgres.required is false)"
        progress(f"postgres: the load is skipped: {result.postgres_skipped}")
        return None
    return conformance_url(settings)


def _lake(spark: SparkSession, settings: Settings, result: RunResult, step, progress, timing: Timing | None,
          rebuild_features: bool) -> None:
    """Quality, the silver tables and (when asked) gold: every lake write of the run."""
    with step("silver"):
        checked = check_batches(spark, settings, result.run_id, result.run_date, result.bronze, progress, timing)
    with checked:
        with step("silver"):
            write_issues(spark, settings, checked, result.run_date)
            result.quality, result.quality_skipped = checked.accounting, checked.skipped
            result.dq_issues = run_report.dq_issue_counts(checked)
            result.dq_rules = run_report.rule_counts(result.dq_issues)
            result.validations = {entity: v.result_location for entity, v in checked.validations.items()}
            result.expectations = run_report.expectation_results(checked)
        with step("conformance_lake"):
            result.conformance = merge_silver(spark, settings, result.run_id, result.run_date, checked, progress)
        if "gold" in result.stages:
            with step("gold"):
                gold_inputs = read_gold_inputs(spark, settings, result.run_date)
                result.gold = build_gold(spark, settings, result.run_date, gold_inputs, progress)
            with step("features"):
                build_features(spark, settings, result.run_date, gold_inputs, result.gold, rebuild_features, progress)
        mark_dimensions_processed(settings, checked)  # only once their versions are merged
    with step("data_docs"):
        result.data_docs = publish_data_docs(settings)


def _count(rows: int | None) -> str:
    return "-" if rows is None else f"{rows:,}"
