"""Settings for S3 and secrets: cloud configurations with secret ids only, clear errors naming keys,
and the per-bucket S3A options derived from them."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from coretelecoms.platform.settings import SettingsError, load_settings
from coretelecoms.platform.spark import ASSUMED_ROLE_PROVIDER, SDK_DEFAULT_CHAIN, s3a_bucket_options

CONF = Path(__file__).resolve().parents[2] / "conf"
LANDING_ROLE = "arn:aws:iam::123456789012:role/landing-reader"
LAKE_ROLE = "arn:aws:iam::123456789012:role/lake-writer"
CLOUD = {"landing": "s3a://source-bucket", "lake": "s3a://lake-bucket/lake", "agents.spreadsheet_id": "sheet-1"}
SECRET_IDS = {"postgres.secret_id": "coretelecoms/conformance", "postgres.source_secret_id": "coretelecoms/source",
              "agents.service_account_secret_id": "coretelecoms/sheets-key"}


@pytest.fixture(autouse=True)
def no_environment_overrides(monkeypatch):
    for name in list(os.environ):
        if name.startswith("CORETELECOMS__"):
            monkeypatch.delenv(name)


@pytest.mark.parametrize("env", ["emr", "glue"])
def test_cloud_configurations_work_with_secret_ids_only(env):
    settings = load_settings(env=env, conf_dir=CONF, overrides={**CLOUD, **SECRET_IDS})
    assert (settings.postgres.conformance_url, settings.postgres.source_url) == ("", "")
    assert settings.postgres.secret_id == "coretelecoms/conformance"
    assert settings.agents.service_account_secret_id == "coretelecoms/sheets-key"
    assert not settings.uses_embedded_postgres


@pytest.mark.parametrize(("missing", "message"), [
    ("postgres.secret_id", r"setting 'postgres.secret_id' or 'postgres.conformance_url' is required on emr "
                           r"while 'postgres.required' is true "
                           r"\(set it there or in CORETELECOMS__POSTGRES__SECRET_ID\)"),
    ("postgres.source_secret_id", r"setting 'postgres.source_secret_id' or 'postgres.source_url' is required with an "
                                  r"external conformance database \(set it there or in CORETELECOMS__POSTGRES__SOURCE_SECRET_ID\)"),
])
def test_a_missing_database_secret_id_is_named(missing, message):
    with pytest.raises(SettingsError, match=message):
        load_settings(env="emr", conf_dir=CONF, overrides={**CLOUD, **SECRET_IDS, missing: ""})


@pytest.mark.parametrize(("changes", "message"), [
    ({"s3.lake_role_arn": "lake-writer"}, r"'s3.lake_role_arn' is 'lake-writer', expected the form arn:aws:iam::"),
    ({"s3.endpoint": "127.0.0.1:9000"}, r"'s3.endpoint' is '127.0.0.1:9000', expected the form http\(s\)://host:port"),
    ({"lake": "s3a://source-bucket/lake", "s3.lake_role_arn": LAKE_ROLE},
     r"'lake' is in bucket 'source-bucket' whose role is set by 's3.landing_role_arn', but 's3.lake_role_arn' differs"),
])
def test_bad_s3_settings_are_named(changes, message):
    with pytest.raises(SettingsError, match=message):
        load_settings(env="emr", conf_dir=CONF, overrides={**CLOUD, **SECRET_IDS, **changes})


def test_local_s3a_options_per_bucket_with_an_endpoint_and_two_roles():
    settings = load_settings(env="local", conf_dir=CONF, overrides={
        **CLOUD, "s3.endpoint": "http://127.0.0.1:9000", "s3.region": "eu-west-1",
        "s3.landing_role_arn": LANDING_ROLE, "s3.lake_role_arn": LAKE_ROLE})
    options = s3a_bucket_options(settings)
    for bucket, role in (("source-bucket", LANDING_ROLE), ("lake-bucket", LAKE_ROLE)):
        assert {key.removeprefix(f"fs.s3a.bucket.{bucket}."): value
                for key, value in options.items() if key.startswith(f"fs.s3a.bucket.{bucket}.")} == {
            "endpoint": "http://127.0.0.1:9000", "endpoint.region": "eu-west-1",
            "path.style.access": "true", "connection.ssl.enabled": "false",
            "aws.credentials.provider": ASSUMED_ROLE_PROVIDER, "assumed.role.arn": role,
            "assumed.role.credentials.provider": SDK_DEFAULT_CHAIN,
            "assumed.role.sts.endpoint": "http://127.0.0.1:9000", "assumed.role.sts.endpoint.region": "eu-west-1",
        }
    assert len(options) == 18  # nothing but these two buckets' options


def test_on_emr_only_what_the_settings_ask_for_is_set():
    plain = load_settings(env="emr", conf_dir=CONF, overrides={**CLOUD, **SECRET_IDS})
    assert s3a_bucket_options(plain) == {}  # the platform's connector, endpoint and instance role
    with_role = load_settings(env="emr", conf_dir=CONF, overrides={
        **CLOUD, **SECRET_IDS, "s3.region": "eu-west-1", "s3.lake_role_arn": LAKE_ROLE})
    assert s3a_bucket_options(with_role) == {
        "fs.s3a.bucket.source-bucket.endpoint.region": "eu-west-1",
        "fs.s3a.bucket.lake-bucket.endpoint.region": "eu-west-1",
        "fs.s3a.bucket.lake-bucket.aws.credentials.provider": ASSUMED_ROLE_PROVIDER,
        "fs.s3a.bucket.lake-bucket.assumed.role.arn": LAKE_ROLE,
        "fs.s3a.bucket.lake-bucket.assumed.role.credentials.provider": SDK_DEFAULT_CHAIN,
        "fs.s3a.bucket.lake-bucket.assumed.role.sts.endpoint": "sts.eu-west-1.amazonaws.com",
        "fs.s3a.bucket.lake-bucket.assumed.role.sts.endpoint.region": "eu-west-1",
    }


def test_https_endpoint_keeps_ssl_and_no_role_means_the_default_chain():
    settings = load_settings(env="local", conf_dir=CONF, overrides={**CLOUD, "s3.endpoint": "https://s3.example.internal"})
    options = s3a_bucket_options(settings)
    assert options["fs.s3a.bucket.lake-bucket.connection.ssl.enabled"] == "true"
    assert options["fs.s3a.bucket.lake-bucket.aws.credentials.provider"] == SDK_DEFAULT_CHAIN  # no role: the default chain
