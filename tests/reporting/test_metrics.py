"""Run metrics reach CloudWatch (the loopback AWS server); monitoring never fails a run."""
import datetime as dt

import boto3

from coretelecoms.reporting.outcome import notify_run, slack_webhook
from coretelecoms.reporting.metrics import publish_run_metrics, run_metrics
from tests.conftest import make_settings

REPORT = {"run_id": "r1", "run_date": "2025-06-02", "status": "succeeded", "scope": "complaints",
          "started_at": "2026-11-27T03:00:00+00:00", "finished_at": "2026-11-27T03:01:30+00:00",
          "quality": {"call_logs": {"kept": 1000}}, "quarantine_rate": 0.004}


def test_run_seconds_and_quarantine_rate_by_job():
    data = {d["MetricName"]: d for d in run_metrics(REPORT, "glue-complaints")}
    assert data["RunSeconds"]["Value"] == 90.0 and data["QuarantineRate"]["Value"] == 0.004
    assert data["RunSeconds"]["Dimensions"] == [{"Name": "Job", "Value": "glue-complaints"}]
    dimensions_only = {**REPORT, "scope": "dimensions"}
    assert [d["MetricName"] for d in run_metrics(dimensions_only, "glue-dimensions")] == ["RunSeconds"]


def test_metrics_are_put_to_cloudwatch(tmp_path, s3_server):
    settings = make_settings(tmp_path, "postgresql://unused", **{
        "notifications.cloudwatch_namespace": "CoreTelecoms/Pipeline", "s3.endpoint": s3_server})
    assert publish_run_metrics(REPORT, settings) == "sent"
    cloudwatch = boto3.client("cloudwatch", endpoint_url=s3_server)
    listed = cloudwatch.list_metrics(Namespace="CoreTelecoms/Pipeline")["Metrics"]
    assert {(m["MetricName"], m["Dimensions"][0]["Value"]) for m in listed} >= {
        ("RunSeconds", "local-complaints"), ("QuarantineRate", "local-complaints")}
    stats = cloudwatch.get_metric_statistics(
        Namespace="CoreTelecoms/Pipeline", MetricName="RunSeconds", Dimensions=[{"Name": "Job", "Value": "local-complaints"}],
        StartTime=dt.datetime(2026, 11, 27, 2), EndTime=dt.datetime(2026, 11, 27, 4), Period=3600, Statistics=["Maximum"])
    assert [point["Maximum"] for point in stats["Datapoints"]] == [90.0]


def test_no_namespace_or_no_server_never_fails_the_run(tmp_path, s3_server):
    quiet = make_settings(tmp_path, "postgresql://unused")
    assert publish_run_metrics(REPORT, quiet) == "skipped: no CloudWatch namespace configured"
    unreachable = make_settings(tmp_path, "postgresql://unused", **{
        "notifications.cloudwatch_namespace": "CoreTelecoms/Pipeline", "s3.endpoint": "http://127.0.0.1:9"})
    assert publish_run_metrics(REPORT, unreachable).startswith("failed: ")


def test_the_slack_webhook_can_come_from_secrets_manager(tmp_path, s3_server, monkeypatch):
    boto3.client("secretsmanager", endpoint_url=s3_server).create_secret(
        Name="coretelecoms/slack", SecretString="https://hooks.slack.example/services/T0/B0/secret")
    monkeypatch.setenv("CORETELECOMS_SLACK_WEBHOOK_URL", "https://from-the-environment.example/")
    settings = make_settings(tmp_path, "postgresql://unused", **{
        "notifications.slack_webhook_secret_id": "coretelecoms/slack", "secrets_manager.endpoint": s3_server})
    assert slack_webhook(settings) == "https://hooks.slack.example/services/T0/B0/secret"
    assert slack_webhook(make_settings(tmp_path, "postgresql://unused")) == "https://from-the-environment.example/"


def test_an_unreadable_webhook_secret_is_reported_not_raised(tmp_path, s3_server):
    settings = make_settings(tmp_path, "postgresql://unused", **{
        "notifications.slack_webhook_secret_id": "coretelecoms/no-such-secret", "secrets_manager.endpoint": s3_server})
    outcome = notify_run(settings, {**REPORT, "status": "failed", "error": "boom"}, "report.html")
    assert outcome.startswith("failed: ") and "coretelecoms/no-such-secret" in outcome
