"""Reading the agents worksheet through real gspread + HTTP against a local fake of Google's APIs."""
from __future__ import annotations

import json
import logging
import socket
import time

import pytest

from coretelecoms.sources.sheets import SheetsError, load_service_account_info, read_worksheet
from tests.fakes.sheets_server import FakeSheetsServer, generate_service_account_info

SPREADSHEET_ID = "1AgentsFakeSpreadsheetId_0123456789abcdefghij"
HEADER = ["iD", "NamE", "experience", "state"]


def _agents_fixture(worksheet_title: str = "agents") -> dict:
    rows = [[str(1000 + n), f"Agent {n}", ("Junior", "Mid", "Senior")[n % 3], "Utah"] for n in range(99)]
    rows.append(["1099", "Jane O'Doe", "Senior", ""])  # the API drops the empty trailing cell
    return {
        "spreadsheet_id": SPREADSHEET_ID,
        "title": "CoreTelecoms agents",
        "worksheets": [
            {"title": worksheet_title, "values": [HEADER, *rows]},
            {"title": "notes", "values": [["not", "agents"]]},
        ],
    }


def _closed_port_url() -> str:
    with socket.socket() as probe:  # bind and release: nothing listens there afterwards
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


def test_reads_worksheet_exactly_through_gspread_and_http(tmp_path, caplog):
    fixture = _agents_fixture()
    fixture_file = tmp_path / "agents_sheet.json"
    fixture_file.write_text(json.dumps(fixture))
    caplog.set_level(logging.DEBUG)

    with FakeSheetsServer(fixture_file) as fake:
        info = fake.service_account_info()
        values = read_worksheet(SPREADSHEET_ID, "agents", info, api_endpoint=fake.url, timeout=5)

    assert values == fixture["worksheets"][0]["values"]
    assert len(values) == 101 and values[-1] == ["1099", "Jane O'Doe", "Senior", ""]
    assert fake.calls == [
        "POST /token",
        f"GET /v4/spreadsheets/{SPREADSHEET_ID}?includeGridData=false",  # open_by_key
        f"GET /v4/spreadsheets/{SPREADSHEET_ID}?includeGridData=false",  # worksheet(title)
        f"GET /v4/spreadsheets/{SPREADSHEET_ID}/values/%27agents%27",  # get_all_values
    ]
    assert "PRIVATE KEY" not in caplog.text


def test_renamed_worksheet_names_missing_and_existing_titles():
    with FakeSheetsServer(_agents_fixture(worksheet_title="agents_2024")) as fake:
        with pytest.raises(SheetsError) as raised:
            read_worksheet(SPREADSHEET_ID, "agents", fake.service_account_info(), api_endpoint=fake.url)

    message = str(raised.value)
    assert "no worksheet 'agents'" in message
    assert "['agents_2024', 'notes']" in message


def test_unknown_spreadsheet_is_reported():
    with FakeSheetsServer(_agents_fixture()) as fake:
        with pytest.raises(SheetsError, match="spreadsheet 'no-such-sheet' was not found"):
            read_worksheet("no-such-sheet", "agents", fake.service_account_info(), api_endpoint=fake.url)


def test_unreachable_api_endpoint_fails_fast_naming_it():
    down = _closed_port_url()
    with FakeSheetsServer(_agents_fixture()) as fake:  # tokens still work; only the API is down
        started = time.monotonic()
        with pytest.raises(SheetsError, match=f"cannot reach the Sheets API at {down}"):
            read_worksheet(SPREADSHEET_ID, "agents", fake.service_account_info(), api_endpoint=down,
                           timeout=1)
    assert time.monotonic() - started < 5


def test_stopped_server_names_the_token_endpoint():
    with FakeSheetsServer(_agents_fixture()) as fake:
        info = fake.service_account_info()
    started = time.monotonic()
    with pytest.raises(SheetsError, match=f"cannot reach token endpoint {fake.token_uri}"):
        read_worksheet(SPREADSHEET_ID, "agents", info, api_endpoint=fake.url, timeout=1)
    assert time.monotonic() - started < 5


def test_silent_api_endpoint_times_out():
    with socket.socket() as silent, FakeSheetsServer(_agents_fixture()) as fake:
        silent.bind(("127.0.0.1", 0))
        silent.listen()  # accepts connections in the kernel but never answers
        endpoint = f"http://127.0.0.1:{silent.getsockname()[1]}"
        with pytest.raises(SheetsError, match=f"Sheets API at {endpoint} did not answer within 0.5 s"):
            read_worksheet(SPREADSHEET_ID, "agents", fake.service_account_info(), api_endpoint=endpoint,
                           timeout=0.5)


def test_key_unknown_to_google_is_an_auth_failure_without_leaking_it():
    with FakeSheetsServer(_agents_fixture()) as fake:
        stranger = generate_service_account_info(fake.token_uri)  # never registered with the fake
        with pytest.raises(SheetsError, match="rejected service account .*Invalid JWT Signature") as raised:
            read_worksheet(SPREADSHEET_ID, "agents", stranger, api_endpoint=fake.url)
    assert stranger["private_key"] not in str(raised.value)


def test_key_loader_accepts_file_and_json_string(tmp_path):
    info = generate_service_account_info("http://127.0.0.1:1/token")
    key_file = tmp_path / "sa.json"
    key_file.write_text(json.dumps(info))

    assert load_service_account_info(key_file=str(key_file)) == info
    assert load_service_account_info(key_json=json.dumps(info)) == info


def test_key_loader_rejects_key_without_private_key():
    info = generate_service_account_info("http://127.0.0.1:1/token")
    del info["private_key"]
    with pytest.raises(SheetsError, match="JSON key string lacks private_key; download a complete"):
        load_service_account_info(key_json=json.dumps(info))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "exactly one of key_file or key_json"),
        ({"key_json": "{not json", "key_file": "sa.json"}, "exactly one of key_file or key_json"),
        ({"key_json": "-----BEGIN PRIVATE KEY----- oops"}, "is not valid JSON: Expecting value"),
        ({"key_file": "/nonexistent/sa.json"}, "cannot read service-account key file /nonexistent/sa.json"),
        ({"key_json": '{"type": "authorized_user"}'}, "has type 'authorized_user', not 'service_account'"),
    ],
)
def test_key_loader_explains_bad_input(kwargs, message):
    with pytest.raises(SheetsError, match=message) as raised:
        load_service_account_info(**kwargs)
    assert "oops" not in str(raised.value)
