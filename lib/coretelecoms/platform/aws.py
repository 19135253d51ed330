"""boto3 sessions and clients: one session per role, made once per process and kept.

Without a role a session uses boto3's default credential chain (environment, profile, container or
instance role). With a role it assumes that role through STS with the default credentials, using
botocore's own assume-role fetcher behind refreshable credentials: they are renewed before they expire,
so a long run never holds lapsed credentials. `endpoint` sends every API to one S3-compatible server
instead of AWS (tests use a loopback server that also answers STS and Secrets Manager); S3 is then
addressed path-style, and SSL follows the endpoint's scheme.
"""
from __future__ import annotations

import logging
from functools import lru_cache, partial

import boto3
import botocore.session
from botocore.config import Config
from botocore.credentials import (
    AssumeRoleCredentialFetcher,
    CredentialProvider,
    CredentialResolver,
    DeferredRefreshableCredentials,
)
from botocore.exceptions import NoCredentialsError

ROLE_SESSION_NAME = "coretelecoms"  # shows in CloudTrail as the assumed-role session

# At DEBUG botocore logs whole requests and responses: secret values, STS credentials, session tokens.
logging.getLogger("botocore").setLevel(logging.INFO)


class _AssumedRole(CredentialProvider):
    """The only credential source of a role's session: STS, asked again when the credentials near expiry."""

    METHOD = "assume-role"

    def __init__(self, fetcher: AssumeRoleCredentialFetcher):
        super().__init__()
        self._fetcher = fetcher

    def load(self) -> DeferredRefreshableCredentials:
        return DeferredRefreshableCredentials(refresh_using=self._fetcher.fetch_credentials, method=self.METHOD)


@lru_cache(maxsize=None)
def session(role_arn: str = "", endpoint: str = "", region: str = "") -> boto3.Session:
    """The default-credentials session, or one that acts as `role_arn` (assumed with the default credentials)."""
    default = boto3.Session(region_name=region or None)
    if not role_arn:
        return default
    source_credentials = default.get_credentials()
    if source_credentials is None:
        raise NoCredentialsError()  # nothing to assume the role with
    fetcher = AssumeRoleCredentialFetcher(
        client_creator=partial(default.client, endpoint_url=endpoint or None),
        source_credentials=source_credentials,
        role_arn=role_arn,
        extra_args={"RoleSessionName": ROLE_SESSION_NAME},
    )
    role_session = botocore.session.Session()
    role_session.register_component("credential_provider", CredentialResolver([_AssumedRole(fetcher)]))
    return boto3.Session(botocore_session=role_session, region_name=region or None)


@lru_cache(maxsize=None)
def client(service: str, role_arn: str = "", endpoint: str = "", region: str = ""):
    """A client of `service` in the session of `role_arn`; clients are thread-safe, so one is shared."""
    # Virtual-hosted bucket names need DNS that a local S3-compatible server does not have.
    config = Config(s3={"addressing_style": "path"}) if service == "s3" and endpoint else None
    return session(role_arn, endpoint, region).client(service, endpoint_url=endpoint or None, config=config)
