"""CloudWatch metrics of a run, which the alarms in infra/monitoring.tf watch.

Namespace from `monitoring.cloudwatch_namespace` (empty: nothing is published), dimension
Job = "<platform>-<scope>" (glue-dimensions, glue-complaints, emr-all):
  RunSeconds      the run's wall-clock seconds (every run, failed or not: a missing datum is a missed run)
  QuarantineRate  new orphans / complaint rows kept, for runs that read complaints
"""
from __future__ import annotations

import datetime as dt

from coretelecoms.platform import aws
from coretelecoms.platform.settings import Settings


def cloudwatch_client(settings: Settings):
    """CloudWatch in the job's own credentials; the S3 endpoint override also serves it in tests."""
    return aws.client("cloudwatch", endpoint=settings.s3.endpoint, region=settings.s3.region)


def run_metrics(report: dict, job: str) -> list[dict]:
    """The MetricData of one run report (pure)."""
    started = dt.datetime.fromisoformat(report["started_at"])
    finished = dt.datetime.fromisoformat(report["finished_at"])
    dimensions = [{"Name": "Job", "Value": job}]
    data = [{"MetricName": "RunSeconds", "Dimensions": dimensions, "Timestamp": finished,
             "Value": round((finished - started).total_seconds(), 3), "Unit": "Seconds"}]
    if report.get("scope", "all") != "dimensions" and report.get("quality"):
        data.append({"MetricName": "QuarantineRate", "Dimensions": dimensions, "Timestamp": finished,
                     "Value": float(report.get("quarantine_rate", 0.0)), "Unit": "None"})
    return data


def publish_run_metrics(report: dict, settings: Settings) -> str:
    """Put the run's metrics; never raises (monitoring must not fail a run): returns what happened."""
    namespace = settings.notifications.cloudwatch_namespace
    if not namespace:
        return "skipped: no CloudWatch namespace configured"
    job = f"{settings.platform}-{report.get('scope', 'all')}"
    try:
        cloudwatch_client(settings).put_metric_data(Namespace=namespace, MetricData=run_metrics(report, job))
    except Exception as error:  # noqa: BLE001 - reported in the run's output, the run's outcome stands
        return f"failed: {type(error).__name__}"
    return "sent"
