"""Read a Google Sheets worksheet (the `agents` source) with gspread and a service account.

The service-account key comes from a file or a JSON string (AWS Secrets Manager). `api_endpoint`
redirects the Sheets API like an S3 `endpoint_url` (tests point it at a local fake); the OAuth
token endpoint is the key's own `token_uri`. Error messages name the spreadsheet, worksheet and
endpoint but never include the private key.
"""
from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gspread
import requests
from google.auth import exceptions as auth_exceptions
from google.auth.transport.requests import AuthorizedSession
from google.oauth2.service_account import Credentials
from gspread.auth import READONLY_SCOPES
from gspread.exceptions import APIError
from requests.adapters import HTTPAdapter

log = logging.getLogger(__name__)

SHEETS_API_ORIGIN = "https://sheets.googleapis.com"  # what gspread's URLs are built on
REQUIRED_KEY_FIELDS = ("client_email", "private_key", "token_uri")


class SheetsError(RuntimeError):
    """Reading a worksheet failed; the message says what was read, where, and how to fix it."""


def load_service_account_info(key_file: str | None = None, key_json: str | None = None,
                              key_json_source: str = "the JSON key string") -> dict:
    """The service-account key as a dict, from exactly one of a JSON key file or a JSON string
    (`key_json_source` says where the string came from, for error messages)."""
    if (key_file is None) == (key_json is None):
        raise SheetsError("pass exactly one of key_file or key_json to load a service-account key")
    source = f"key file {key_file}" if key_file is not None else key_json_source
    text = _read_key_file(key_file) if key_file is not None else key_json
    try:
        info = json.loads(text)
    except json.JSONDecodeError as exc:
        # The decoder's message has a position only, never the content, so the key cannot leak.
        raise SheetsError(f"service-account key from {source} is not valid JSON: {exc.msg} "
                          f"at line {exc.lineno} column {exc.colno}") from None
    _check_key_fields(info, source)
    return info


def read_worksheet(
    spreadsheet_id: str,
    worksheet: str,
    service_account_info: dict,
    api_endpoint: str | None = None,
    timeout: float = 30.0,
) -> list[list[str]]:
    """Header row + data rows of one worksheet as the API returns them ([] if it is empty).

    Rows shorter than the header (the API drops trailing empty cells) are padded with "".
    Raises SheetsError for an unusable key, an unreachable or refusing endpoint, or a missing
    spreadsheet or worksheet.
    """
    _check_key_fields(service_account_info, "service_account_info")
    target = _Target(
        spreadsheet_id=spreadsheet_id,
        worksheet=worksheet,
        endpoint=(api_endpoint or SHEETS_API_ORIGIN).rstrip("/"),
        token_uri=service_account_info["token_uri"],
        client_email=service_account_info["client_email"],
    )
    log.info("Reading %s via %s as %s", target.describe(), target.endpoint, target.client_email)
    with _authorized_session(service_account_info, api_endpoint) as session:
        client = gspread.Client(auth=session.credentials, session=session)
        client.set_timeout(timeout)
        with _raised_as_sheets_error(target, timeout):
            spreadsheet = client.open_by_key(spreadsheet_id)
            values = _open_worksheet(spreadsheet, target).get_all_values(pad_values=False)
    return _padded_to_header(values)


@dataclass(frozen=True)
class _Target:
    """What is being read and from where: everything an error message needs (no secrets)."""

    spreadsheet_id: str
    worksheet: str
    endpoint: str
    token_uri: str
    client_email: str

    def describe(self) -> str:
        return f"worksheet {self.worksheet!r} of spreadsheet {self.spreadsheet_id!r}"


class _EndpointAdapter(HTTPAdapter):
    """Sends requests gspread addresses to sheets.googleapis.com to another origin instead.

    gspread builds its URLs from module constants, so a transport adapter on the session is the
    supported seam for a custom endpoint; credentials and retries are left untouched.
    """

    def __init__(self, endpoint: str) -> None:
        super().__init__()
        self._endpoint = endpoint.rstrip("/")

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        request.url = self._endpoint + request.url[len(SHEETS_API_ORIGIN):]
        return super().send(request, **kwargs)


def _read_key_file(key_file: str) -> str:
    try:
        return Path(key_file).read_text(encoding="utf-8")
    except OSError as exc:
        raise SheetsError(f"cannot read service-account key file {key_file}: {exc.strerror}; "
                          "check the agents.service_account_file setting") from None


