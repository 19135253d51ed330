"""A run report as one self-contained HTML page with small inline SVG charts.

No JavaScript, external CSS or fonts: the page opens the same from S3, a local disk or a headless browser.
It is written next to the run's JSON report, `<runs folder>/<run date>/<run_id>.{json,html}`, and every link
it has is relative where it can be (see `relative_href`), so a copied runs folder or lake keeps working.
The runs index, `<runs folder>/index.html`, lists every run of the folder under trends of the last ones.
"""
from __future__ import annotations

import math
import os
import posixpath
import statistics
from html import escape
from typing import NamedTuple
from urllib.parse import quote, urlsplit

from coretelecoms.reporting.first_screen import (MISSING, REFUSED, SEVERITIES, expectations, input_line, inputs_with,
                                                 not_loaded_reason, open_by_channel, reconciled, rejected_issues, status_reason,
                                                 timestamp_text)
from coretelecoms.reporting.first_screen import dq_issues as issue_counts
from coretelecoms.reporting.notify import duration_text, key_numbers, mask_personal_data, run_duration, run_seconds

# A quarantine rate is a spike above this multiple of the earlier runs' median and above the floor:
# below half a percent a few late customers double the rate without meaning anything.
SPIKE_FACTOR, SPIKE_FLOOR = 2.0, 0.005
BADGE_COLOURS = {"succeeded": "#2e7d32", "not_ready": "#b26a00", "rejected_input": "#ad1457", "failed": "#c62828"}
BAR, TODAY, ALERT = "#5b7db1", "#e08a1e", "#c62828"
# Bar lengths are linear, with every value printed after its bar and a value above zero drawn at least
# MIN_BAR px long: a few hundred web complaints beside millions of call logs stay visible and readable,
# and lengths still compare honestly (on a log scale 1,000 rows would look half as long as 1,000,000).
MIN_BAR = 3
# Chart text is 12 px; a character is at most this wide in it, which sizes the columns of labels.
CHAR_WIDTH = 7.5
TITLE_CHAR_WIDTH = 9.0  # a chart title is 13 px bold: wider than the 12 px labels (measured in Chromium)
LABEL_LINE = 24  # characters; a longer label goes on two lines, split at a space, never cut
INDEX_TREND_RUNS = 30

STYLE = """
body{font-family:system-ui,-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;margin:1em 1.5em;color:#222;max-width:1150px;
font-size:15px}
h1{font-size:1.5em;margin:.3em 0 .1em} h2{font-size:1.1em;margin:1.4em 0 .3em;border-bottom:1px solid #ddd}
p{margin:.4em 0} ul{margin:.2em 0}
.status{border-left:6px solid;padding:.1em .8em;margin:.6em 0} .flag{color:#c62828;font-weight:bold} .ok{color:#2e7d32}
tr.mismatch td{background:#fdecea} .note{font-size:13px;margin:.2em 0}
.side{display:flex;flex-wrap:wrap;gap:0 2.5em;align-items:flex-start}
table.expectations td:last-child{max-width:40em;overflow-wrap:anywhere} table.reconciled{font-size:14px} table.reconciled th,table.reconciled td{white-space:nowrap;padding:.2em .4em} table.reconciled td.flag{white-space:normal}
.badge{color:#fff;padding:.15em .6em;border-radius:.8em;font-size:.85em;vertical-align:middle}
.muted{color:#666} pre.error{background:#fdecea;padding:.8em;white-space:pre-wrap}
.kpis{display:flex;flex-wrap:wrap;gap:.8em} .kpi{border:1px solid #ddd;border-radius:6px;padding:.5em .9em}
.kpi b{display:block;font-size:1.3em} .charts{display:flex;flex-wrap:wrap;gap:1.5em}
table{border-collapse:collapse;margin:.5em 0} th,td{border:1px solid #ddd;padding:.25em .6em;text-align:left}
td.n{text-align:right;font-variant-numeric:tabular-nums} .spike{color:#c62828;font-weight:bold}
.scroll{overflow-x:auto} .scroll td{white-space:nowrap}
svg text{font-size:12px;fill:#222} svg text.title{font-size:13px;font-weight:bold}
"""


