"""What a run report answers first, for the top of its HTML page and for the console summary alike:
the status with its reason and next step, the rows of each source reconciled from bronze to PostgreSQL,
the rejected rows by rule and field, the open orphans by channel and reason, and the expectations each
entity passed and failed by severity.

Pure functions of the report dictionary: an older report without some key renders without that part.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from coretelecoms.reporting.notify import mask_personal_data

MISSING, REFUSED = "not_ready", "rejected_input"
SEVERITIES = ("critical", "warning")
ORPHAN_REASONS = ("missing_customer", "missing_agent", "both")  # the usual order; others follow by name


def timestamp_text(value) -> str:
    """'2026-11-27 03:15:00 UTC' from an ISO timestamp (microseconds and offset dropped, time in UTC);
    a time without offset is shown without 'UTC'; anything unreadable as it is; '' for nothing."""
    if not value:
        return ""
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    if moment.tzinfo is None:
        return moment.strftime("%Y-%m-%d %H:%M:%S")
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def inputs_with(report: dict, status: str) -> list[dict]:
    """The bronze entries of `status` (MISSING: not there yet; REFUSED: refused for their structure)."""
    return [o for o in report.get("bronze") or [] if o.get("status") == status]


def status_reason(report: dict) -> tuple[str, str]:
    """(what happened, what to do next) in one sentence each; the inputs themselves are listed apart."""
    status = report.get("status")
    missing, refused = inputs_with(report, MISSING), inputs_with(report, REFUSED)
    if status == "succeeded":
        return "Succeeded: every input arrived and none was refused.", "nothing to do."
    if status == "not_ready":
        return (f"Not ready: {_inputs(len(missing))} not there yet; every input that arrived was processed.",
                "nothing to fix; the same date is run again later (a scheduler reads exit code 3 as \"not yet\"), "
                "and an input still missing a day later is a question for its owner.")
    if status == "rejected_input":
        return (f"Input refused: {_inputs(len(refused))} not landed for its structure; the other sources went on.",
                "have each refused input corrected at its source (or do as its fix says), then run the same date again.")
    if status == "failed":
        failed_input = f" while landing {report['failed_input']}" if report.get("failed_input") else ""
        return (f"Failed at step {report.get('failed_stage') or 'unknown'}{failed_input}.",
                "read the error" + (" and the full trace" if report.get("trace_log") else "")
                + ", fix the cause, then run the same date again.")
    return f"Status {status}.", ""


def _inputs(n: int) -> str:
    return "1 input" if n == 1 else f"{n} inputs"


def input_line(outcome: dict) -> str:
    """'source location: message', masked (a message may quote a value)."""
    return mask_personal_data(f"{outcome.get('source')} {outcome.get('location') or ''}: {outcome.get('message') or ''}")


@dataclass(frozen=True)
class Reconciled:
    """One source's rows from bronze to PostgreSQL. A term is None when the run has no such number."""

    source: str
    input_status: str  # the bronze outcome: ingested, replaced, unchanged, not_ready, rejected_input
    landed: int | None  # bronze rows of the input processed (or silver's rows in when bronze has none)
    clean: int | None = None
    repaired: int | None = None
    rejected: int | None = None
    duplicates: int | None = None
    kept: int | None = None
    skipped: str = ""  # why silver did not process the input
    channel: bool = False  # a complaint channel: its kept rows are quarantined or loaded
    quarantined: int | None = None
    replayed: int | None = None
    inserted: int | None = None
    updated: int | None = None
    unchanged: int | None = None  # staged rows the database already held (a re-run of the date)
    already_loaded: bool = False  # nothing staged: the database held the lake version it reads from

    @property
    def checked(self) -> bool:
        return self.clean is not None

    @property
    def loaded(self) -> int | None:
        """The run date's rows the database holds after the load: inserted, updated or already there."""
        counts = (self.inserted, self.updated, self.unchanged)
        return None if self.already_loaded or counts == (None, None, None) else sum(n or 0 for n in counts)

    def problems(self) -> list[str]:
        """Each equation of the row that does not hold, as 'left ≠ right (terms)'; [] when all hold."""
        found = []
        if self.checked:
            parts = [self.clean, self.repaired, self.rejected, self.duplicates]
            if self.landed is not None and None not in parts and self.landed != sum(parts):
                found.append(f"landed {self.landed:,} ≠ {sum(parts):,} = clean + repaired + rejected + duplicates")
            if None not in (self.kept, self.clean, self.repaired) and self.kept != self.clean + self.repaired:
                found.append(f"kept {self.kept:,} ≠ {self.clean + self.repaired:,} = clean + repaired")
        expected = self.expected_loaded
        if self.channel and self.loaded is not None and expected is not None and self.loaded != expected:
            found.append(f"loaded {self.loaded:,} ≠ {expected:,} = kept − quarantined + replayed")
        return found

    @property
    def expected_loaded(self) -> int | None:
        """kept − quarantined + replayed for a channel (kept 0 when silver had no input of it today)."""
        if not self.channel or self.quarantined is None:
            return None
        return (self.kept or 0) - self.quarantined + (self.replayed or 0)


