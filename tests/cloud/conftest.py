"""An AWS account on the loopback server (tests/conftest.py `s3_server`) laid out like production: an
administrator that arranges and inspects, the pipeline's own identity (the default credentials) that
may only assume roles and read secrets, and one role per bucket. With IAM enforcement on, an S3 call
made with the wrong credentials is refused, as AWS would refuse it."""
from __future__ import annotations

import json
import uuid
from contextlib import contextmanager
from dataclasses import dataclass

import boto3
import pytest
import requests

from tests.conftest import AWS_TEST_REGION, make_settings

ACCOUNT_ID = "123456789012"  # moto's default account


@dataclass(frozen=True)
class Account:
    endpoint: str
    admin: boto3.Session  # allowed everything

    def client(self, service: str):
        return self.admin.client(service, endpoint_url=self.endpoint)

    def bucket(self, purpose: str) -> str:
        """A new, empty bucket: never used before, so no cached Hadoop filesystem knows it."""
        name = f"{purpose}-{uuid.uuid4().hex[:10]}"
        self.client("s3").create_bucket(Bucket=name)
        return name

    def bucket_role(self, name: str, bucket: str, actions: list[str]) -> str:
        """A role that may do `actions` on `bucket` and its objects, and nothing else; its ARN."""
        iam = self.client("iam")
        trust = {"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:root"}, "Action": "sts:AssumeRole"}]}
        role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]
        iam.put_role_policy(RoleName=name, PolicyName=f"{name}-access", PolicyDocument=_policy(
            actions, [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"]))
        return role["Arn"]

    @staticmethod
    def access_keys_of(role_arn: str) -> set[str]:
        """The access key ids the server's STS issued for `role_arn` (its record of AssumeRole)."""
        from moto.sts.models import sts_backends  # the server runs in this process

        return {role.access_key_id for role in sts_backends[ACCOUNT_ID]["global"].assumed_roles
                if role.role_arn == role_arn}

    @contextmanager
    def iam_enforced(self):
        """Every request checked against IAM (signature and policies) while inside."""
        previous = _reset_auth(self.endpoint, "0")
        try:
            yield
        finally:
            _reset_auth(self.endpoint, previous)


def _policy(actions: list[str], resources: list[str]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": actions, "Resource": resources}]})


def _reset_auth(endpoint: str, requests_before_enforcement: str) -> str:
    """moto's switch: IAM is enforced after this many more requests ('inf': never)."""
    answer = requests.post(f"{endpoint}/moto-api/reset-auth", data=requests_before_enforcement.encode(), timeout=10)
    answer.raise_for_status()
    return answer.json()["PREVIOUS_INITIAL_NO_AUTH_ACTION_COUNT"]


@pytest.fixture(scope="session")
def account(s3_server) -> Account:
    iam = boto3.client("iam", endpoint_url=s3_server, region_name=AWS_TEST_REGION)  # no enforcement yet
    iam.create_user(UserName="admin")
    iam.put_user_policy(UserName="admin", PolicyName="everything", PolicyDocument=_policy(["*"], ["*"]))
    key = iam.create_access_key(UserName="admin")["AccessKey"]
    # The pipeline's identity reaches buckets only through the roles.
    iam.put_user_policy(UserName="pipeline", PolicyName="assume-roles-read-secrets", PolicyDocument=_policy(
        ["sts:AssumeRole", "secretsmanager:GetSecretValue"], ["*"]))
    admin = boto3.Session(aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"],
                          region_name=AWS_TEST_REGION)
    return Account(s3_server, admin)


def s3_settings(root, source_dsn: str, endpoint: str, **extra: str):
    """Test settings (make_settings) that reach AWS APIs at the loopback server."""
    return make_settings(root, source_dsn, **{
        "s3.endpoint": endpoint, "s3.region": AWS_TEST_REGION,
        "secrets_manager.endpoint": endpoint, "secrets_manager.region": AWS_TEST_REGION, **extra})


def keys_used_on(requests: list, bucket: str) -> set[str]:
    """The access key ids that signed the requests to `bucket` among `requests` (tests/conftest.py SignedRequest)."""
    return {request.access_key_id for request in requests if request.bucket == bucket}