def render_html(report: dict, recent: list[dict], runs_folder: str,
                previous_run: dict | None = None, next_run: dict | None = None) -> str:
    """The whole page for one run written under `runs_folder`; `recent` are earlier reports of the same lake
    (oldest first) for trends; the previous and next runs of the folder, when there are, are linked."""
    earlier = recent_reports(recent, report["run_date"])
    page_folder = f"{runs_folder.rstrip('/')}/{report['run_date']}"
    # The first screen (a 1200×900 window): status, reconciled rows, rejected rows and open orphans;
    # they come first in the page, the key numbers, charts and detail tables below them.
    side = _rejected_table(report) + _open_orphans_table(report)
    first_screen = [_navigation(previous_run, next_run), _header(report), _reconciled_table(report),
                    f'<div class="side">{side}</div>' if side else "", _expectations_table(report)]
    sections = [*first_screen, _key_numbers(report, earlier), _charts(report, earlier), _bronze_table(report),
                *_quality_tables(report), _issues_table(report), *_orphan_tables(report), _open_list_table(report),
                _transitions_table(report), _postgres_table(report), _links(report, page_folder)]
    return _page(f'Run {report["run_date"]} · {report["status"]}', sections)


def render_index(reports: list[dict]) -> str:
    """The runs index of a runs folder: trends over the last runs, then one row per run, newest first."""
    runs = sorted(reports, key=run_order)
    steps = sorted({step for report in runs for step, _ in step_timings(report)}, key=lambda step: (step_rank(step), step))
    header = (f'<h1>CoreTelecoms runs</h1><p class="muted">{len(runs)} runs'
              + (f', the latest on {escape(str(runs[-1].get("run_date")))}' if runs else "") + "</p>")
    return _page("CoreTelecoms runs", [header, _index_trends(runs[-INDEX_TREND_RUNS:], steps), _index_table(runs[::-1], steps)])


def _page(title: str, sections: list[str]) -> str:
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<title>{escape(title)}</title><style>{STYLE}</style></head>'
            f'<body>\n' + "\n".join(s for s in sections if s) + "\n</body></html>\n")


def run_order(report: dict) -> tuple[str, str]:
    """Runs are ordered by run date, then by start (a date may be run more than once)."""
    return report.get("run_date") or "", report.get("started_at") or ""


def neighbours(reports: list[dict], run_id: str) -> tuple[dict | None, dict | None]:
    """The runs just before and just after run `run_id` among `reports` (None where there is none)."""
    ordered = sorted(reports, key=run_order)
    ids = [r.get("run_id") for r in ordered]
    if run_id not in ids:
        return None, None
    at = ids.index(run_id)
    return (ordered[at - 1] if at > 0 else None), (ordered[at + 1] if at + 1 < len(ordered) else None)


def run_page_href(report: dict) -> str:
    """A run's page as linked from its runs folder (the index); from a run page it is `../` this."""
    return _href(f"{report['run_date']}/{report['run_id']}.html")


def relative_href(target: str, page_folder: str) -> str:
    """The link to `target` from a page in `page_folder`: relative when both are on the local disk or in
    the same bucket, so that the page keeps working when copied along with the lake; else as recorded."""
    target_bucket, target_key = _bucket_key(target)
    page_bucket, page_key = _bucket_key(page_folder)
    if target_bucket is None and page_bucket is None and "://" not in target:
        return _href(os.path.relpath(target, page_folder))
    if target_bucket is not None and target_bucket == page_bucket:
        return _href(posixpath.relpath(f"/{target_key}", f"/{page_key}"))
    return target


def _bucket_key(location: str) -> tuple[str | None, str]:
    """(bucket, key) of an s3:// or s3a:// location; (None, location) for anything else."""
    parts = urlsplit(location)
    return (parts.netloc, parts.path.lstrip("/")) if parts.scheme in ("s3", "s3a") else (None, location)


def _href(path: str) -> str:
    return quote(path.replace(os.sep, "/"))


def recent_reports(reports: list[dict], run_date: str, limit: int = 14) -> list[dict]:
    """The latest report of each run date before `run_date`, oldest first, for at most `limit` dates."""
    latest = {}
    for report in reports:  # oldest first: a later attempt at the same date replaces an earlier one
        date = report.get("run_date")
        if date and date < run_date:
            latest[date] = report
    dates = sorted(latest)
    return [latest[date] for date in dates[max(len(dates) - limit, 0):]]


def is_quarantine_spike(today: float, earlier: list[float]) -> bool:
    return bool(earlier) and today > SPIKE_FLOOR and today > SPIKE_FACTOR * statistics.median(earlier)


def _navigation(previous_run: dict | None, next_run: dict | None) -> str:
    links = ['<a href="../index.html">All runs</a>']
    for run, text in ((previous_run, "← previous run {}"), (next_run, "next run {} →")):
        if run:
            links.append(f'<a href="../{run_page_href(run)}" title="{escape(str(run["run_id"]))}">'
                         f'{escape(text.format(run["run_date"]))}</a>')
    return f'<nav class="muted">{" · ".join(links)}</nav>'


