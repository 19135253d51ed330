"""Secrets from AWS Secrets Manager, read by id when needed and kept nowhere but in memory.

The settings only name secrets (`postgres.secret_id`, `postgres.source_secret_id`,
`agents.service_account_secret_id`); a secret is fetched with the default credentials (the job's role)
from `secrets_manager.endpoint` (empty: AWS). Every error names the secret id and the setting that
names it, and never includes a secret's value.
"""
from __future__ import annotations

import json
from urllib.parse import quote

from botocore.exceptions import BotoCoreError, ClientError

from coretelecoms.platform import aws
from coretelecoms.platform.settings import Settings

# What an RDS database secret holds (`port` defaults to PostgreSQL's).
RDS_SECRET_FIELDS = ("username", "password", "host", "dbname")
DEFAULT_PORT = 5432


class SecretError(RuntimeError):
    """A secret that cannot be read or used; the message names it and its setting, never its value."""


def secret_string(settings: Settings, secret_id: str, setting: str) -> str:
    """The string value of secret `secret_id`, which the setting `setting` names."""
    named = _named(secret_id, setting)
    try:
        manager = aws.client("secretsmanager", endpoint=settings.secrets_manager.endpoint,
                             region=settings.secrets_manager.region)
        answer = manager.get_secret_value(SecretId=secret_id)
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        if code == "ResourceNotFoundException":
            raise SecretError(f"{named} does not exist in Secrets Manager at {manager.meta.endpoint_url}; "
                              f"create it or correct {setting}") from None
        raise SecretError(f"cannot read {named} from {manager.meta.endpoint_url}: {code}: "
                          f"{error.response.get('Error', {}).get('Message', '')}") from None
    except BotoCoreError as error:  # no region or credentials, unreachable endpoint: no secret in these
        raise SecretError(f"cannot read {named}: {error}") from None
    if "SecretString" not in answer:
        raise SecretError(f"{named} is binary; a text (JSON) secret is expected")
    return answer["SecretString"]


def secret_json(settings: Settings, secret_id: str, setting: str) -> dict:
    """The JSON object stored in secret `secret_id`."""
    text = secret_string(settings, secret_id, setting)
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:  # the decoder's message has a position only, never content
        raise SecretError(f"{_named(secret_id, setting)} is not valid JSON: {error.msg} "
                          f"at line {error.lineno} column {error.colno}") from None
    if not isinstance(value, dict):
        raise SecretError(f"{_named(secret_id, setting)} must hold a JSON object")
    return value


def postgres_dsn(settings: Settings, secret_id: str, setting: str) -> str:
    """A postgresql:// DSN from an RDS-style database secret {username, password, host, port, dbname}."""
    secret = secret_json(settings, secret_id, setting)
    missing = [field for field in RDS_SECRET_FIELDS if not secret.get(field)]
    if missing:
        raise SecretError(f"{_named(secret_id, setting)} lacks {', '.join(missing)}; a database secret "
                          "holds username, password, host, port and dbname")
    # Percent-encoded: generated passwords contain @, / and :, which would break the DSN.
    credentials = f"{quote(str(secret['username']), safe='')}:{quote(str(secret['password']), safe='')}"
    port = secret.get("port") or DEFAULT_PORT
    return f"postgresql://{credentials}@{secret['host']}:{port}/{quote(str(secret['dbname']), safe='')}"


def _named(secret_id: str, setting: str) -> str:
    return f"secret '{secret_id}' (setting {setting})"
