"""Run reports: the facts a run gathers about itself, written as JSON and HTML under `<lake>/_runs/`
(and the local `runs` folder when it is elsewhere), one pair per run: `<run date>/<run id>.{json,html}`.
Each page links the previous and next run of its folder and the folder's runs index, `index.html`.
"""
from __future__ import annotations

import datetime as dt

from delta.tables import DeltaTable
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from coretelecoms.conformance.orphans import OPEN
from coretelecoms.platform import lake, storage
from coretelecoms.platform.settings import Settings
from coretelecoms.platform.tables import ORPHANED_COMPLAINTS, channels
from coretelecoms.quality.stage import QualityResult
from coretelecoms.reporting.first_screen import (MISSING, REFUSED, SEVERITIES, expectations, input_line, inputs_with,
                                                 not_loaded_reason, open_by_channel, reconciled, rejected_issues, status_reason,
                                                 timestamp_text)
from coretelecoms.reporting.html import neighbours, recent_reports, render_html, render_index, step_timings
from coretelecoms.reporting.notify import mask_personal_data, run_duration

ALREADY_LOADED = "already loaded from this lake version"  # a source the load staged nothing for (a re-run)
AGE_BUCKETS = (("0-1", 0, 1), ("2-7", 2, 7), ("8-30", 8, 30), (">30", 31, None))  # days since first seen


def report_dirs(settings: Settings) -> list[str]:
    lake_runs = lake.runs(settings)
    return [lake_runs] if settings.runs.rstrip("/") == lake_runs else [lake_runs, settings.runs]


def dq_issue_counts(checked: QualityResult) -> dict[str, list[dict]]:
    """Issues found this run, by entity, rule, field and outcome, most frequent first (from the
    cached batches: no extra read)."""
    counts = {}
    for entity, batch in checked.batches.items():
        rows = batch.issues.groupBy("rule", "field", "outcome").count().collect()
        counts[entity] = [{"rule": row["rule"], "field": row["field"], "outcome": row["outcome"], "issues": row["count"]}
                          for row in sorted(rows, key=lambda r: (-r["count"], r["rule"], r["field"]))]
    return counts


def rule_counts(issue_counts: dict[str, list[dict]]) -> dict[str, dict[str, int]]:
    """{entity: {rule: issues}}, most frequent first: the charts' view of `dq_issue_counts`."""
    by_rule = {}
    for entity, counts in issue_counts.items():
        totals: dict[str, int] = {}
        for count in counts:
            totals[count["rule"]] = totals.get(count["rule"], 0) + count["issues"]
        by_rule[entity] = dict(sorted(totals.items(), key=lambda item: -item[1]))
    return by_rule


EXAMPLE_CHARS = 80  # an unexpected value shown in a report is cut: a 100,000-character id must not fill the page


def expectation_results(checked: QualityResult) -> dict[str, dict]:
    """Per entity: its expectations passed and failed by severity, and each failing one with its
    column, number of unexpected values and a few of them (personal data masked, long values cut)."""
    return {entity: {**outcome.tally, "failures": [
        {"expectation": failure.expectation_type, "column": failure.column, "severity": failure.severity,
         "unexpected": failure.unexpected_count, "examples": [shown_value(value) for value in failure.examples]}
        for failure in outcome.failures]}
        for entity, outcome in checked.validations.items()}


def shown_value(value) -> str | None:
    if value is None:
        return None
    text = str(value)
    # Masked after a first cut: the patterns are slow on a huge value, and an email or address that
    # starts within the shown characters lies whole within four times as many.
    shown = mask_personal_data(text[:4 * EXAMPLE_CHARS])
    return shown if len(text) <= EXAMPLE_CHARS else shown[:EXAMPLE_CHARS] + f"… ({len(text):,} characters)"


OPEN_LISTED = 50  # open orphans named in a report, oldest first