def _header(report: dict) -> str:
    """Title and badge; when it ran, how long each step took (in step order); the status with its reason,
    the next step and the inputs that caused it."""
    status = report["status"]
    badge = f'<span class="badge" style="background:{BADGE_COLOURS.get(status, "#666")}">{escape(status)}</span>'
    meta = [f"run {report['run_id']}"]
    meta += [f"{label} {timestamp_text(report[key])}" for label, key in (("started", "started_at"), ("finished", "finished_at"))
             if report.get(key)]
    duration = run_duration(report)
    if duration:
        meta.append(f"took {duration}")
    steps = [f"{step} {_seconds(seconds)}" for step, seconds in step_timings(report) if _is_number(seconds)]
    html = (f'<h1>CoreTelecoms run {escape(report["run_date"])} {badge}</h1>'
            f'<p class="muted">{escape(" · ".join(meta))}'
            + (f'<br>steps: {escape(" · ".join(steps))}' if steps else "") + "</p>")
    return html + _status(report)


def _status(report: dict) -> str:
    status = report["status"]
    what, then = status_reason(report)
    html = f'<p><b>{escape(what)}</b>' + (f" Next: {escape(then)}" if then else "") + "</p>"
    mismatched = [row.source for row in reconciled(report) if row.problems()]
    if mismatched:
        html += (f'<p class="flag">The rows of {escape(", ".join(mismatched))} do not add up: '
                 f'see the flagged row{"s" if len(mismatched) > 1 else ""} below.</p>')
    if status == "failed":
        html += f'<pre class="error">{escape(mask_personal_data(str(report.get("error") or "no error recorded")))}</pre>'
        if report.get("trace_log"):  # beside this page: a relative link survives a copy to S3
            html += f'<p><a href="{escape(report["trace_log"])}">The full trace</a></p>'
    refused = inputs_with(report, REFUSED)
    if refused:
        items = "".join(f"<li>{escape(input_line(o))}<br>To fix: {escape(str(o.get('fix') or ''))}</li>" for o in refused)
        html += f'<p>Inputs refused (not landed; the other sources went on):</p><ul class="refused">{items}</ul>'
    missing = inputs_with(report, MISSING)
    if missing:
        items = "".join(f"<li>{escape(input_line(o))}</li>" for o in missing)
        html += f'<p>Inputs not there yet (the same date is run again later):</p><ul class="missing">{items}</ul>'
    return f'<div class="status" style="border-color:{BADGE_COLOURS.get(status, "#666")}">{html}</div>'


def _reconciled_table(report: dict) -> str:
    """Rows per source from bronze to PostgreSQL, every term shown; a row whose terms do not add up is
    flagged with the equation that fails."""
    rows = reconciled(report)
    if not rows:
        return ""
    why_not_loaded = not_loaded_reason(report)
    headers = ["source", "landed", "= clean", "+ repaired", "+ rejected", "+ duplicates", "kept",
               "− quarantined", "+ replayed", "= loaded\n(inserted + updated\n+ unchanged)", "check"]
    body = []
    for row in rows:
        problems = row.problems()
        if row.checked:
            terms = [row.clean, row.repaired, row.rejected, row.duplicates, row.kept]
            cells = [f'<td class="n">{_count(n)}</td>' for n in terms]
        else:
            cells = [f'<td colspan="5" class="muted">{escape(mask_personal_data(row.skipped))}</td>']
        if row.channel:
            cells += [f'<td class="n">{_count(row.quarantined)}</td>', f'<td class="n">{_count(row.replayed)}</td>']
        else:
            cells.append('<td colspan="2" class="muted">dimension</td>' if row.checked and report.get("orphans") else '<td colspan="2"></td>')
        if why_not_loaded is not None:
            cells.append('<td class="muted">not loaded</td>')
        elif row.already_loaded:
            cells.append('<td class="muted">already loaded</td>')  # the note below says from what
        elif row.loaded is None:
            cells.append('<td class="n">–</td>')
        else:
            cells.append(f'<td class="n">{row.loaded:,} ({_count(row.inserted)} + {_count(row.updated)} + {_count(row.unchanged)})</td>')
        if problems:
            check = '<td class="flag">does not add up</td>'
        elif row.checked or (row.expected_loaded is not None and row.loaded is not None):
            check = '<td class="ok">adds up</td>'
        else:
            check = "<td></td>"
        row_class = ' class="mismatch"' if problems else ""
        status = "" if row.input_status in ("ingested", "") else f' <span class="muted">{escape(row.input_status)}</span>'
        body.append(f'<tr{row_class}><td>{escape(row.source)}{status}</td>'
                    f'<td class="n">{_count(row.landed)}</td>{"".join(cells)}{check}</tr>')
        if problems:  # the equations that fail, on a row of their own below the numbers
            body.append(f'<tr class="mismatch"><td></td><td colspan="{len(headers) - 1}" class="flag">'
                        f'{escape("; ".join(problems))}</td></tr>')
    notes = []
    if why_not_loaded is not None:
        notes.append(f"PostgreSQL: not loaded, {why_not_loaded}.")
    elif any(not row.channel and row.loaded is not None for row in rows):
        notes.append("Dimensions load only their new and changed versions: their loaded rows are not compared with kept.")
    if why_not_loaded is None and any(row.already_loaded for row in rows):
        notes.append("Already loaded: the database held these rows of the date from the same lake version before this run"
                     " (a re-run), so nothing was staged for them.")
    head = "".join("<th>" + escape(h).replace("\n", "<br>") + "</th>" for h in headers)
    return (f'<h2 id="reconciled">Rows per source, reconciled</h2><table class="reconciled"><tr>{head}</tr>{"".join(body)}</table>'
            + "".join(f'<p class="muted note">{escape(mask_personal_data(note))}</p>' for note in notes))


