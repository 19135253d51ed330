"""Secrets Manager on the loopback server: database DSNs and the Sheets key come from secrets named in
the settings, read by the pipeline's identity with IAM enforced; errors name the secret and its
setting and never carry a value."""
from __future__ import annotations

import datetime as dt
import json
import logging
import uuid
from urllib.parse import quote

import psycopg2
import pytest

from coretelecoms.platform.postgres import ROLE, conformance_url, create_database, jdbc_options, mask_dsn, source_url
from coretelecoms.platform.secrets import SecretError
from coretelecoms.sources.catalog import dimension_inputs
from coretelecoms.sources.readers import probe_input
from coretelecoms.sources.sheets import SheetsError
from tests.cloud.conftest import s3_settings
from tests.fakes.sheets_server import FakeSheetsServer

UNUSED_DSN = "postgresql://nobody@127.0.0.1:1/unused"  # postgres.source_url, which a secret overrides
PASSWORD = "p@ss:/w rd%?"  # what generated passwords contain; it must survive the DSN intact
SECRET_DB = "coretelecoms_test_cloud_secret"
AGENTS = [["iD", "NamE", "experience", "state"], ["1000", "Jane Doe", "Senior", "Utah"]]
SHEET = {"spreadsheet_id": "sheet-secret", "title": "agents", "worksheets": [{"title": "agents", "values": AGENTS}]}
RUN_DATE = dt.date(2025, 6, 1)


def store_secret(account, value: str) -> str:
    secret_id = f"coretelecoms/test-{uuid.uuid4().hex[:8]}"
    account.client("secretsmanager").create_secret(Name=secret_id, SecretString=value)
    return secret_id


def database_secret(embedded_pg, database: str, **changes) -> str:
    """An RDS-style database secret for `database` on the embedded server, as JSON."""
    secret = {"engine": "postgres", "username": ROLE, "password": PASSWORD, "host": "127.0.0.1",
              "port": embedded_pg.port, "dbname": database, **changes}
    return json.dumps({key: value for key, value in secret.items() if value is not None})


def agents_input(settings):
    return next(i for i in dimension_inputs(settings, RUN_DATE) if i.source == "agents")


def test_database_dsns_come_from_their_secrets(account, s3_server, embedded_pg, tmp_path, caplog):
    create_database(embedded_pg.url("postgres"), SECRET_DB, drop_first=True)
    conformance_secret = store_secret(account, database_secret(embedded_pg, SECRET_DB))
    source_secret = store_secret(account, database_secret(embedded_pg, "coretelecoms_source"))
    settings = s3_settings(tmp_path, UNUSED_DSN, s3_server, **{
        "postgres.secret_id": conformance_secret, "postgres.source_secret_id": source_secret,
        "postgres.conformance_url": "postgresql://ignored@127.0.0.1:1/ignored"})  # the secret wins
    caplog.set_level(logging.DEBUG)
    with account.iam_enforced():
        dsn, source = conformance_url(settings), source_url(settings)
    with psycopg2.connect(dsn) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT current_database(), current_user")
        assert cursor.fetchone() == (SECRET_DB, ROLE)
    assert source.endswith(f"@127.0.0.1:{embedded_pg.port}/coretelecoms_source")
    assert (jdbc_options(dsn)["user"], jdbc_options(dsn)["password"]) == (ROLE, PASSWORD)
    assert not settings.uses_embedded_postgres
    for shown in (caplog.text, mask_dsn(dsn)):
        assert PASSWORD not in shown and quote(PASSWORD, safe="") not in shown


def test_sheets_key_from_a_secret_reads_the_agents(account, s3_server, tmp_path, monkeypatch):
    monkeypatch.delenv("CORETELECOMS_SHEETS_SERVICE_ACCOUNT_JSON", raising=False)  # only the secret has the key
    with FakeSheetsServer(SHEET) as fake:
        secret_id = store_secret(account, json.dumps(fake.service_account_info()))
        settings = s3_settings(tmp_path, UNUSED_DSN, s3_server, **{
            "agents.reader": "sheets", "agents.spreadsheet_id": SHEET["spreadsheet_id"],
            "agents.api_endpoint": fake.url, "agents.service_account_secret_id": secret_id})
        with account.iam_enforced():
            probe = probe_input(settings, agents_input(settings))
    assert [list(row) for row in probe.values] == AGENTS
    assert fake.calls[0] == "POST /token"  # signed in with the secret's key


@pytest.mark.parametrize("setting", ["postgres.secret_id", "postgres.source_secret_id", "agents.service_account_secret_id"])
def test_a_missing_secret_is_named_with_its_setting(s3_server, tmp_path, setting):
    settings = s3_settings(tmp_path, UNUSED_DSN, s3_server, **{
        setting: "coretelecoms/missing", "agents.reader": "sheets", "agents.spreadsheet_id": "sheet-x"})
    read = {"postgres.secret_id": conformance_url, "postgres.source_secret_id": source_url,
            "agents.service_account_secret_id": lambda s: probe_input(s, agents_input(s))}[setting]
    with pytest.raises(SecretError, match=rf"secret 'coretelecoms/missing' \(setting {setting}\) does not exist "
                                          rf"in Secrets Manager at {s3_server}; create it or correct {setting}"):
        read(settings)


@pytest.mark.parametrize(("value", "message"), [
    ("not json: " + PASSWORD, r"is not valid JSON: Expecting value at line 1 column 1"),
    ('["a list"]', "must hold a JSON object"),
])
def test_an_unusable_secret_is_named_without_its_value(account, s3_server, tmp_path, value, message):
    secret_id = store_secret(account, value)
    settings = s3_settings(tmp_path, UNUSED_DSN, s3_server, **{"postgres.secret_id": secret_id})
    with pytest.raises(SecretError, match=rf"secret '{secret_id}' \(setting postgres.secret_id\) {message}") as raised:
        conformance_url(settings)
    assert PASSWORD not in str(raised.value)


def test_a_database_secret_lacking_fields_names_them(account, s3_server, embedded_pg, tmp_path):
    secret_id = store_secret(account, database_secret(embedded_pg, None, host=None))
    settings = s3_settings(tmp_path, UNUSED_DSN, s3_server, **{"postgres.source_secret_id": secret_id})
    with pytest.raises(SecretError, match=rf"secret '{secret_id}' \(setting postgres.source_secret_id\) lacks host, "
                                          "dbname; a database secret holds username, password, host, port and dbname"):
        source_url(settings)


def test_no_sheets_key_at_all_names_the_settings(tmp_path, monkeypatch):
    monkeypatch.delenv("CORETELECOMS_SHEETS_SERVICE_ACCOUNT_JSON", raising=False)
    settings = s3_settings(tmp_path, UNUSED_DSN, "", **{"agents.reader": "sheets", "agents.spreadsheet_id": "sheet-x"})
    with pytest.raises(SheetsError, match="no service-account key to read the agents sheet: set "
                                          "agents.service_account_secret_id .*agents.service_account_file, or "
                                          "CORETELECOMS_SHEETS_SERVICE_ACCOUNT_JSON"):
        probe_input(settings, agents_input(settings))
