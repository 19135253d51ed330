"""The order of stages for one run date; the only module that knows it."""
from __future__ import annotations

import datetime as dt
import secrets
import time
from dataclasses import asdict, dataclass, field

from pyspark.sql import SparkSession

from coretelecoms.bronze.ingest import NOT_READY, IngestOutcome, RunContext, ingest
from coretelecoms.conformance.database import apply_migrations
from coretelecoms.conformance.load import RunLoad, record_failed_run
from coretelecoms.conformance.stage import ConformanceResult, load_postgres, merge_silver
from coretelecoms.gold.stage import COMPLAINT_LIFECYCLE, GoldResult, build_gold, lifecycle_rows_of
from coretelecoms.platform.postgres import conformance_url
from coretelecoms.platform.secrets import SecretError, secret_string
from coretelecoms.platform.settings import Settings
from coretelecoms.platform.spark import configure_s3, spark_session
from coretelecoms.quality.stage import (
    check_batches,
    mark_dimensions_processed,
    publish_data_docs,
    write_issues,
)
from coretelecoms.quality.transform import Accounting
from coretelecoms.reporting import run_report
from coretelecoms.reporting.metrics import publish_run_metrics
from coretelecoms.reporting.notify import notify, webhook_from_env
from coretelecoms.sources.catalog import complaint_inputs, dimension_inputs

STAGES = ("bronze", "silver", "conformance", "gold")  # a run goes up to and including the stage asked for
SCOPES = ("all", "dimensions", "complaints")  # which sources a run takes (a scheduler may split them)

SUCCEEDED, NOT_READY_STATUS, FAILED = "succeeded", "not_ready", "failed"
EXIT_CODES = {SUCCEEDED: 0, FAILED: 1, NOT_READY_STATUS: 3}


@dataclass
class RunResult:
    run_id: str
    run_date: dt.date
    stages: tuple[str, ...]
    scope: str = "all"
    status: str = SUCCEEDED
    error: str = ""
    failed_stage: str = ""
    bronze: list[IngestOutcome] = field(default_factory=list)
    quality: dict[str, Accounting] = field(default_factory=dict)
    quality_skipped: dict[str, str] = field(default_factory=dict)
    dq_rules: dict[str, dict[str, int]] = field(default_factory=dict)
    validations: dict[str, str] = field(default_factory=dict)  # entity -> validation result location
    data_docs: str = ""
    conformance: ConformanceResult | None = None
    gold: GoldResult | None = None
    open_orphans: dict = field(default_factory=dict)
    started_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.timezone.utc))
    timings: dict[str, float] = field(default_factory=dict)
    report_html: list[str] = field(default_factory=list)
    notification: str = ""

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


class _Stage:
    """Adds a stage's time to result.timings and remembers it as the one running (for failure reports)."""

    def __init__(self, result: RunResult, name: str, progress):
        self.result, self.name, self.progress = result, name, progress

    def __enter__(self):
        self.result.failed_stage = self.name
        if self.name not in self.result.timings:
            self.progress(f"[{self.name}]")
        self.started = time.monotonic()

    def __exit__(self, kind, error, trace):
        spent = time.monotonic() - self.started
        self.result.timings[self.name] = round(self.result.timings.get(self.name, 0.0) + spent, 3)
        if kind is None:
            self.result.failed_stage = ""


def run(
    settings: Settings,
    run_date: dt.date,
    stages: tuple[str, ...] = STAGES,  # a prefix of STAGES (see stages_up_to)
    scope: str = "all",
    spark: SparkSession | None = None,
    progress=print,
) -> RunResult:
    """Run the given stages for one date in one Spark session; dimensions before complaints."""
    unknown = set(stages) - set(STAGES)
    if unknown:
        raise ValueError(f"unknown stage(s) {', '.join(sorted(unknown))}; known: {', '.join(STAGES)}")
    if scope not in SCOPES:
        raise ValueError(f"unknown scope {scope!r}; known: {', '.join(SCOPES)}")
    result = RunResult(run_id=new_run_id(run_date), run_date=run_date, stages=stages, scope=scope)
    context = RunContext(result.run_id, run_date)
    spark = spark or spark_session(settings, app_name=f"coretelecoms {run_date}")
    configure_s3(spark, settings)  # a session passed in (tests, notebooks) learns this run's buckets and roles
    dsn = conformance_url(settings) if "conformance" in stages else None
    inputs = (dimension_inputs(settings, run_date) if scope != "complaints" else []) + (
        complaint_inputs(settings, run_date) if scope != "dimensions" else [])
    try:
        if dsn:
            apply_migrations(dsn)  # idempotent; the schema is current before anything is loaded
        with _Stage(result, "bronze", progress):
            for source_input in inputs:
                outcome = ingest(spark, settings, source_input, context)
                progress(f"  bronze {outcome.source:<15} {outcome.status:<10} {_count(outcome.rows):>10} rows  {outcome.seconds:6.1f}s")
                result.bronze.append(outcome)
        if "silver" in stages:
            _silver_and_lake(spark, settings, result, dsn, progress)
        if result.not_ready:
            result.status = NOT_READY_STATUS
        if dsn:
            with _Stage(result, "conformance_postgres", progress):
                gold_rows = lifecycle_rows_of(spark, settings, run_date) if "gold" in stages else None
                load_postgres(spark, settings, dsn, _run_load(result), result.conformance,
                              {COMPLAINT_LIFECYCLE: gold_rows} if gold_rows is not None else {}, progress)
    except Exception as error:  # recorded in the run report and the audit table, then re-raised
        result.status, result.error = FAILED, f"{type(error).__name__}: {error}"
        if dsn:
            record_failed_run(dsn, _run_load(result))
        raise
    finally:
        _report(spark, settings, result, progress)
    return result