FIRST_SCREEN_ISSUES = 8  # rejected issue counts listed at the top; the rest are in the table further down


def _rejected_table(report: dict) -> str:
    if "dq_issues" not in report:  # an older report: its issues by rule are further down
        return ""
    issues = rejected_issues(report)
    title = '<h2 id="rejected">Rejected rows by rule and field</h2>'
    if not issues:
        return f'<div>{title}<p>No row was rejected.</p></div>'
    rows = "".join(f'<tr><td>{escape(entity)}</td><td>{escape(rule)}</td><td>{escape(field)}</td><td class="n">{n:,}</td></tr>'
                   for entity, rule, field, n in issues[:FIRST_SCREEN_ISSUES])
    more = (f'<p class="muted note">and {len(issues) - FIRST_SCREEN_ISSUES} more in '
            f'<a href="#dq-issues">the issues by rule, field and outcome</a></p>' if len(issues) > FIRST_SCREEN_ISSUES else "")
    return (f'<div>{title}<table><tr><th>entity</th><th>rule</th><th>field</th><th>issues</th></tr>{rows}</table>'
            f"{more}</div>")


def _open_orphans_table(report: dict) -> str:
    orphans = report.get("orphans") or {}
    if not isinstance(orphans.get("open"), dict):
        return ""
    reasons, rows = open_by_channel(report)
    title = '<h2 id="open-orphans">Open orphans by channel and reason</h2>'
    if not rows:
        return f"<div>{title}<p>No complaint is waiting for its customer or agent.</p></div>"
    head = "".join(f"<th>{escape(h)}</th>" for h in ["channel", "open", *reasons])
    body = "".join(f'<tr><td>{escape(channel)}</td><td class="n">{_count(n)}</td>'
                   + "".join(f'<td class="n">{_count(by_reason.get(reason, 0))}</td>' for reason in reasons) + "</tr>"
                   for channel, n, by_reason in rows)
    ages = [f"{bucket} days: {n:,}" for bucket, n in (orphans.get("open_age_days") or {}).items() if _is_number(n)]
    oldest = orphans.get("oldest_open_days")
    age_line = ("by age " + " · ".join(ages) if ages else "") + (f" (oldest {oldest} days)" if _is_number(oldest) else "")
    listed = (' · <a href="#open-list">the oldest by id</a>' if orphans.get("open_list") else "")
    return (f'<div>{title}<table><tr>{head}</tr>{body}</table>'
            + (f'<p class="muted note">{escape(age_line)}{listed}</p>' if age_line or listed else "") + "</div>")


