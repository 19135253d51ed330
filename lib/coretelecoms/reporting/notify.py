"""What leaves the pipeline for people: personal data masked, the run's key numbers, a Slack message."""
from __future__ import annotations

import http.client
import json
import os
import re
import urllib.error
import urllib.request
from datetime import datetime
from urllib.parse import urlsplit

WEBHOOK_ENV = "CORETELECOMS_SLACK_WEBHOOK_URL"
LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")
MAX_ERROR_CHARS = 1500  # Slack cuts a section at 3000 characters; the full error is in the run report

EMAIL = re.compile(r"[\w.%+-]+@[\w-]+(?:\.[\w-]+)*")
STREET_TYPES = (
    "Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Place|Pl|Way|Turnpike|Highway|Hwy|"
    "Parkway|Pkwy|Terrace|Circle|Square|Trail|Crescent|Creek|Views?|Glens?|Forks?|Cliffs?|Ridge|Harbor|Valley|"
    "Hills?|Springs?|Meadows?|Village|Park|Pass|Ports?|Ranch|Shoals?|Shores?|Station|Summit|Track|Union|Ville|"
    "Walk|Wells?|Manor|Mill|Mission|Mount|Oval|Plains?|Point|Prairie|Radial|Rapids?|Rest|Route|Run|Skyway|Spur|"
    "Stream|Throughway|Tunnel"
)
# A line may start right after a real newline or after a repr'd one (`...Turnpike\nDarrenland, NY 13297`).
LINE_START = r"(?:\b|(?<=\\n))"
STREET = re.compile(rf"\b\d{{1,6}}(?: [A-Z][\w'.-]*){{1,3}} (?:{STREET_TYPES})\b\.?(?: (?:Apt\.|Suite) \d+)?")
MILITARY = re.compile(rf"{LINE_START}(?:PSC \d+, Box \d+|Unit \d+ Box \d+|US(?:NS|S|NV|CGC) [A-Z][a-z]+)\b")
POSTAL = re.compile(rf"{LINE_START}(?:[A-Z][\w'.-]*(?: [A-Z][\w'.-]*){{0,2}}, [A-Z]{{2}}|[ADF]PO A[AEP]) \d{{5}}(?:-\d{{4}})?\b")
ADDRESS_MASK = "[address]"
LANDED = ("ingested", "replaced")  # bronze outcomes that wrote rows; "unchanged" inputs were already there


def mask_personal_data(text: str) -> str:
    """Text safe for notifications and logs.

    Masked: emails (`jane.doe@example.com` -> `j***@***.com`); US street lines
    (`317 Paul Turnpike Apt. 370`), `City, ST 12345` lines, military addresses (`PSC 2383, Box 3666`,
    `Unit 1234 Box 5678`, `USNS Smith`, `APO AA 12094`), each replaced by `[address]`.
    Not masked: ids (customer UUIDs, agent and complaint ids are not personal data here), dates, counts.
    Names are not recognisable in free text and are left as they are.
    """
    text = EMAIL.sub(_masked_email, text)
    for pattern in (STREET, MILITARY, POSTAL):
        text = pattern.sub(ADDRESS_MASK, text)
    return text


def _masked_email(match: re.Match) -> str:
    local, domain = match.group().split("@", 1)
    tld = domain.rsplit(".", 1)[1] if "." in domain else ""
    return f"{local[0]}***@***" + (f".{tld}" if tld else "")


def key_numbers(report: dict) -> dict[str, int]:
    """Rows landed in bronze, kept and rejected by silver, and orphans quarantined, replayed, still open."""
    orphans = report.get("orphans") or {}
    quality = (report.get("quality") or {}).values()
    return {
        "rows landed": sum(_number(o.get("rows")) for o in report.get("bronze") or [] if o.get("status") in LANDED),
        "rows kept": sum(_number(q.get("kept")) for q in quality),
        "rows rejected": sum(_number(q.get("rejected_total")) for q in quality),
        "quarantined": sum(map(_number, (orphans.get("new") or {}).values())),
        "replayed": sum(map(_number, (orphans.get("replayed") or {}).values())),
        "open orphans": sum(map(_number, (orphans.get("open") or {}).values())),
    }


def _number(value) -> int | float:
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else 0


def run_duration(report: dict) -> str:
    """'1m 28s' from the start and finish times; '' when either is missing or unreadable."""
    seconds = run_seconds(report)
    return "" if seconds is None else duration_text(seconds)


