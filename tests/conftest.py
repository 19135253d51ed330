"""Shared fixtures: one real Spark session with Delta, the real embedded PostgreSQL, test settings."""
from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from coretelecoms.platform.postgres import create_database, drop_database, embedded_server
from coretelecoms.platform.settings import load_settings

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# Databases the session's tests share get the process id in their name: two pytest sessions at once
# (a developer's and a helper's) must not drop each other's data.
TEST_SOURCE_DB = f"coretelecoms_test_source_{os.getpid()}"


@pytest.fixture(scope="session")
def embedded_pg():
    """The project's embedded PostgreSQL (started if needed, left running for the next user)."""
    return embedded_server(load_settings(env="test", conf_dir=PROJECT_ROOT / "conf")).start(progress=lambda _: None)


def session_database(embedded_pg, name: str):
    create_database(embedded_pg.url("postgres"), name, drop_first=True)
    yield embedded_pg.url(name)
    drop_database(embedded_pg.url("postgres"), name)


@pytest.fixture(scope="session")
def source_dsn(embedded_pg):
    """An empty scratch database standing in for the web-forms source database."""
    yield from session_database(embedded_pg, TEST_SOURCE_DB)


def make_settings(root: Path, source_dsn: str, **extra: str):
    """Test settings whose landing, lake and runs live under `root`."""
    overrides = {
        "landing": str(root / "landing"),
        "lake": str(root / "lake"),
        "runs": str(root / "runs"),
        "data_docs": str(root / "data_docs"),
        "postgres.source_url": source_dsn,
        **extra,
    }
    return load_settings(env="test", conf_dir=PROJECT_ROOT / "conf", overrides=overrides)


@pytest.fixture(scope="session")
def spark():
    from coretelecoms.platform.spark import spark_session

    session = spark_session(load_settings(env="test", conf_dir=PROJECT_ROOT / "conf"), app_name="coretelecoms tests")
    yield session
    session.stop()


GENERATED_START = dt.date(2025, 2, 27)  # crosses a month end; other tests that generate sources use other dates (one source DB)


@pytest.fixture(scope="session")
def conformance_dsn(embedded_pg):
    yield from session_database(embedded_pg, f"coretelecoms_test_pipeline_{os.getpid()}")


@pytest.fixture(scope="session")
def generated_run(tmp_path_factory, source_dsn, conformance_dsn, spark):
    """Three generated days, each published and run once, as `make demo` does: (settings, truth, results)."""
    from coretelecoms import pipeline
    from coretelecoms_dev.generator import GeneratorConfig, generate, publish

    root = tmp_path_factory.mktemp("pipeline_truth")
    settings = make_settings(root, source_dsn, **{"postgres.conformance_url": conformance_dsn})
    truth = generate(GeneratorConfig(start_date=GENERATED_START, days=3, scale=0.002, seed=11), root / "landing",
                     source_dsn, progress=lambda _: None)
    results = []
    for day in truth["dates"]:
        publish(Path(settings.landing), dt.date.fromisoformat(day))
        results.append(pipeline.run(settings, dt.date.fromisoformat(day), spark=spark, progress=lambda _: None))
    return settings, truth, results


AWS_TEST_REGION = "us-east-1"
# Ambient AWS configuration that must not reach the loopback server (or real AWS) during tests.
AMBIENT_AWS_VARIABLES = ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_ROLE_ARN",
                         "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ENDPOINT_URL", "AWS_REGION")


@dataclass(frozen=True)
class SignedRequest:
    """One request the loopback AWS server received: like an S3 server access log line."""

    method: str
    bucket: str  # the first path segment: the bucket of a path-style S3 request, '' for other APIs
    access_key_id: str  # whose credentials signed it


def _logging_signed_requests(app, log: list[SignedRequest]):
    """WSGI middleware that appends every signed request to `log` before serving it."""
    def logged(environ, start_response):
        credential = re.search(r"Credential=(\w+)/", environ.get("HTTP_AUTHORIZATION", ""))
        if credential:
            bucket = environ.get("PATH_INFO", "/").lstrip("/").split("/", 1)[0]
            log.append(SignedRequest(environ["REQUEST_METHOD"], bucket, credential.group(1)))
        return app(environ, start_response)
    return logged


SIGNED_REQUESTS = pytest.StashKey[list]()


@pytest.fixture(scope="session")
def s3_server(pytestconfig):
    """A real S3-compatible HTTP server (moto: S3, STS, IAM, Secrets Manager) on 127.0.0.1 at a free
    port; yields its endpoint URL. While it runs, the default AWS credentials in the environment are
    the keys of an IAM user of that server (the pipeline's identity): the server allows everything
    until a test turns IAM enforcement on (tests/cloud), and then that user may do what it was granted."""
    import boto3
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    pytestconfig.stash[SIGNED_REQUESTS] = []
    # Wrapped before any request is made; werkzeug's server calls its `app` for each request.
    server._server.app = _logging_signed_requests(server._server.app, pytestconfig.stash[SIGNED_REQUESTS])
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    iam = boto3.client("iam", endpoint_url=endpoint, region_name=AWS_TEST_REGION,
                       aws_access_key_id="bootstrap", aws_secret_access_key="bootstrap")  # no enforcement yet
    iam.create_user(UserName="pipeline")
    key = iam.create_access_key(UserName="pipeline")["AccessKey"]
    with pytest.MonkeyPatch.context() as patch:
        for name in AMBIENT_AWS_VARIABLES:
            patch.delenv(name, raising=False)
        patch.setenv("AWS_CONFIG_FILE", os.devnull)
        patch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
        patch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # never wait for an instance role
        patch.setenv("AWS_DEFAULT_REGION", AWS_TEST_REGION)
        patch.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
        patch.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])
        yield endpoint
    server.stop()


@pytest.fixture(scope="session")
def signed_requests(s3_server, pytestconfig) -> list[SignedRequest]:
    """Every signed request `s3_server` has received so far, in arrival order (a live list)."""
    return pytestconfig.stash[SIGNED_REQUESTS]