def _expectations_table(report: dict) -> str:
    """Per entity, the Great Expectations suite's expectations passed and failed by severity; each failing
    one named with its column, unexpected values and a few of them."""
    rows = expectations(report)
    if not rows:
        return ""
    head = "".join(f"<th>{escape(severity)} {outcome}</th>" for severity in SEVERITIES for outcome in ("passed", "failed"))
    body = []
    for row in rows:
        counts = "".join(f'<td class="n">{passed:,}</td><td class="n{" flag" if failed else ""}">{failed:,}</td>'
                         for passed, failed in (row.tally[severity] for severity in SEVERITIES))
        failing = "<br>".join(escape(row.failing(failure)) for failure in row.failures) or '<span class="ok">all passed</span>'
        body.append(f"<tr><td>{escape(row.entity)}</td>{counts}<td>{failing}</td></tr>")
    return ('<h2 id="expectations">Expectations per entity</h2>'
            f'<table class="expectations"><tr><th>entity</th>{head}<th>failing expectations</th></tr>{"".join(body)}</table>'
            '<p class="muted note">A failing critical expectation stops the run before anything is written; '
            'a failing warning is reported and the rows load. Details in the Data Docs linked at the end of this page.</p>')


def _key_numbers(report: dict, earlier: list[dict]) -> str:
    numbers = key_numbers(report)
    kpis = [f'<div class="kpi"><b>{value:,}</b>{escape(name)}</div>' for name, value in numbers.items()]
    rate = report.get("quarantine_rate")
    if _is_number(rate):
        kpis.append(f'<div class="kpi"><b>{rate:.2%}</b>quarantine rate</div>')
        rates = _rates(earlier)
        if is_quarantine_spike(rate, rates):
            kpis.append(f'<div class="kpi spike"><b>spike</b>over {SPIKE_FACTOR:g}× the median '
                        f'{statistics.median(rates):.2%} of the last {len(rates)} runs</div>')
    return '<h2>Key numbers</h2><div class="kpis">' + "".join(kpis) + "</div>"


# The steps of a run in the order they run (the JSON report keeps its keys sorted).
RUN_STEPS = ("bronze", "silver", "conformance_lake", "gold", "features", "data_docs", "conformance_postgres")


def step_timings(report: dict) -> list[tuple[str, float]]:
    """(step, seconds) in the order the steps run."""
    timings = report.get("timings_seconds") or {}
    return sorted(timings.items(), key=lambda item: step_rank(item[0]))


def step_rank(step: str) -> int:
    """A step's place in a run; a step this version does not know comes last."""
    return RUN_STEPS.index(step) if step in RUN_STEPS else len(RUN_STEPS)


def _charts(report: dict, earlier: list[dict]) -> str:
    timings = [(stage, s) for stage, s in step_timings(report) if _is_number(s)]
    sources = [(o.get("source", "?"), o["rows"]) for o in report.get("bronze") or [] if _is_number(o.get("rows"))]
    ages = [(f"{bucket} days", n) for bucket, n in ((report.get("orphans") or {}).get("open_age_days") or {}).items()
            if _is_number(n)]
    rules = sorted(((f"{entity}: {rule}", n) for entity, counts in (report.get("dq_rules") or {}).items()
                    for rule, n in (counts or {}).items() if _is_number(n)), key=lambda item: -item[1])[:10]
    charts = [bar_chart("Seconds per step", timings, _seconds),
              bar_chart("Bronze rows per source", sources),
              quarantine_trend(report, earlier),
              bar_chart("Open orphans by age", ages),
              bar_chart("Data-quality issues by rule (top 10)", rules)]
    charts = [chart for chart in charts if chart]
    return '<h2>Charts</h2><div class="charts">' + "".join(charts) + "</div>" if charts else ""


def bar_chart(title: str, items: list[tuple[str, float]], label=lambda n: f"{n:,}") -> str:
    """Horizontal bars with each value printed after its bar; '' when there is nothing to draw.
    A label is shown in full (on two lines when long) and again in the row's tooltip with its value."""
    if not items:
        return ""
    top = max(value for _, value in items) or 1
    lines = [label_lines(name) for name, _ in items]
    names_width = max(len(line) for name_lines in lines for line in name_lines) * CHAR_WIDTH + 10
    values_width = max(len(label(value)) for _, value in items) * CHAR_WIDTH + 10
    bars_width, line_height = 190, 15
    row = 8 + line_height * max(map(len, lines))
    parts = [f'<text class="title" x="0" y="13">{escape(title)}</text>']
    for i, ((name, value), name_lines) in enumerate(zip(items, lines)):
        y, length = 24 + i * row, bar_length(value, top, bars_width)
        first = y + row / 2 + 4 - (len(name_lines) - 1) * line_height / 2  # the label's lines centred on the bar
        text = "".join(f'<tspan x="{names_width - 6:.0f}" y="{first + n * line_height:.1f}">{escape(line)}</tspan>'
                       for n, line in enumerate(name_lines))
        parts.append(f'<g><title>{escape(f"{name}: {label(value)}")}</title>'
                     f'<text text-anchor="end">{text}</text>'
                     f'<rect x="{names_width:.0f}" y="{y + 4}" width="{length:.1f}" height="{row - 8}" fill="{BAR}"/>'
                     f'<text x="{names_width + length + 4:.1f}" y="{y + row / 2 + 4:.1f}">{escape(label(value))}</text></g>')
    return _svg(title, max(names_width + bars_width + values_width, len(title) * TITLE_CHAR_WIDTH), 30 + row * len(items), parts)


