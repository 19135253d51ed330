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
from coretelecoms.reporting.html import neighbours, recent_reports, render_html, render_index, step_timings

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


def write_report(settings: Settings, report: dict) -> list[str]:
    """Write `report` as JSON and HTML into every report folder; returns the HTML locations."""
    return [write_pages(folder, report) for folder in report_dirs(settings)]


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


def write_trace(settings: Settings, report: dict, trace: str) -> list[str]:
    """Write a failed run's full trace as `<run_id>.log` beside its report in every report folder;
    the report names it relatively (`trace_log`), so the pair can be copied anywhere together."""
    report["trace_log"] = f"{report['run_id']}.log"
    locations = []
    for folder in report_dirs(settings):
        location = storage.join(folder, report["run_date"], report["trace_log"])
        storage.write_text(location, trace, "text/plain; charset=utf-8")
        locations.append(location)
    return locations


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


def summary_text(report: dict) -> str:
    """A short terminal summary of one run report."""
    lines = [f"run {report['run_id']}  date {report['run_date']}  {report['status'].upper()}"]
    if report.get("error"):
        lines.append(f"  failed in {report.get('failed_stage') or '?'}: {report['error']}")
    for outcome in report.get("bronze", []):
        rows = "-" if outcome.get("rows") is None else f"{outcome['rows']:,}"
        lines.append(f"  bronze  {outcome['source']:<15} {outcome['status']:<14} {rows:>10} rows")
        if outcome["status"] == "rejected_input":
            lines.append(f"          refused: {outcome.get('message')}; to fix: {outcome.get('fix')}")
    for entity, counts in report.get("quality", {}).items():
        lines.append(f"  silver  {entity:<15} in {counts['rows_in']:>9,}  kept {counts['kept']:>9,}"
                     f"  rejected {counts['rejected_total']:>6,}  duplicates {counts['collapsed']:>6,}")
    orphans = report.get("orphans") or {}
    if orphans:
        lines.append(f"  orphans new {sum(orphans.get('new', {}).values()):,}  replayed {sum(orphans.get('replayed', {}).values()):,}"
                     f"  open {sum(orphans.get('open', {}).values()):,} (oldest {orphans.get('oldest_open_days')} days)"
                     f"  quarantine rate {report.get('quarantine_rate', 0):.2%}")
    if report.get("transitions"):
        top = sorted(report["transitions"].items(), key=lambda item: -item[1])[:6]
        lines.append("  transitions " + ", ".join(f"{name}: {count:,}" for name, count in top))
    timings = step_timings(report)
    if timings:
        lines.append("  seconds " + ", ".join(f"{stage} {seconds:.1f}" for stage, seconds in timings))
    return "\n".join(lines)

