"""A local fake of the Google Sheets v4 API and Google's OAuth token endpoint, for tests.

It answers exactly what gspread 6.1.4 sends to read one worksheet:

    POST /token                                        JWT-bearer grant -> access token
    GET  /v4/spreadsheets/{id}?includeGridData=false   spreadsheet + sheets[].properties
    GET  /v4/spreadsheets/{id}/values/{range}          values of a whole worksheet ('Title')

Assertions are verified against the public keys of accounts made by `service_account_info()`,
API calls need a token it issued, and errors are Google-shaped JSON. The fixture is the data
generator's JSON: {"spreadsheet_id", "title", "worksheets": [{"title", "values"}]}.
"""
from __future__ import annotations

import base64
import json
import logging
import re
import secrets
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

log = logging.getLogger(__name__)

JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
# google-auth signs for Google's token URI whatever the key's token_uri is; Google checks that.
ASSERTION_AUDIENCE = "https://oauth2.googleapis.com/token"
DEFAULT_CLIENT_EMAIL = "pipeline@coretelecoms-test.iam.gserviceaccount.com"
_QUOTED_TITLE = re.compile(r"'((?:[^']|'')*)'")


def generate_service_account_info(token_uri: str, client_email: str = DEFAULT_CLIENT_EMAIL) -> dict:
    """A service-account key dict shaped like Google's JSON key, with a fresh RSA key."""
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return {
        "type": "service_account",
        "project_id": "coretelecoms-test",
        "private_key_id": secrets.token_hex(20),
        "private_key": pem.decode("ascii"),
        "client_email": client_email,
        "client_id": str(secrets.randbelow(10**21)),
        "token_uri": token_uri,
    }


class FakeSheetsServer:
    """Serves one spreadsheet fixture on 127.0.0.1 (ephemeral port) while used as a context manager."""

    def __init__(self, fixture: dict | str | Path) -> None:
        self.fixture = fixture if isinstance(fixture, dict) else json.loads(Path(fixture).read_text())
        self.calls: list[str] = []  # "METHOD /path?query", in arrival order
        self._public_keys: dict[str, rsa.RSAPublicKey] = {}
        self._tokens: set[str] = set()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> FakeSheetsServer:
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.fake = self  # type: ignore[attr-defined]  # how handlers reach the state
        # A short poll interval keeps shutdown (and so each test) quick.
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def token_uri(self) -> str:
        return f"{self.url}/token"

    def service_account_info(self, client_email: str = DEFAULT_CLIENT_EMAIL) -> dict:
        """A fresh service-account key whose token_uri is this fake, which will accept it."""
        info = generate_service_account_info(self.token_uri, client_email)
        private_key = serialization.load_pem_private_key(info["private_key"].encode(), password=None)
        self._public_keys[client_email] = private_key.public_key()
        return info

    # --- token endpoint -------------------------------------------------------------------

    def grant_token(self, form: dict[str, str]) -> tuple[int, dict]:
        if form.get("grant_type") != JWT_BEARER_GRANT:
            return 400, {"error": "unsupported_grant_type",
                         "error_description": f"Invalid grant_type: {form.get('grant_type')}"}
        problem = self._assertion_problem(form.get("assertion", ""))
        if problem:
            return 400, {"error": "invalid_grant", "error_description": problem}
        token = "fake-token-" + secrets.token_urlsafe(16)
        self._tokens.add(token)
        return 200, {"access_token": token, "expires_in": 3600, "token_type": "Bearer"}

    def _assertion_problem(self, assertion: str) -> str | None:
        """Why Google would refuse this signed JWT, or None if it is acceptable."""
        try:
            header, payload, signature = assertion.split(".")
            claims = json.loads(_b64url_decode(payload))
            public_key = self._public_keys[claims["iss"]]
            public_key.verify(_b64url_decode(signature), f"{header}.{payload}".encode(),
                              padding.PKCS1v15(), hashes.SHA256())
        except (ValueError, KeyError, InvalidSignature):
            return "Invalid JWT Signature."
        if claims.get("aud") != ASSERTION_AUDIENCE:
            return "Invalid JWT: Failed audience check."
        if claims.get("exp", 0) < time.time():
            return "Invalid JWT: Token must be a short-lived token (60 minutes)."
        return None

    def is_authorized(self, authorization: str | None) -> bool:
        scheme, _, token = (authorization or "").partition(" ")
        return scheme == "Bearer" and token in self._tokens

    # --- Sheets API -----------------------------------------------------------------------

    def spreadsheet_metadata(self, spreadsheet_id: str) -> tuple[int, dict]:
        if spreadsheet_id != self.fixture["spreadsheet_id"]:
            return _google_error(404, "Requested entity was not found.", "NOT_FOUND")
        sheets = [{"properties": _sheet_properties(index, sheet)}
                  for index, sheet in enumerate(self.fixture["worksheets"])]
        return 200, {
            "spreadsheetId": spreadsheet_id,
            "properties": {"title": self.fixture["title"], "locale": "en_US",
                           "autoRecalc": "ON_CHANGE", "timeZone": "Etc/GMT"},
            "sheets": sheets,
            "spreadsheetUrl": f"https://docs.google.com/spreadsheets/d/{spreadsheet_id}/edit",
        }

    def values(self, spreadsheet_id: str, a1_range: str) -> tuple[int, dict]:
        if spreadsheet_id != self.fixture["spreadsheet_id"]:
            return _google_error(404, "Requested entity was not found.", "NOT_FOUND")
        title = _whole_sheet_title(a1_range)
        if title is None:
            return _google_error(400, f"fake Sheets API serves whole-worksheet ranges only, "
                                      f"got: {a1_range}", "INVALID_ARGUMENT")
        sheet = next((s for s in self.fixture["worksheets"] if s["title"] == title), None)
        if sheet is None:
            return _google_error(400, f"Unable to parse range: {a1_range}", "INVALID_ARGUMENT")
        return 200, _value_range(sheet)