def label_lines(name: str, limit: int = LABEL_LINE) -> list[str]:
    """A label on one line, or on two split at the last space that lets the first fit `limit`."""
    split = name.rfind(" ", 0, limit + 1) if len(name) > limit else -1
    return [name[:split], name[split + 1:]] if split > 0 else [name]


def bar_length(value: float, top: float, full: float) -> float:
    """Linear in `value`, at least MIN_BAR for any value above zero (see MIN_BAR)."""
    return max(value / top * full, MIN_BAR) if value > 0 else 0.0


def quarantine_trend(report: dict, earlier: list[dict]) -> str:
    """Bars of the quarantine rate per run date, today's in its own colour, the earlier median dashed."""
    today = report.get("quarantine_rate")
    if not _is_number(today):
        return ""
    points = [(r["run_date"], r["quarantine_rate"]) for r in earlier if _is_number(r.get("quarantine_rate"))]
    rates = [rate for _, rate in points]
    spike = is_quarantine_spike(today, rates)
    points.append((report["run_date"], today))
    median = statistics.median(rates) if rates else None
    top = max([rate for _, rate in points] + [median or 0]) or 1
    left, step, base, plot = 10, 46, 150, 100  # bars grow up from y=base, at most `plot` high
    title = "Quarantine rate per run (today highlighted)"
    parts = [f'<text class="title" x="0" y="13">{escape(title)}</text>']
    if median is not None:  # drawn first so that bars and their labels sit on top of it
        y = base - median / top * plot
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + step * len(points)}" y2="{y:.1f}" stroke="#444" '
                     f'stroke-dasharray="4 3"/><text x="{left + step * len(points) + 4}" y="{y + 4:.1f}">'
                     f'median {median:.2%}</text>')
    for i, (date, rate) in enumerate(points):
        x, height, is_today = left + i * step, rate / top * plot, i == len(points) - 1
        colour = (ALERT if spike else TODAY) if is_today else BAR
        middle = x + (step - 8) / 2
        parts.append(f'<rect x="{x}" y="{base - height:.1f}" width="{step - 8}" height="{height:.1f}" fill="{colour}">'
                     f'<title>{escape(str(date))}: {rate:.2%}</title></rect>'
                     f'<text x="{middle}" y="{base - height - 4:.1f}" text-anchor="middle">{rate:.2%}</text>'
                     f'<text x="{middle}" y="{base + 15}" text-anchor="middle">{escape(str(date)[5:])}</text>')
        if is_today and spike:
            parts.append(f'<text class="spike" x="{middle}" y="{base - height - 16:.1f}" text-anchor="middle" '
                         f'fill="{ALERT}">▲ spike</text>')
    width = left + step * len(points) + 110
    return _svg(title, max(width, len(title) * TITLE_CHAR_WIDTH), base + 22, parts)


def trend_chart(title: str, runs: list[dict], values: list, label) -> str:
    """One column per run, oldest left, failed runs in red; the top value and zero on the axis, every few
    runs dated below, each column's run and value on hover. A run without the number leaves a gap;
    '' when no run has it."""
    numbers = [value for value in values if _is_number(value)]
    if not numbers:
        return ""
    top = max(numbers) or 1
    axis = max(len(label(top)), len(label(0))) * CHAR_WIDTH + 8
    step, base, plot = 14, 130, 96  # columns grow up from y=base, at most `plot` high
    dated_every = max(math.ceil(48 / step), math.ceil(len(runs) / 8))  # a date label is about 40 px wide
    parts = [f'<text class="title" x="0" y="13">{escape(title)}</text>',
             f'<text x="{axis - 6:.0f}" y="{base - plot + 4}" text-anchor="end">{escape(label(top))}</text>',
             f'<text x="{axis - 6:.0f}" y="{base + 4}" text-anchor="end">{escape(label(0))}</text>',
             f'<line x1="{axis:.0f}" y1="{base}" x2="{axis + step * len(runs):.0f}" y2="{base}" stroke="#999"/>']
    for i, (run, value) in enumerate(zip(runs, values)):
        x, date = axis + i * step, str(run.get("run_date") or "")
        if _is_number(value):
            height, colour = bar_length(value, top, plot), ALERT if run.get("status") == "failed" else BAR
            tooltip = f"{date} {run.get('run_id')}: {label(value)}"
            parts.append(f'<rect x="{x:.0f}" y="{base - height:.1f}" width="{step - 3}" height="{height:.1f}" fill="{colour}">'
                         f'<title>{escape(tooltip)}</title></rect>')
        if (len(runs) - 1 - i) % dated_every == 0:  # the newest run is always dated
            parts.append(f'<text x="{x + (step - 3) / 2:.1f}" y="{base + 16}" text-anchor="middle">{escape(date[5:])}</text>')
    return _svg(title, max(axis + step * len(runs) + 20, len(title) * TITLE_CHAR_WIDTH), base + 22, parts)