def reconciled(report: dict) -> list[Reconciled]:
    """One row per source: each bronze input in its order, then any entity silver counted without one."""
    quality = report.get("quality") or {}
    skipped = report.get("quality_skipped") or {}
    orphans = report.get("orphans") or {}
    new, replayed = orphans.get("new"), orphans.get("replayed") or {}
    load = report.get("postgres_load") if isinstance(report.get("postgres_load"), dict) else {}
    already_loaded = set(((report.get("stage_counts") or {}).get("conformance") or {}).get("already_loaded") or [])
    sources = [(o.get("source"), o) for o in report.get("bronze") or []]
    sources += [(entity, None) for entity in quality if entity not in {source for source, _ in sources}]
    rows = []
    for source, outcome in sources:
        counts = quality.get(source) if isinstance(quality.get(source), dict) else None
        status = (outcome or {}).get("status") or ""
        landed = _number((outcome or {}).get("rows")) if outcome else _number((counts or {}).get("rows_in"))
        channel = isinstance(new, dict) and (source in new or source in replayed)
        loaded = load.get(source) if isinstance(load.get(source), dict) else {}
        row = dict(source=str(source), input_status=status, landed=landed, channel=channel,
                   inserted=_number(loaded.get("inserted")), updated=_number(loaded.get("updated")),
                   unchanged=_number(loaded.get("unchanged")), already_loaded=source in already_loaded)
        if channel:
            row.update(quarantined=_number(new.get(source)) or 0, replayed=_number(replayed.get(source)) or 0)
        if counts is not None:
            clean, repaired = _number(counts.get("clean")), _number(counts.get("repaired"))
            kept = _number(counts.get("kept"))
            row.update(clean=clean, repaired=repaired, rejected=_number(counts.get("rejected_total")),
                       duplicates=_number(counts.get("collapsed")),
                       kept=kept if kept is not None or None in (clean, repaired) else clean + repaired)
        else:
            row["skipped"] = str(skipped.get(source) or ("no input" if status in (MISSING, REFUSED) else "not checked"))
        rows.append(Reconciled(**row))
    return rows


def not_loaded_reason(report: dict) -> str | None:
    """Why PostgreSQL was not loaded; None when it was."""
    if isinstance(report.get("postgres_load"), dict):
        return None
    if report.get("postgres_skipped"):
        return str(report["postgres_skipped"])
    if report.get("status") == "failed":
        return f"the run failed at step {report.get('failed_stage') or 'unknown'}"
    return "the run did not include the PostgreSQL load"


def rejected_issues(report: dict) -> list[tuple[str, str, str, int]]:
    """(entity, rule, field, issues) on rejected rows, most frequent first."""
    return sorted(((entity, rule, field, n) for entity, rule, field, outcome, n in dq_issues(report) if outcome == "rejected"),
                  key=lambda item: (-item[3], item[0], item[1], item[2]))


def dq_issues(report: dict) -> list[tuple[str, str, str, str, int]]:
    """(entity, rule, field, outcome, issues) of every issue count the report has, in its order."""
    found = []
    for entity, counts in (report.get("dq_issues") or {}).items():
        for count in counts or []:
            n = _number((count or {}).get("issues"))
            if n is not None:
                found.append((str(entity), str(count.get("rule")), str(count.get("field")), str(count.get("outcome")), n))
    return found


def open_by_channel(report: dict) -> tuple[list[str], list[tuple[str, int | None, dict[str, int]]]]:
    """(reasons, rows): per channel its open orphans and their count per reason, for the channels that
    have open orphans or a reason count (reasons [] in an older report without them)."""
    orphans = report.get("orphans") or {}
    still_open, by_reason = orphans.get("open") or {}, orphans.get("open_by_reason") or {}
    reasons = [r for r in ORPHAN_REASONS if any(r in (counts or {}) for counts in by_reason.values())]
    reasons += sorted({r for counts in by_reason.values() for r in counts or {}} - set(reasons))
    channels = list(dict.fromkeys([*still_open, *by_reason]))
    rows = [(channel, _number(still_open.get(channel)), {r: n for r, n in (by_reason.get(channel) or {}).items() if _number(n) is not None})
            for channel in channels]
    return reasons, [row for row in rows if row[1] or any(row[2].values())]


@dataclass(frozen=True)
class Expectations:
    entity: str
    tally: dict[str, tuple[int, int]]  # severity -> (passed, failed)
    failures: list[dict]  # expectation, column, severity, unexpected, examples

    def failing(self, failure: dict) -> str:
        """`warning expect_column_values_to_be_between(agent_id): 1 unexpected, e.g. 0, 1107`"""
        count = failure.get("unexpected")
        examples = ", ".join("null" if value is None else str(value) for value in failure.get("examples") or [])
        return (f"{failure.get('severity')} {failure.get('expectation')}({failure.get('column') or ''})"
                + (f": {count:,} unexpected" if _number(count) is not None else ":")
                + (f", e.g. {examples}" if examples else ""))


def expectations(report: dict) -> list[Expectations]:
    """Each validated entity's expectations passed and failed by severity, with its failing ones."""
    return [Expectations(str(entity),
                         {severity: (_number((found.get(severity) or {}).get("passed")) or 0,
                                     _number((found.get(severity) or {}).get("failed")) or 0) for severity in SEVERITIES},
                         [failure for failure in found.get("failures") or [] if isinstance(failure, dict)])
            for entity, found in (report.get("expectations") or {}).items() if isinstance(found, dict)]


def _number(value) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