class _Handler(BaseHTTPRequestHandler):
    server: ThreadingHTTPServer

    def do_POST(self) -> None:
        fake = self._record_call()
        if urllib.parse.urlsplit(self.path).path != "/token":
            return self._reply(*_google_error(404, "fake: no such endpoint", "NOT_FOUND"))
        body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
        form = dict(urllib.parse.parse_qsl(body))
        self._reply(*fake.grant_token(form))

    def do_GET(self) -> None:
        fake = self._record_call()
        if not fake.is_authorized(self.headers.get("Authorization")):
            return self._reply(*_google_error(
                401, "Request is missing required authentication credential. Expected OAuth 2 "
                     "access token, login cookie or other valid authentication credential.",
                "UNAUTHENTICATED"))
        # Split the raw path first: a range may hold an encoded "/" that unquoting would expose.
        parts = urllib.parse.urlsplit(self.path).path.split("/")
        match parts:
            case ["", "v4", "spreadsheets", spreadsheet_id]:
                self._reply(*fake.spreadsheet_metadata(urllib.parse.unquote(spreadsheet_id)))
            case ["", "v4", "spreadsheets", spreadsheet_id, "values", a1_range]:
                self._reply(*fake.values(urllib.parse.unquote(spreadsheet_id),
                                         urllib.parse.unquote(a1_range)))
            case _:
                self._reply(*_google_error(404, f"fake: no such endpoint {self.path}", "NOT_FOUND"))

    def _record_call(self) -> FakeSheetsServer:
        fake = self.server.fake  # type: ignore[attr-defined]
        fake.calls.append(f"{self.command} {self.path}")
        return fake

    def _reply(self, status: int, payload: dict) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # keep pytest output clean
        log.debug("fake sheets: " + format, *args)


def _google_error(code: int, message: str, status: str) -> tuple[int, dict]:
    return code, {"error": {"code": code, "message": message, "status": status}}


def _sheet_properties(index: int, sheet: dict) -> dict:
    values = sheet["values"]
    width = max((len(row) for row in values), default=0)
    return {
        "sheetId": index,  # Google's ids are arbitrary; 0 for the first sheet like a new spreadsheet
        "title": sheet["title"],
        "index": index,
        "sheetType": "GRID",
        # A new Google sheet has 1000 x 26 cells; grow if the data is larger.
        "gridProperties": {"rowCount": max(1000, len(values)), "columnCount": max(26, width)},
    }


def _whole_sheet_title(a1_range: str) -> str | None:
    """The sheet title of a whole-sheet range ('My ''sheet''' or Sheet1), None for cell ranges."""
    quoted = _QUOTED_TITLE.fullmatch(a1_range)
    if quoted:
        return quoted.group(1).replace("''", "'")
    return None if "!" in a1_range else a1_range


def _value_range(sheet: dict) -> dict:
    """Google's ValueRange: trailing empty cells and rows are left out, as the real API does."""
    rows = [_without_trailing_empties(row) for row in sheet["values"]]
    while rows and not rows[-1]:
        rows.pop()
    quoted = "'{}'".format(sheet["title"].replace("'", "''"))
    if not rows:  # the API omits "values" for an empty range
        return {"range": f"{quoted}!A1:Z1000", "majorDimension": "ROWS"}
    width = max(len(row) for row in rows)
    return {"range": f"{quoted}!A1:{_column_letters(width)}{len(rows)}",
            "majorDimension": "ROWS", "values": rows}


def _without_trailing_empties(row: list) -> list:
    end = len(row)
    while end and row[end - 1] == "":
        end -= 1
    return row[:end]


def _column_letters(number: int) -> str:
    letters = ""
    while number:
        number, remainder = divmod(number - 1, 26)
        letters = chr(ord("A") + remainder) + letters
    return letters


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