def _svg(title: str, width: float, height: float, parts: list[str]) -> str:
    return (f'<svg width="{width:.0f}" height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" role="img" '
            f'aria-label="{escape(title)}"><title>{escape(title)}</title>' + "".join(parts) + "</svg>")


def _bronze_table(report: dict) -> str:
    rows = [[o.get("source"), o.get("source_date"), o.get("status"), _count(o.get("rows")), _count(o.get("size")),
             _count(o.get("seconds")), mask_personal_data(str(o.get("message") or ""))] for o in report.get("bronze") or []]
    return _table("Bronze", ["source", "source date", "status", "rows", "bytes", "seconds", "message"], rows)


def _quality_tables(report: dict) -> list[str]:
    quality = report.get("quality") or {}
    entities = [[e, *(_count(q.get(k)) for k in ("rows_in", "clean", "repaired", "rejected_total", "collapsed", "kept"))]
                for e, q in quality.items()]
    rates = []
    for entity, counts in (report.get("dq_rules") or {}).items():
        rows_in = (quality.get(entity) or {}).get("rows_in")
        rates += [[entity, rule, _count(n), f"{n / rows_in:.2%}" if _is_number(rows_in) and rows_in and _is_number(n) else "–"]
                  for rule, n in sorted((counts or {}).items())]
    return [_table("Silver per entity", ["entity", "rows in", "clean", "repaired", "rejected", "duplicates", "kept"], entities),
            _table("Data-quality issues by rule", ["entity", "rule", "records", "rate of rows in"], rates)]


def _orphan_tables(report: dict) -> list[str]:
    orphans = report.get("orphans") or {}
    new, replayed, still_open = (orphans.get(k) or {} for k in ("new", "replayed", "open"))
    channels = list(dict.fromkeys([*new, *replayed, *still_open]))
    oldest = orphans.get("oldest_open_days")
    ages = [[bucket, _count(n)] for bucket, n in (orphans.get("open_age_days") or {}).items()]
    return [_table("Orphaned complaints", ["channel", "new", "replayed", "open"],
                   [[c, _count(new.get(c)), _count(replayed.get(c)), _count(still_open.get(c))] for c in channels]),
            _table("Open orphans by age" + (f" (oldest {oldest} days)" if _is_number(oldest) else ""),
                   ["age (days)", "complaints"], ages)]


def _issues_table(report: dict) -> str:
    """Every issue count of the run by entity, rule, field and outcome (the rejected ones are at the top)."""
    rows = [[entity, rule, field, outcome, _count(n)] for entity, rule, field, outcome, n in issue_counts(report)]
    table = _table("Data-quality issues by rule, field and outcome", ["entity", "rule", "field", "outcome", "issues"], rows)
    return table.replace("<h2>", '<h2 id="dq-issues">', 1)


def _open_list_table(report: dict) -> str:
    """The oldest open orphans by id (ids are not personal data; every cell is masked all the same)."""
    listed = (report.get("orphans") or {}).get("open_list") or []
    rows = [[mask_personal_data(str(o.get(key) if o.get(key) is not None else "–"))
             for key in ("channel", "complaint_id", "reason", "first_seen_date")] + [_count(o.get("age_days"))]
            for o in listed if isinstance(o, dict)]
    table = _table(f"Oldest open orphans ({len(rows)} listed)", ["channel", "complaint id", "reason", "first seen", "age (days)"], rows)
    return table.replace("<h2>", '<h2 id="open-list">', 1)


def _transitions_table(report: dict) -> str:
    rows = [[t, _count(n)] for t, n in (report.get("transitions") or {}).items()]
    return _table("Status transitions", ["transition", "complaints"], rows)