def _check_key_fields(info: Any, source: str) -> None:
    if not isinstance(info, dict):
        raise SheetsError(f"service-account key from {source} must be a JSON object")
    if info.get("type", "service_account") != "service_account":
        raise SheetsError(f"key from {source} has type {info['type']!r}, not 'service_account'; "
                          "download a JSON key of a service account (IAM > Service accounts > Keys)")
    missing = [field for field in REQUIRED_KEY_FIELDS if not info.get(field)]
    if missing:
        raise SheetsError(f"service-account key from {source} lacks {', '.join(missing)}; "
                          "download a complete JSON key (IAM > Service accounts > Keys)")


def _authorized_session(service_account_info: dict, api_endpoint: str | None) -> AuthorizedSession:
    try:
        credentials = Credentials.from_service_account_info(
            service_account_info, scopes=READONLY_SCOPES  # the pipeline only reads
        )
    except ValueError as exc:
        # google-auth's messages name fields or the key format, never the key material.
        raise SheetsError(f"service-account key of {service_account_info['client_email']} "
                          f"is unusable: {exc}") from None
    session = AuthorizedSession(credentials)
    if api_endpoint:
        session.mount(SHEETS_API_ORIGIN + "/", _EndpointAdapter(api_endpoint))
    return session


def _open_worksheet(spreadsheet: gspread.Spreadsheet, target: _Target) -> gspread.Worksheet:
    try:
        return spreadsheet.worksheet(target.worksheet)
    except gspread.WorksheetNotFound:
        existing = [sheet.title for sheet in spreadsheet.worksheets()]
        raise SheetsError(
            f"spreadsheet {target.spreadsheet_id!r} ({spreadsheet.title!r}) has no worksheet "
            f"{target.worksheet!r}; its worksheets are {existing}. If it was renamed, set "
            "agents.worksheet to the current title (or rename it back)"
        ) from None


@contextlib.contextmanager
def _raised_as_sheets_error(target: _Target, timeout: float) -> Iterator[None]:
    """Turns gspread, google-auth and requests failures into one SheetsError with a remedy."""
    try:
        yield
    except gspread.SpreadsheetNotFound as exc:
        raise SheetsError(
            f"spreadsheet {target.spreadsheet_id!r} was not found at {target.endpoint}; check "
            f"agents.spreadsheet_id and that the sheet is shared with {target.client_email}"
        ) from exc
    except PermissionError as exc:  # gspread's open_by_key turns HTTP 403 into this builtin
        raise SheetsError(
            f"{target.client_email} may not read spreadsheet {target.spreadsheet_id!r} at "
            f"{target.endpoint}; share the sheet with that address (Viewer is enough)"
        ) from exc
    except APIError as exc:
        raise SheetsError(
            f"Sheets API at {target.endpoint} answered HTTP {exc.response.status_code} while "
            f"reading {target.describe()}: {exc.error.get('message')}{_api_error_hint(exc)}"
        ) from exc
    except auth_exceptions.RefreshError as exc:
        raise SheetsError(
            f"token endpoint {target.token_uri} rejected service account {target.client_email}: "
            f"{exc.args[0]}; the key may be revoked or deleted, create a new one"
        ) from exc
    except auth_exceptions.TransportError as exc:
        raise SheetsError(
            f"cannot reach token endpoint {target.token_uri} (the key's token_uri) to sign in as "
            f"{target.client_email}: {exc}"
        ) from exc
    except requests.Timeout as exc:
        raise SheetsError(
            f"Sheets API at {target.endpoint} did not answer within {timeout} s while reading "
            f"{target.describe()}; check the network or raise the timeout"
        ) from exc
    except requests.ConnectionError as exc:
        raise SheetsError(
            f"cannot reach the Sheets API at {target.endpoint} to read {target.describe()}: {exc}; "
            "check the network and agents.api_endpoint (empty means Google)"
        ) from exc


def _api_error_hint(exc: APIError) -> str:
    if exc.response.status_code == 401:
        return "; the access token was refused, check the service-account key"
    if exc.response.status_code == 429:
        return "; quota exceeded, retry later"
    return ""


def _padded_to_header(values: list[list[str]]) -> list[list[str]]:
    """The API drops trailing empty cells; pad rows back to the header's width."""
    if values == [[]]:  # gspread's answer for a worksheet without any values
        return []
    width = len(values[0])
    return [row + [""] * (width - len(row)) for row in values]