def open_orphans(spark: SparkSession, settings: Settings, run_date: dt.date) -> dict:
    """Open orphans as of the run date: per channel, per channel and reason, by age (days since first
    seen), and the oldest OPEN_LISTED of them by id."""
    location = storage.spark_path(lake.silver(settings, ORPHANED_COMPLAINTS))
    if not DeltaTable.isDeltaTable(spark, location):
        return {"open": {}, "open_by_reason": {}, "open_age_days": {}, "oldest_open_days": None, "open_list": []}
    age = F.datediff(F.lit(run_date), F.col("first_seen_date"))
    bucket = F.lit(AGE_BUCKETS[-1][0])
    for name, _, upper in reversed(AGE_BUCKETS[:-1]):
        bucket = F.when(age <= upper, name).otherwise(bucket)
    still_open = (spark.read.format("delta").load(location)
                  .where((F.col("status") == OPEN) & (F.col("first_seen_date") <= F.lit(run_date))))
    rows = (still_open.groupBy("channel", "reason", bucket.alias("bucket"))
            .agg(F.count("*").alias("n"), F.max(age).alias("oldest")).collect())
    oldest = (still_open.orderBy("first_seen_date", "channel", "complaint_id").limit(OPEN_LISTED)
              .select("channel", "complaint_id", "reason", F.col("first_seen_date").cast("string").alias("first_seen_date"), age.alias("age_days"))
              .collect())
    by_channel = {channel: 0 for channel in channels()}
    by_reason: dict[str, dict[str, int]] = {channel: {} for channel in channels()}
    by_age = {name: 0 for name, _, _ in AGE_BUCKETS}
    for row in rows:
        by_channel[row["channel"]] += row["n"]
        by_reason[row["channel"]][row["reason"]] = by_reason[row["channel"]].get(row["reason"], 0) + row["n"]
        by_age[row["bucket"]] += row["n"]
    return {"open": by_channel, "open_by_reason": by_reason, "open_age_days": by_age,
            "oldest_open_days": max((r["oldest"] for r in rows), default=None),
            "open_list": [row.asDict() for row in oldest]}


def quarantine_rate(new_orphans: dict[str, int], quality: dict[str, dict]) -> float:
    """New orphans over the complaint rows silver kept this run (0 when none were kept)."""
    kept = sum(counts.get("kept", 0) for entity, counts in quality.items() if entity in channels())
    return round(sum(new_orphans.values()) / kept, 6) if kept else 0.0


def write_pages(folder: str, report: dict) -> str:
    """Write one run's JSON and HTML into a report folder, re-render its neighbours' pages so that they
    link to it, and rebuild the folder's runs index; returns the run's HTML location. Usually only the
    previous run has a page to change (the next run does not exist yet); a run of an earlier date,
    written later, has a next run to change too."""
    storage.write_json(report_location(folder, report, "json"), report)
    reports = load_reports(folder)
    write_html(folder, report, reports)
    for neighbour in neighbours(reports, report["run_id"]):
        if neighbour:
            write_html(folder, neighbour, reports)
    write_index(folder, reports)
    return report_location(folder, report, "html")


def write_index(folder: str, reports: list[dict]) -> str:
    """The folder's runs index, `index.html`, from `reports` (all of the folder's); returns its location."""
    location = storage.join(folder, "index.html")
    storage.write_text(location, render_index(reports))
    return location


def write_html(folder: str, report: dict, reports: list[dict]) -> None:
    """A run's page, its trends and neighbours taken from `reports`, all the runs of its folder."""
    page = render_html(report, recent_reports(reports, report["run_date"]), folder, *neighbours(reports, report["run_id"]))
    storage.write_text(report_location(folder, report, "html"), page)


def report_location(folder: str, report: dict, suffix: str) -> str:
    return storage.join(folder, report["run_date"], f"{report['run_id']}.{suffix}")


def write_trace(folder: str, report: dict, trace: str) -> str:
    """Write a failed run's full trace as `<run_id>.log` beside its report in a report folder; the
    report names it relatively (`trace_log`), so the pair can be copied anywhere together."""
    report["trace_log"] = f"{report['run_id']}.log"
    location = storage.join(folder, report["run_date"], report["trace_log"])
    storage.write_text(location, trace, "text/plain; charset=utf-8")
    return location


def load_reports(folder: str) -> list[dict]:
    """Every run report under a report folder (oldest run date first); unreadable files are skipped."""
    reports = []
    for location in storage.list_files(folder, suffix=".json"):
        try:
            reports.append(storage.read_json(location))
        except (OSError, ValueError):
            continue
    return sorted(reports, key=lambda r: (r.get("run_date", ""), r.get("started_at", "")))


def latest_report(settings: Settings, run_date: dt.date | None = None) -> dict | None:
    """The newest report of `run_date` (any date when None) from the first report folder."""
    reports = load_reports(report_dirs(settings)[-1])
    if run_date is not None:
        reports = [r for r in reports if r.get("run_date") == run_date.isoformat()]
    return reports[-1] if reports else None


def html_location(settings: Settings, report: dict) -> str:
    """Where the HTML of `report` is in the folder `latest_report` reads."""
    return report_location(report_dirs(settings)[-1], report, "html")