def _postgres_table(report: dict) -> str:
    rows = [[table, *(_count((c or {}).get(count)) for count in ("inserted", "updated", "unchanged"))]
            for table, c in (report.get("postgres_load") or {}).items()]
    return _table("PostgreSQL load", ["table", "inserted", "updated", "unchanged"], rows)


def _index_trends(runs: list[dict], steps: list[str]) -> str:
    def trend(title: str, value, label) -> str:
        return trend_chart(title, runs, [value(run) for run in runs], label)

    charts = [trend("Run duration", run_seconds, duration_text),
              *(trend(f"Seconds in {step}", lambda run, step=step: (run.get("timings_seconds") or {}).get(step), _seconds)
                for step in steps),
              trend("Quarantine rate", measured_quarantine_rate, lambda rate: f"{rate:.2%}")]
    charts = [chart for chart in charts if chart]
    return (f'<h2>Trends over the last {len(runs)} runs <span class="muted">(failed runs in red)</span></h2>'
            f'<div class="charts">{"".join(charts)}</div>' if charts else "")


def _index_table(runs: list[dict], steps: list[str]) -> str:
    headers = ["run date", "run", "status", "took", "rows landed", "rejected", "new orphans", "quarantine rate",
               *(f"{step} (s)" for step in steps)]
    rows = [[run.get("run_date"), Link(run_page_href(run), str(run.get("run_id"))), run.get("status"),
             run_duration(run) or "–", *_index_numbers(run),
             *(_count((run.get("timings_seconds") or {}).get(step)) for step in steps)] for run in runs]
    return f'<div class="scroll">{_table("Runs, newest first", headers, rows)}</div>'  # wider than the page


def _index_numbers(report: dict) -> list[str]:
    """Rows landed (as on the run's page), rejected, new orphans and the quarantine rate as index cells;
    '–' where the run did not get that far (a failed run's zeros would read as a clean day)."""
    numbers, rate = key_numbers(report), measured_quarantine_rate(report)
    return [_count(numbers["rows landed"]) if report.get("bronze") else "–",
            _count(numbers["rows rejected"]) if report.get("quality") else "–",
            _count(numbers["quarantined"]) if _conformed(report) else "–",
            f"{rate:.2%}" if rate is not None else "–"]


def measured_quarantine_rate(report: dict) -> float | None:
    """The run's quarantine rate if conformance ran: a run that stopped earlier records 0 without measuring."""
    rate = report.get("quarantine_rate")
    return rate if _conformed(report) and _is_number(rate) else None


def _conformed(report: dict) -> bool:
    return isinstance((report.get("orphans") or {}).get("new"), dict)


class Link(NamedTuple):
    """A table cell that links `href` (already relative and quoted) with `text`."""
    href: str
    text: str


def _table(title: str, headers: list[str], rows: list[list]) -> str:
    """A titled table, right-aligned where a cell is a count; '' without rows. Every cell is escaped here."""
    if not rows:
        return ""
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(_cell(value) for value in row) + "</tr>" for row in rows)
    return f"<h2>{escape(title)}</h2><table><tr>{head}</tr>{body}</table>"


def _cell(value) -> str:
    if isinstance(value, Link):
        return f'<td><a href="{escape(value.href)}">{escape(value.text)}</a></td>'
    text = "" if value is None else str(value)
    numeric = text.replace(",", "").replace(".", "").replace("%", "").isdigit()
    return f'<td class="n">{escape(text)}</td>' if numeric else f"<td>{escape(text)}</td>"


def _links(report: dict, page_folder: str) -> str:
    """The JSON beside the page, the Data Docs and the validation results, linked relatively where they can be."""
    links = [(_href(f"{report['run_id']}.json"), "Run report (JSON)")]
    if report.get("data_docs"):
        links.append((relative_href(str(report["data_docs"]), page_folder), "Data Docs"))
    links += [(relative_href(str(path), page_folder), f"Validation: {entity}")
              for entity, path in (report.get("validations") or {}).items() if path]
    items = "".join(f'<li><a href="{escape(href)}">{escape(text)}</a></li>' for href, text in links)
    return f"<h2>Links</h2><ul>{items}</ul>"


def _rates(reports: list[dict]) -> list[float]:
    return [r["quarantine_rate"] for r in reports if _is_number(r.get("quarantine_rate"))]


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _seconds(value: float) -> str:
    return f"{value:,.1f} s"


def _count(value) -> str:
    if not _is_number(value):
        return "–"
    return f"{value:,}" if isinstance(value, int) else f"{value:,.1f}"
