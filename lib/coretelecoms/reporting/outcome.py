"""What one run found and did (`RunResult`), and how it is told: the run report, the audit row,
the Slack notification and the run metrics."""
from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field

from pyspark.sql import SparkSession

from coretelecoms.bronze.ingest import NOT_READY, REJECTED_INPUT, IngestOutcome
from coretelecoms.conformance.load import RunLoad
from coretelecoms.conformance.stage import ConformanceResult
from coretelecoms.gold.stage import GoldResult
from coretelecoms.platform.secrets import SecretError, secret_string
from coretelecoms.platform.settings import Settings
from coretelecoms.quality.transform import Accounting
from coretelecoms.reporting import run_report
from coretelecoms.reporting.failure import root_cause
from coretelecoms.reporting.metrics import publish_run_metrics
from coretelecoms.reporting.notify import notify, webhook_from_env

SUCCEEDED, NOT_READY_STATUS, REJECTED_INPUT_STATUS, FAILED = "succeeded", "not_ready", "rejected_input", "failed"
EXIT_CODES = {SUCCEEDED: 0, FAILED: 1, NOT_READY_STATUS: 3, REJECTED_INPUT_STATUS: 4}


@dataclass
class RunResult:
    run_id: str
    run_date: dt.date
    stages: tuple[str, ...]
    scope: str = "all"
    status: str = SUCCEEDED
    error: str = ""
    failed_stage: str = ""
    failed_input: str = ""  # `source location` of the input being landed when the run failed, if any
    bronze: list[IngestOutcome] = field(default_factory=list)
    quality: dict[str, Accounting] = field(default_factory=dict)
    quality_skipped: dict[str, str] = field(default_factory=dict)
    dq_issues: dict[str, list[dict]] = field(default_factory=dict)  # by rule, field and outcome
    dq_rules: dict[str, dict[str, int]] = field(default_factory=dict)
    validations: dict[str, str] = field(default_factory=dict)  # entity -> validation result location
    expectations: dict[str, dict] = field(default_factory=dict)  # entity -> passed/failed by severity, failures
    data_docs: str = ""
    conformance: ConformanceResult | None = None
    postgres_skipped: str = ""  # why the run did not load PostgreSQL, when it was asked to
    gold: GoldResult | None = None
    open_orphans: dict = field(default_factory=dict)
    started_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.timezone.utc))
    timings: dict[str, float] = field(default_factory=dict)
    report_html: list[str] = field(default_factory=list)
    trace: str = ""  # a failed run's masked traceback, written beside its report
    trace_locations: list[str] = field(default_factory=list)
    notification: str = ""

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.status]

    @property
    def not_ready(self) -> list[IngestOutcome]:
        return [outcome for outcome in self.bronze if outcome.status == NOT_READY]

    @property
    def rejected_inputs(self) -> list[IngestOutcome]:
        return [outcome for outcome in self.bronze if outcome.status == REJECTED_INPUT]

    def settle_status(self) -> None:
        """A refused input outranks a missing one: it needs someone to act, a missing one only time."""
        if self.rejected_inputs:
            self.status = REJECTED_INPUT_STATUS
        elif self.not_ready:
            self.status = NOT_READY_STATUS


def stage_counts(result: RunResult) -> dict:
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
            "features_changed": result.gold.features_changed,
        },
    }


def audit_row(result: RunResult) -> RunLoad:
    """The run's row of `pipeline_runs`."""
    return RunLoad(
        run_id=result.run_id, run_date=result.run_date, status=result.status, started_at=result.started_at,
        stage_counts=stage_counts(result), timings=result.timings, error=result.error or None,
    )


def build_report(result: RunResult) -> dict:
    quality = {
        entity: {**asdict(counts), "kept": counts.kept, "rejected_total": counts.rejected_total}
        for entity, counts in result.quality.items()
    }
    conformance = result.conformance
    new_orphans = conformance.orphaned if conformance else {}
    counts = stage_counts(result)
    return {
        "run_id": result.run_id,
        "run_date": result.run_date.isoformat(),
        "stages": list(result.stages),
        "scope": result.scope,
        "status": result.status,
        "error": result.error,
        "failed_stage": result.failed_stage if result.status == FAILED else "",
        "failed_input": result.failed_input if result.status == FAILED else "",
        "started_at": result.started_at.isoformat(),
        "finished_at": dt.datetime.now(dt.timezone.utc).isoformat(),
        "timings_seconds": result.timings,
        "bronze": [asdict(outcome) for outcome in result.bronze],
        "quality": quality,
        "quality_skipped": result.quality_skipped,
        "dq_rules": result.dq_rules,
        "dq_issues": result.dq_issues,
        "orphans": {
            "new": new_orphans,
            "replayed": conformance.replayed if conformance else {},
            **result.open_orphans,
        } if conformance else {},
        "quarantine_rate": run_report.quarantine_rate(new_orphans, quality),
        "transitions": result.gold.transitions if result.gold else {},
        "gold": counts["gold"],
        "validations": result.validations,
        "expectations": result.expectations,
        "data_docs": result.data_docs,
        "stage_counts": counts,
        "postgres_load": conformance.load.as_dict() if conformance and conformance.load else None,
        "postgres_skipped": result.postgres_skipped,
    }


def report_run(spark: SparkSession, settings: Settings, result: RunResult, progress) -> None:
    """Write the run report (JSON + HTML) into every report folder and notify; a reporting problem never
    hides the run's own error, and a folder that cannot be written (a read-only lake) does not keep the
    report out of the others."""
    try:
        if result.conformance is not None:
            result.open_orphans = run_report.open_orphans(spark, settings, result.run_date)
        report = build_report(result)
        for folder in run_report.report_dirs(settings):
            try:
                if result.trace:
                    result.trace_locations.append(run_report.write_trace(folder, report, result.trace))
                result.report_html.append(run_report.write_pages(folder, report))
            except Exception as error:  # noqa: BLE001 - said, and the other folders still get the report
                progress(f"could not write the run report into {folder}: {root_cause(error)}")
        if not result.report_html:
            raise OSError("no report folder could be written")
        result.notification = notify_run(settings, report, result.report_html[0])
        metrics = publish_run_metrics(report, settings)
        progress(run_report.summary_text(report))
        progress(f"report: {result.report_html[-1]}   notification: {result.notification}   metrics: {metrics}")
    except Exception as error:  # noqa: BLE001 - the run's outcome stands; the report is secondary
        progress(f"could not write the run report: {root_cause(error)}")
        if result.status != FAILED:
            raise


def notify_run(settings: Settings, report: dict, report_url: str) -> str:
    """Slack, if configured; an unreadable webhook secret is reported, never a reason to fail the run."""
    try:
        webhook = slack_webhook(settings)
    except SecretError as error:
        return f"failed: {error}"
    return notify(report, webhook, settings.notifications.on_success, report_url=report_url)


def slack_webhook(settings: Settings) -> str | None:
    """The webhook URL (a secret): from Secrets Manager when the settings name one, else the environment."""
    secret_id = settings.notifications.slack_webhook_secret_id
    if secret_id:
        return secret_string(settings, secret_id, "notifications.slack_webhook_secret_id")
    return webhook_from_env()
