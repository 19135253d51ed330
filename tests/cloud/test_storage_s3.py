"""storage on s3a:// locations against the loopback S3 server, with the landing and the lake each
reached through its own role while IAM is enforced: a call made with any other credentials is refused."""
from __future__ import annotations

import hashlib
import os
import uuid
from dataclasses import dataclass

import boto3
import pytest
from botocore.exceptions import ClientError

from coretelecoms.platform import storage
from coretelecoms.platform.settings import Settings
from tests.cloud.conftest import keys_used_on, s3_settings

CALL_LOG_KEY = "call logs/call_logs_day_2025-06-01.csv"  # the space is real
CALL_LOG = b',call ID,customeR iD\n0,c1,u1\n1,c2,u2\n'
UNUSED_DSN = "postgresql://nobody@127.0.0.1:1/unused"  # these tests touch no database


@dataclass(frozen=True)
class TwoBuckets:
    settings: Settings  # landing in `landing`, lake and runs in `lake`, each bucket with its role
    landing: str
    lake: str
    landing_role: str
    lake_role: str


@pytest.fixture
def buckets(account, s3_server, tmp_path) -> TwoBuckets:
    """A landing bucket its role may only read (holding one call log), a lake bucket its role may change."""
    suffix = uuid.uuid4().hex[:8]
    landing, lake = account.bucket("landing"), account.bucket("lake")
    landing_role = account.bucket_role(f"landing-reader-{suffix}", landing, ["s3:GetObject", "s3:ListBucket"])
    lake_role = account.bucket_role(f"lake-writer-{suffix}", lake, ["s3:*"])
    account.client("s3").put_object(Bucket=landing, Key=CALL_LOG_KEY, Body=CALL_LOG)
    settings = s3_settings(tmp_path, UNUSED_DSN, s3_server, landing=f"s3a://{landing}", lake=f"s3a://{lake}/lake",
                           runs="", **{"s3.landing_role_arn": landing_role, "s3.lake_role_arn": lake_role})
    storage.use_s3_settings(settings)
    return TwoBuckets(settings, landing, lake, landing_role, lake_role)


def role_client(endpoint: str, role_arn: str):
    """An S3 client acting as `role_arn`, assumed here with plain boto3 from the default credentials."""
    sts = boto3.client("sts", endpoint_url=endpoint)
    credentials = sts.assume_role(RoleArn=role_arn, RoleSessionName="test")["Credentials"]
    return boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=credentials["AccessKeyId"],
                        aws_secret_access_key=credentials["SecretAccessKey"],
                        aws_session_token=credentials["SessionToken"])


def test_each_bucket_is_reached_through_its_own_role(account, s3_server, buckets, signed_requests):
    settings, first_request = buckets.settings, len(signed_requests)
    call_log = storage.join(settings.landing, CALL_LOG_KEY)
    manifest = storage.join(settings.lake, "_manifests", "bronze", "call_logs", "2025-06-01", "m.json")
    report = storage.join(settings.runs, "2025-06-01", "run.json")
    with account.iam_enforced():
        assert storage.exists(call_log)
        assert not storage.exists(storage.join(settings.landing, "call logs", "call_logs_day_2025-06-02.csv"))
        with storage.read_hashing(call_log) as stream:
            stream.drain()
        storage.write_json(manifest, {"rows": 2, "sha256": stream.sha256})
        storage.write_json(report, {"status": "succeeded"})
        assert storage.read_json(manifest) == {"rows": 2, "sha256": hashlib.sha256(CALL_LOG).hexdigest()}
        assert storage.exists(manifest) and not storage.exists(manifest + ".partial")
    # Outside enforcement: moto cannot check the signature of a listing whose prefix has a '/' (getmoto/moto#5948).
    assert storage.list_files(settings.lake, ".json") == [manifest, report]
    ours = signed_requests[first_request:]
    for bucket, role in ((buckets.landing, buckets.landing_role), (buckets.lake, buckets.lake_role)):
        assert keys_used_on(ours, bucket) and keys_used_on(ours, bucket) <= account.access_keys_of(role), bucket
    assert (stream.size, stream.sha256) == (len(CALL_LOG), hashlib.sha256(CALL_LOG).hexdigest())
    written = account.client("s3").get_object(Bucket=buckets.lake, Key=manifest.split("/", 3)[3])["Body"].read()
    assert b'"rows": 2' in written


def test_enforcement_refuses_the_wrong_credentials(account, s3_server, buckets):
    """What makes the test above mean something: only the right role gets through."""
    landing_bucket, lake_bucket = buckets.landing, buckets.lake
    with account.iam_enforced():
        default_credentials = boto3.client("s3", endpoint_url=s3_server)
        landing_reader, lake_writer = role_client(s3_server, buckets.landing_role), role_client(s3_server, buckets.lake_role)
        assert landing_reader.get_object(Bucket=landing_bucket, Key=CALL_LOG_KEY)["Body"].read() == CALL_LOG
        for refused in (
            lambda: default_credentials.get_object(Bucket=landing_bucket, Key=CALL_LOG_KEY),
            lambda: default_credentials.put_object(Bucket=lake_bucket, Key="lake/x.json", Body=b"{}"),
            lambda: lake_writer.get_object(Bucket=landing_bucket, Key=CALL_LOG_KEY),
            lambda: landing_reader.put_object(Bucket=lake_bucket, Key="lake/x.json", Body=b"{}"),
            lambda: landing_reader.put_object(Bucket=landing_bucket, Key="x.json", Body=b"{}"),
        ):
            with pytest.raises(ClientError, match="AccessDenied"):
                refused()


def test_a_bucket_without_a_role_uses_the_default_credentials(account, s3_server, tmp_path, signed_requests):
    bucket = account.bucket("plain")
    first_request = len(signed_requests)
    settings = s3_settings(tmp_path, UNUSED_DSN, s3_server, landing=str(tmp_path / "landing"),
                           lake=f"s3a://{bucket}/lake", runs="")
    storage.use_s3_settings(settings)
    report = storage.join(settings.runs, "2025-06-01", "run.json")
    storage.write_json(report, {"status": "succeeded"})
    assert storage.read_json(report) == {"status": "succeeded"}
    assert settings.s3_bucket_roles() == {bucket: ""}
    assert keys_used_on(signed_requests[first_request:], bucket) == {os.environ["AWS_ACCESS_KEY_ID"]}
