"""Slack notifications posted to a real local HTTP receiver, and the masking of personal data."""
from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from coretelecoms.reporting.notify import WEBHOOK_ENV, mask_personal_data, notify, slack_message, webhook_from_env

SECRET_PATH = "/services/T0000/B0000/not-a-real-token"
FAILED = {
    "run_id": "2025-06-02_20261127T031500Z_ab12", "run_date": "2025-06-02", "status": "failed",
    "failed_stage": "silver",
    "error": "ValueError: cannot parse row of jane.doe@example.com living at 317 Paul Turnpike\nDarrenland, NY 13297",
}
SUCCEEDED = {
    "run_id": "2025-06-02_20261127T031500Z_ab12", "run_date": "2025-06-02", "status": "succeeded",
    "started_at": "2026-11-27T03:15:00+00:00", "finished_at": "2026-11-27T03:16:28+00:00",
    "quality": {"call_logs": {"kept": 3790, "rejected_total": 3}, "web_complaints": {"kept": 700, "rejected_total": 1}},
    "orphans": {"new": {"call_logs": 12, "web_complaints": 3}},
    "quarantine_rate": 0.0033,
}


class Receiver:
    """Where the fixture's server records what it was sent, and the status it answers with."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict]] = []
        self.status = 200
        self.url = ""


@pytest.fixture
def receiver():
    received = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.requests.append((self.headers["Content-Type"], json.loads(body)))
            self.send_response(received.status)
            self.end_headers()
            self.wfile.write(b"ok" if received.status == 200 else b"no_service")

        def log_message(self, *args):  # keep pytest's output clean
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    received.url = f"http://127.0.0.1:{server.server_address[1]}{SECRET_PATH}"
    yield received
    server.shutdown()
    server.server_close()
    thread.join()


def test_a_failure_is_sent_with_its_stage_and_masked_error(receiver):
    outcome = notify(FAILED, receiver.url, on_success=False, report_url="https://reports.example/run.html")

    assert outcome == "sent"
    [(content_type, body)] = receiver.requests
    assert content_type == "application/json"
    sent = json.dumps(body)
    assert "silver" in sent and "2025-06-02" in sent and "ValueError" in sent
    assert "jane.doe@example.com" not in sent and "j***@***.com" in sent
    assert "Paul Turnpike" not in sent and "13297" not in sent
    assert "https://reports.example/run.html" in sent


@pytest.mark.parametrize("status", ["succeeded", "not_ready"])
def test_other_outcomes_are_skipped_when_success_notifications_are_off(receiver, status):
    assert notify({**SUCCEEDED, "status": status}, receiver.url, on_success=False) == "skipped: success notifications off"
    assert receiver.requests == []


def test_a_success_is_sent_as_a_short_summary_when_asked(receiver):
    assert notify(SUCCEEDED, receiver.url, on_success=True) == "sent"

    [(_, body)] = receiver.requests
    text = body["blocks"][0]["text"]["text"]
    assert "succeeded" in text
    assert "kept 4,490 rows, rejected 4, quarantined 15 (rate 0.33%), took 1m 28s" in text


@pytest.mark.parametrize("webhook", [None, ""])
def test_without_a_webhook_nothing_is_sent(receiver, webhook):
    assert notify(FAILED, webhook, on_success=True) == "skipped: no webhook configured"
    assert receiver.requests == []


def test_an_http_error_is_reported_without_the_secret_url(receiver):
    receiver.status = 500

    outcome = notify(FAILED, receiver.url, on_success=True)

    assert outcome == "failed: HTTP 500 from 127.0.0.1"
    assert len(receiver.requests) == 1


def test_an_unreachable_webhook_is_reported_without_the_secret_url():
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    url = f"http://127.0.0.1:{port}{SECRET_PATH}"

    outcome = notify(FAILED, url, on_success=True, timeout=2.0)

    assert outcome.startswith("failed: ") and outcome.endswith("from 127.0.0.1")
    assert SECRET_PATH not in outcome and "not-a-real-token" not in outcome


def test_a_malformed_webhook_url_is_reported_without_quoting_it():
    outcome = notify(FAILED, "hooks.slack.com/services/not-a-real-token", on_success=True)

    assert outcome == "failed: the webhook URL is not a valid URL"


@pytest.mark.parametrize("url", ["http://hooks.slack.com/services/not-a-real-token",
                                 "ftp://hooks.slack.com/services/not-a-real-token",
                                 "file:///etc/passwd"])
def test_a_webhook_must_use_https_except_on_this_machine(url):
    outcome = notify(FAILED, url, on_success=True)

    assert outcome.startswith("failed: the webhook URL must use https, not ")
    assert "not-a-real-token" not in outcome and "passwd" not in outcome


def test_a_message_without_a_report_link_or_numbers_still_builds():
    message = slack_message({"run_id": "r1", "run_date": "2025-06-02", "status": "succeeded"}, None)

    assert message["text"] == "CoreTelecoms run 2025-06-02: succeeded"
    assert "kept 0 rows" in message["blocks"][0]["text"]["text"]
    assert "|" not in message["blocks"][1]["elements"][0]["text"]


def test_slack_markup_in_an_error_is_escaped():
    message = slack_message({**FAILED, "error": "KeyError: <!channel> & co"}, None)

    assert "&lt;!channel&gt; &amp; co" in message["blocks"][0]["text"]["text"]


def test_the_webhook_comes_from_the_environment():
    assert webhook_from_env({WEBHOOK_ENV: " https://hooks.slack.com/services/x \n"}) == "https://hooks.slack.com/services/x"
    assert webhook_from_env({WEBHOOK_ENV: "  "}) is None
    assert webhook_from_env({}) is None


@pytest.mark.parametrize("text, masked", [
    ("jane.doe@example.com", "j***@***.com"),
    ("to 2772brianna_schultz525@GmaiL.om today", "to 2***@***.om today"),
    ("Bob.Smith+x@mail.co.uk, b@hotmai", "B***@***.uk, b***@***"),
    ("317 Paul Turnpike\nDarrenland, NY 13297", "[address]\n[address]"),
    ("'690 Lewis Views Apt. 370\\nNew Harperburgh, MD 77036-1234'", "'[address]\\n[address]'"),
    ("12 Main St. and 4 Elm Avenue", "[address] and [address]"),
    ("PSC 2383, Box 3666\nAPO AA 12094", "[address]\n[address]"),
    ("Unit 1234 Box 5678\\nDPO AE 12345", "[address]\\n[address]"),
    ("USNS Smith\nFPO AP 12345", "[address]\n[address]"),
])
def test_personal_data_is_masked(text, masked):
    assert mask_personal_data(text) == masked


def test_ids_and_counts_are_left_alone():
    text = ("customer 1f0e2d3c-aaaa-bbbb-cccc-0123456789ab, agent 1042, call 1f0e2d3caaaabbbbcccc0123456789ab0042: "
            "3800 rows in 12.3 s, 3 Rows Ingested at Stage Silver on 2025-06-02 03:15:00")
    assert mask_personal_data(text) == text
