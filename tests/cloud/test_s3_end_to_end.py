"""The whole pipeline with its landing and its lake on s3a:// (two buckets, each reached through its own
role) gives the same lake as with local folders, day after day."""
from __future__ import annotations

import datetime as dt
import json
import os
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest

from coretelecoms import pipeline
from coretelecoms.bronze.columns import INGESTED_AT, RUN_ID, SOURCE
from coretelecoms.bronze.ingest import INGESTED, REPLACED, manifest_location
from coretelecoms.platform import storage
from coretelecoms.platform.postgres import create_database
from coretelecoms_dev.generator import GeneratorConfig, generate, publish
from tests.cloud.conftest import keys_used_on, s3_settings
from tests.conftest import make_settings

START, DAYS = dt.date(2025, 5, 1), 2  # dates no other test generates
# Lineage that legitimately differs between two runs of the same inputs: the run's id and time, and
# where an input was read from (s3a://... or a folder). Silver names some of it otherwise, and keeps
# whole records (with their lineage) as JSON in `record` columns.
DIFFERING_COLUMNS = {SOURCE, RUN_ID, INGESTED_AT, "run_id", "bronze_run_id", "first_seen_run", "last_seen_run",
                     "resolved_run"}


@pytest.fixture(scope="module")
def two_lakes(account, s3_server, signed_requests, embedded_pg, spark, tmp_path_factory):
    """The same generated days, each run on S3 and then on local folders: (S3 settings, folder settings,
    {"s3" | "folders": the day's results}, {bucket: its role}, the requests the S3 runs signed)."""
    root = tmp_path_factory.mktemp("s3_end_to_end")
    admin_url = embedded_pg.url("postgres")
    for database in ("coretelecoms_test_cloud_source", "coretelecoms_test_cloud_s3", "coretelecoms_test_cloud_local"):
        create_database(admin_url, database, drop_first=True)
    source_dsn = embedded_pg.url("coretelecoms_test_cloud_source")
    truth = generate(GeneratorConfig(start_date=START, days=DAYS, scale=0.001, seed=7), root / "landing", source_dsn,
                     progress=lambda _: None)

    suffix = uuid.uuid4().hex[:8]
    landing_bucket, lake_bucket = account.bucket("landing"), account.bucket("lake")
    roles = {
        landing_bucket: account.bucket_role(f"landing-reader-{suffix}", landing_bucket, ["s3:GetObject", "s3:ListBucket"]),
        lake_bucket: account.bucket_role(f"lake-writer-{suffix}", lake_bucket, ["s3:*"]),
    }
    on_s3 = s3_settings(root / "s3", source_dsn, s3_server, landing=f"s3a://{landing_bucket}",
                        lake=f"s3a://{lake_bucket}/lake", runs="", data_docs=f"s3a://{lake_bucket}/data_docs", **{
                            "postgres.conformance_url": embedded_pg.url("coretelecoms_test_cloud_s3"),
                            "s3.landing_role_arn": roles[landing_bucket], "s3.lake_role_arn": roles[lake_bucket]})
    on_folders = make_settings(root, source_dsn, **{"postgres.conformance_url": embedded_pg.url("coretelecoms_test_cloud_local")})

    jvm_system = spark._jvm.java.lang.System
    # The JVM's environment was fixed when it started (perhaps before s3_server): the SDK's default
    # chain reads the same credentials from system properties.
    jvm_system.setProperty("aws.accessKeyId", os.environ["AWS_ACCESS_KEY_ID"])
    jvm_system.setProperty("aws.secretKey", os.environ["AWS_SECRET_ACCESS_KEY"])
    results, seconds, requests = {"s3": [], "folders": []}, Counter(), []  # requests: those the S3 runs made
    try:
        for day in map(dt.date.fromisoformat, truth["dates"]):
            publish(root / "landing", day)
            upload_folder(account.client("s3"), root / "landing", landing_bucket)
            for name, settings in (("s3", on_s3), ("folders", on_folders)):
                started, first_request = time.monotonic(), len(signed_requests)
                results[name].append(pipeline.run(settings, day, spark=spark, progress=lambda _: None))
                seconds[name] += time.monotonic() - started
                requests += signed_requests[first_request:] if name == "s3" else []
    finally:
        jvm_system.clearProperty("aws.accessKeyId")
        jvm_system.clearProperty("aws.secretKey")
    print(f"\n{DAYS} days: on s3a {seconds['s3']:.0f} s ({len(requests)} requests), on folders {seconds['folders']:.0f} s")
    return on_s3, on_folders, results, roles, requests


def upload_folder(s3, folder: Path, bucket: str) -> None:
    """Every file of `folder` as an object keyed by its relative path (`call logs/...` keeps its space)."""
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        s3.upload_file(str(path), bucket, path.relative_to(folder).as_posix())


def delta_tables(account, lake: str) -> set[str]:
    """The Delta tables below a lake, as paths relative to it: every folder holding a `_delta_log`."""
    if not storage.is_s3(lake):
        return {str(log.parent.relative_to(lake)) for log in Path(lake).rglob("_delta_log")}
    bucket, _, prefix = lake[len("s3a://"):].partition("/")
    pages = account.client("s3").get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix + "/")
    keys = [item["Key"] for page in pages for item in page.get("Contents", [])]
    return {key[len(prefix) + 1:].split("/_delta_log/")[0] for key in keys if "/_delta_log/" in key}


def table_rows(spark, lake: str, table: str) -> Counter:
    frame = spark.read.format("delta").load(storage.spark_path(storage.join(lake, table)))
    kept = sorted(set(frame.columns) - DIFFERING_COLUMNS)
    return Counter(repr(tuple(map(without_lineage, row))) for row in frame.select(*kept).collect())


def without_lineage(value):
    """A JSON record (a string holding an object) without its differing lineage keys; others as they are."""
    if isinstance(value, str) and value.startswith("{"):
        record = json.loads(value)
        return json.dumps({key: item for key, item in record.items() if key not in DIFFERING_COLUMNS}, sort_keys=True)
    return value


def test_both_lakes_hold_the_same_tables_and_rows(spark, account, two_lakes):
    on_s3, on_folders, results, _, _ = two_lakes
    assert [r.status for r in results["s3"]] == [r.status for r in results["folders"]]
    tables = delta_tables(account, on_s3.lake)
    assert tables == delta_tables(account, on_folders.lake)
    assert {"bronze/call_logs", "bronze/customers", "silver/call_logs", "silver/dq_issues"} <= tables
    for table in sorted(tables):
        assert table_rows(spark, on_s3.lake, table) == table_rows(spark, on_folders.lake, table), table


def test_run_reports_and_manifests_are_on_s3(two_lakes):
    on_s3, _, results, _, _ = two_lakes
    for result in results["s3"]:
        for kind in ("json", "html"):
            assert storage.exists(storage.join(on_s3.lake, "_runs", result.run_date.isoformat(), f"{result.run_id}.{kind}"))
        assert result.data_docs == storage.join(on_s3.data_docs, "index.html")
        assert storage.exists(result.data_docs)
        landed = [outcome for outcome in result.bronze if outcome.status in (INGESTED, REPLACED)]
        assert landed
        for outcome in landed:
            assert storage.exists(manifest_location(on_s3, outcome)), outcome


def test_each_bucket_was_reached_only_through_its_own_role(account, two_lakes):
    """Spark (S3A) and boto3 alike: the server's log of who signed each request, against the keys its
    STS issued to each role."""
    _, _, _, roles, requests = two_lakes
    for bucket, role in roles.items():
        used = keys_used_on(requests, bucket)
        assert used and used <= account.access_keys_of(role), bucket