def _silver_and_lake(spark: SparkSession, settings: Settings, result: RunResult, dsn: str | None, progress) -> None:
    """Quality, then (with conformance) the silver merges and gold: every lake write of the run."""
    with _Stage(result, "silver", progress):
        checked = check_batches(spark, settings, result.run_id, result.run_date, result.bronze, progress)
    try:
        with _Stage(result, "silver", progress):
            write_issues(spark, settings, checked, result.run_date)
            result.quality, result.quality_skipped = checked.accounting, checked.skipped
            result.dq_rules = run_report.dq_rule_counts(checked)
            result.validations = {entity: v.result_location for entity, v in checked.validations.items()}
        if dsn:
            with _Stage(result, "conformance_lake", progress):
                result.conformance = merge_silver(spark, settings, result.run_id, result.run_date, checked, progress)
            if "gold" in result.stages:
                with _Stage(result, "gold", progress):
                    result.gold = build_gold(spark, settings, result.run_date, progress)
            mark_dimensions_processed(settings, checked)  # only once their versions are merged
    finally:
        checked.release()
    with _Stage(result, "data_docs", progress):
        result.data_docs = publish_data_docs(settings)


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
            "already_loaded": conformance.already_loaded,
        },
        "gold": {} if result.gold is None else {
            "lifecycle_changed": result.gold.lifecycle_changed, "complaints_changed": result.gold.complaints_changed,
        },
    }


def _run_load(result: RunResult) -> RunLoad:
    return RunLoad(
        run_id=result.run_id, run_date=result.run_date, status=result.status, started_at=result.started_at,
        stage_counts=_stage_counts(result), timings=result.timings, error=result.error or None,
    )


def _count(rows: int | None) -> str:
    return "-" if rows is None else f"{rows:,}"


def build_report(result: RunResult) -> dict:
    quality = {
        entity: {**asdict(counts), "kept": counts.kept, "rejected_total": counts.rejected_total}
        for entity, counts in result.quality.items()
    }
    conformance = result.conformance
    new_orphans = conformance.orphaned if conformance else {}
    return {
        "run_id": result.run_id,
        "run_date": result.run_date.isoformat(),
        "stages": list(result.stages),
        "scope": result.scope,
        "status": result.status,
        "error": result.error,
        "failed_stage": result.failed_stage if result.status == FAILED else "",
        "started_at": result.started_at.isoformat(),
        "finished_at": dt.datetime.now(dt.timezone.utc).isoformat(),
        "timings_seconds": result.timings,
        "bronze": [asdict(outcome) for outcome in result.bronze],
        "quality": quality,
        "quality_skipped": result.quality_skipped,
        "dq_rules": result.dq_rules,
        "orphans": {
            "new": new_orphans,
            "replayed": conformance.replayed if conformance else {},
            **result.open_orphans,
        } if conformance else {},
        "quarantine_rate": run_report.quarantine_rate(new_orphans, quality),
        "transitions": result.gold.transitions if result.gold else {},
        "gold": _stage_counts(result)["gold"],
        "validations": result.validations,
        "data_docs": result.data_docs,
        "stage_counts": _stage_counts(result),
        "postgres_load": conformance.load.as_dict() if conformance and conformance.load else None,
    }


def _report(spark: SparkSession, settings: Settings, result: RunResult, progress) -> None:
    """Write the run report (JSON + HTML) and notify; a reporting problem never hides the run's own error."""
    try:
        if result.conformance is not None:
            result.open_orphans = run_report.open_orphans(spark, settings, result.run_date)
        report = build_report(result)
        result.report_html = run_report.write_report(settings, report)
        result.notification = _notify(settings, report, result.report_html[0])
        metrics = publish_run_metrics(report, settings)
        progress(run_report.summary_text(report))
        progress(f"report: {result.report_html[-1]}   notification: {result.notification}   metrics: {metrics}")
    except Exception as error:  # noqa: BLE001 - the run's outcome stands; the report is secondary
        progress(f"could not write the run report: {type(error).__name__}: {error}")
        if result.status != FAILED:
            raise


def _notify(settings: Settings, report: dict, report_url: str) -> str:
    """Slack, if configured; an unreadable webhook secret is reported, never a reason to fail the run."""
    try:
        webhook = _slack_webhook(settings)
    except SecretError as error:
        return f"failed: {error}"
    return notify(report, webhook, settings.notifications.on_success, report_url=report_url)


def _slack_webhook(settings: Settings) -> str | None:
    """The webhook URL (a secret): from Secrets Manager when the settings name one, else the environment."""
    secret_id = settings.notifications.slack_webhook_secret_id
    if secret_id:
        return secret_string(settings, secret_id, "notifications.slack_webhook_secret_id")
    return webhook_from_env()