def run_seconds(report: dict) -> float | None:
    """Seconds from the run's start to its finish; None when either is missing or unreadable."""
    try:
        return (datetime.fromisoformat(report["finished_at"]) - datetime.fromisoformat(report["started_at"])).total_seconds()
    except (KeyError, TypeError, ValueError):
        return None


def duration_text(seconds: float) -> str:
    minutes, seconds = divmod(round(seconds), 60)
    return f"{minutes}m {seconds:02d}s" if minutes else f"{seconds}s"


def slack_message(report: dict, report_url: str | None) -> dict:
    """An incoming-webhook payload: the failure and its masked error, or a short summary of the run."""
    date, status = report["run_date"], report["status"]
    if status == "failed":
        headline = f":red_circle: CoreTelecoms run {date} *failed* at stage *{report.get('failed_stage') or 'unknown'}*"
        error = mask_personal_data(report.get("error") or "no error recorded")[:MAX_ERROR_CHARS]
        detail = f"```{_slack_escape(error)}```"
    else:
        icon = ":white_check_mark:" if status == "succeeded" else ":hourglass_flowing_sand:"
        headline = f"{icon} CoreTelecoms run {date} *{_slack_escape(status)}*"
        numbers, rate = key_numbers(report), _number(report.get("quarantine_rate"))
        detail = (f"kept {numbers['rows kept']:,} rows, rejected {numbers['rows rejected']:,}, "
                  f"quarantined {numbers['quarantined']:,} (rate {rate:.2%})")
        duration = run_duration(report)
        detail += f", took {duration}" if duration else ""
        refused = [o for o in report.get("bronze") or [] if o.get("status") == "rejected_input"]
        if refused:
            headline = f":warning: CoreTelecoms run {date} *{_slack_escape(status)}*: {len(refused)} input(s) refused"
            detail += "".join(f"\n• {_slack_escape(o['source'])}: {_slack_escape(mask_personal_data(o.get('message') or ''))}"
                              for o in refused)
    context = f"run `{report['run_id']}`" + (f" · <{report_url}|HTML run report>" if report_url else "")
    return {
        "text": f"CoreTelecoms run {date}: {status}",
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": f"{headline}\n{detail}"}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": context}]},
        ],
    }


def _slack_escape(text: str) -> str:
    """Slack reads `<...>` as links and mentions; these three are the characters it asks to escape."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def notify(report: dict, webhook_url: str | None, on_success: bool, report_url: str | None = None,
           timeout: float = 10.0) -> str:
    """Post the run's Slack message; failures and refused inputs always, other outcomes only with
    `on_success`. Never raises.

    The returned outcome names the webhook's host only: the URL itself is a secret.
    """
    if not webhook_url:
        return "skipped: no webhook configured"
    if report["status"] not in ("failed", "rejected_input") and not on_success:
        return "skipped: success notifications off"
    body = json.dumps(slack_message(report, report_url)).encode("utf-8")
    try:
        parts = urlsplit(webhook_url)
        host = parts.hostname or "the webhook"
        # The message names failures and counts: it travels encrypted. Plain http only to this machine.
        if parts.scheme != "https" and not (parts.scheme == "http" and host in LOOPBACK_HOSTS):
            return ("failed: the webhook URL is not a valid URL" if not parts.scheme
                    else f"failed: the webhook URL must use https, not {parts.scheme[:10]}")
        request = urllib.request.Request(webhook_url, data=body, method="POST", headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=timeout):
            return "sent"
    except urllib.error.HTTPError as error:
        return f"failed: HTTP {error.code} from {host}"
    except urllib.error.URLError as error:
        return f"failed: {_reason(error.reason)} from {host}"
    except (OSError, http.client.HTTPException) as error:  # a timeout or dropped connection while reading
        return f"failed: {_reason(error)} from {host}"
    except ValueError:  # its text would quote the URL
        return "failed: the webhook URL is not a valid URL"


def _reason(reason: BaseException | str) -> str:
    """The error's own short wording, never its full text (which may quote the request)."""
    return reason if isinstance(reason, str) else getattr(reason, "strerror", None) or type(reason).__name__


def webhook_from_env(environ=os.environ) -> str | None:
    """The Slack webhook URL from CORETELECOMS_SLACK_WEBHOOK_URL; None when unset or blank."""
    return environ.get(WEBHOOK_ENV, "").strip() or None