def summary_text(report: dict, issues_listed: int = 5) -> str:
    """The first screen of the run's page, short, for a terminal: the status with its reason and next
    step (and the inputs behind it), each source's rows reconciled, rejected rows by rule and field (the
    most frequent `issues_listed`), open orphans by channel and reason, the expectations passed per entity
    and severity with each failing one, and the steps' seconds."""
    what, then = status_reason(report)
    took = run_duration(report)
    lines = [f"run {report['run_id']}  date {report['run_date']}  {str(report['status']).upper()}"
             + (f"  took {took}" if took else "") + (f"  started {timestamp_text(report.get('started_at'))}" if report.get("started_at") else ""),
             f"  {what}" + (f" Next: {then}" if then else "")]
    if report.get("status") == "failed":
        error = mask_personal_data(str(report.get("error") or "no error recorded")).splitlines() or [""]
        lines.append(f"  error: {error[0][:300]}" + (" ..." if len(error) > 1 or len(error[0]) > 300 else ""))
        if report.get("trace_log"):
            lines.append(f"  full trace: {report['trace_log']} (beside the report)")
    for outcome in inputs_with(report, REFUSED):
        lines.append(f"  refused {input_line(outcome)}; to fix: {outcome.get('fix') or ''}")
    for outcome in inputs_with(report, MISSING):
        lines.append(f"  missing {input_line(outcome)}")
    rows = reconciled(report)
    if rows:
        lines.append(f"  {'source':<15} {'landed':>8} = {'clean':>8} + {'repaired':>8} + {'rejected':>8} + {'dupl.':>6}"
                     f"  {'kept':>8} - {'quar.':>6} + {'repl.':>6} = {'loaded':>8}")
    for row in rows:
        line = f"  {row.source:<15} {_n(row.landed):>8}"
        if row.checked:
            line += (f" = {_n(row.clean):>8} + {_n(row.repaired):>8} + {_n(row.rejected):>8} + {_n(row.duplicates):>6}"
                     f"  {_n(row.kept):>8}")
        else:
            line += " " * 51
        if row.channel:
            line += f" - {_n(row.quarantined):>6} + {_n(row.replayed):>6} = {_n(row.loaded):>8}"
        elif row.loaded is not None or row.already_loaded:
            line += f"   {'':>6}   {'':>6} = {_n(row.loaded):>8} (changed versions)"
        if row.already_loaded:
            line += f"  ({ALREADY_LOADED})"
        if not row.checked:
            line += f"  ({row.input_status or 'no input'}: {row.skipped})"
        problems = row.problems()
        lines.append((line + ("  DOES NOT ADD UP: " + "; ".join(problems) if problems else "")).rstrip())
    why_not_loaded = not_loaded_reason(report)
    if why_not_loaded and rows:
        lines.append(f"  PostgreSQL not loaded: {why_not_loaded}")
    rejected = rejected_issues(report)
    if rejected:
        shown = ", ".join(f"{entity} {rule} {field} {n:,}" for entity, rule, field, n in rejected[:issues_listed])
        lines.append(f"  rejected by rule and field: {shown}" + (f" (+{len(rejected) - issues_listed} more)" if len(rejected) > issues_listed else ""))
    orphans = report.get("orphans") or {}
    if isinstance(orphans.get("open"), dict):
        _, open_rows = open_by_channel(report)
        total = sum(n or 0 for _, n, _ in open_rows)
        oldest = orphans.get("oldest_open_days")
        by_channel = "; ".join(f"{channel} {_n(n)}" + (" (" + ", ".join(f"{r} {c:,}" for r, c in by_reason.items() if c) + ")" if by_reason else "")
                               for channel, n, by_reason in open_rows)
        lines.append(f"  open orphans {total:,}" + (f" (oldest {oldest} days)" if oldest is not None else "")
                     + (f": {by_channel}" if by_channel else ""))
    validated = expectations(report)
    if validated:
        lines.append("  expectations passed (critical, warning): " + ", ".join(
            f"{row.entity} " + " ".join(f"{passed}/{passed + failed}" for passed, failed in (row.tally[s] for s in SEVERITIES))
            for row in validated))
        lines += [f"    FAILED {row.entity} {row.failing(failure)}" for row in validated for failure in row.failures]
    timings = step_timings(report)
    if timings:
        lines.append("  steps " + ", ".join(f"{step} {seconds:.1f}s" for step, seconds in timings))
    return "\n".join(lines)


def _n(value) -> str:
    return "-" if value is None else f"{value:,}"
