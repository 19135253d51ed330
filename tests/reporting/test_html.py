"""The HTML run report: content, charts, escaping, masking, the quarantine spike, well-formedness."""
from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from coretelecoms.reporting.first_screen import timestamp_text
from coretelecoms.reporting.run_report import shown_value
from coretelecoms.reporting.html import (INDEX_TREND_RUNS, MIN_BAR, RUN_STEPS, neighbours, recent_reports, relative_href,
                                         render_html, render_index)

RUNS = "var/lake/_runs"  # the runs folder pages are rendered for: FULL's links lie under the same lake

VOID = {"meta", "br", "hr", "img", "input", "link"}
FULL = {  # one day at scale 0.01; call_logs' numbers are those of a real run
    "run_id": "2025-06-02_20261127T031500Z_ab12", "run_date": "2025-06-02",
    "stages": ["bronze", "silver", "conformance", "gold"], "status": "succeeded", "error": "", "failed_stage": "",
    "started_at": "2026-11-27T03:15:00.123456+00:00", "finished_at": "2026-11-27T03:16:28.054321+00:00",
    "timings_seconds": {"bronze": 12.3, "silver": 40.1, "conformance_lake": 20.0, "gold": 5.2, "features": 2.4,
                        "conformance_postgres": 8.0, "data_docs": 3.1},
    "bronze": [
        {"source": "customers", "location": "customers/customers_dataset.csv", "source_date": "2025-06-01",
         "status": "unchanged", "rows": 1200, "size": 5000, "seconds": 0.3, "message": "already in bronze"},
        {"source": "agents", "location": "agents sheet", "source_date": "2025-06-02",
         "status": "ingested", "rows": 50, "size": 900, "seconds": 0.4, "message": ""},
        {"source": "call_logs", "location": "s3://landing/call logs/call_logs_day_2025-06-02.csv",
         "source_date": "2025-06-02", "status": "ingested", "rows": 3800, "size": 123, "checksum": "abc",
         "table": "bronze.call_logs", "seconds": 1.2, "message": ""},
        {"source": "sm_complaints", "location": "social_media_2025-06-02.json", "source_date": "2025-06-02",
         "status": "ingested", "rows": 150, "size": 40, "seconds": 0.5, "message": ""},
        {"source": "web_complaints", "location": "web_form_request_2025_06_02", "source_date": "2025-06-02",
         "status": "ingested", "rows": 700, "size": 99, "seconds": 0.8, "message": ""},
    ],
    "quality": {
        "agents": {"entity": "agents", "rows_in": 50, "clean": 50, "repaired": 0, "rejected": {}, "collapsed": 0,
                   "warnings": 0, "unknown_columns": [], "kept": 50, "rejected_total": 0},
        "call_logs": {"entity": "call_logs", "rows_in": 3800, "clean": 3782, "repaired": 7,
                      "rejected": {"customer_id: missing": 1}, "collapsed": 10, "warnings": 0, "unknown_columns": [],
                      "kept": 3789, "rejected_total": 1},
        "sm_complaints": {"entity": "sm_complaints", "rows_in": 150, "clean": 148, "repaired": 1, "rejected": {},
                          "collapsed": 1, "warnings": 0, "unknown_columns": [], "kept": 149, "rejected_total": 0},
        "web_complaints": {"entity": "web_complaints", "rows_in": 700, "clean": 690, "repaired": 6,
                           "rejected": {"customer_id: invalid_uuid": 2, "agent_id: missing": 1}, "collapsed": 1,
                           "warnings": 0, "unknown_columns": [], "kept": 696, "rejected_total": 3},
    },
    "quality_skipped": {"customers": "dimension unchanged since it was last processed"},
    "dq_rules": {"call_logs": {"duplicate_key": 10, "invalid_enumeration": 5, "unparseable_timestamp": 2, "missing": 1},
                 "web_complaints": {"invalid_enumeration": 6, "invalid_uuid": 2, "duplicate_key": 1, "missing": 1},
                 "sm_complaints": {"duplicate_key": 1, "invalid_enumeration": 1}},
    "dq_issues": {
        "call_logs": [{"rule": "duplicate_key", "field": "call_id", "outcome": "collapsed", "issues": 10},
                      {"rule": "invalid_enumeration", "field": "resolution_status", "outcome": "repaired", "issues": 5},
                      {"rule": "unparseable_timestamp", "field": "call_end_time", "outcome": "repaired", "issues": 2},
                      {"rule": "missing", "field": "customer_id", "outcome": "rejected", "issues": 1}],
        "web_complaints": [{"rule": "invalid_enumeration", "field": "complaint_category", "outcome": "repaired", "issues": 6},
                           {"rule": "invalid_uuid", "field": "customer_id", "outcome": "rejected", "issues": 2},
                           {"rule": "duplicate_key", "field": "request_id", "outcome": "collapsed", "issues": 1},
                           {"rule": "missing", "field": "agent_id", "outcome": "rejected", "issues": 1}],
        "sm_complaints": [{"rule": "duplicate_key", "field": "complaint_id", "outcome": "collapsed", "issues": 1},
                          {"rule": "invalid_enumeration", "field": "media_channel", "outcome": "repaired", "issues": 1}],
        "agents": [],
    },
    "orphans": {"new": {"call_logs": 19, "sm_complaints": 0, "web_complaints": 3},
                "replayed": {"call_logs": 24, "sm_complaints": 0, "web_complaints": 1},
                "open": {"call_logs": 30, "sm_complaints": 1, "web_complaints": 8},
                "open_by_reason": {"call_logs": {"missing_customer": 20, "missing_agent": 8, "both": 2},
                                   "sm_complaints": {"missing_agent": 1}, "web_complaints": {"missing_customer": 8}},
                "open_age_days": {"0-1": 10, "2-7": 20, "8-30": 9, ">30": 0}, "oldest_open_days": 12,
                "open_list": [
                    {"channel": "call_logs", "complaint_id": "CL-000123", "reason": "missing_customer",
                     "first_seen_date": "2025-05-21", "age_days": 12},
                    {"channel": "web_complaints", "complaint_id": "WEB-9f3c", "reason": "missing_customer",
                     "first_seen_date": "2025-05-24", "age_days": 9},
                    {"channel": "sm_complaints", "complaint_id": "SM-0042", "reason": "missing_agent",
                     "first_seen_date": "2025-05-30", "age_days": 3},
                ]},
    "quarantine_rate": 0.0041,
    "transitions": {"(new) -> Backlog": 800, "Backlog -> In-Progress": 20, "In-Progress -> Resolved": 15},
    "validations": {"call_logs": "var/lake/_validations/call_logs.json"},
    "expectations": {
        "customers": {"critical": {"passed": 12, "failed": 0}, "warning": {"passed": 23, "failed": 0}, "failures": []},
        "call_logs": {"critical": {"passed": 14, "failed": 0}, "warning": {"passed": 20, "failed": 1}, "failures": [
            {"expectation": "expect_column_values_to_be_between", "column": "agent_id", "severity": "warning",
             "unexpected": 2, "examples": ["0", None]}]},
    },
    "data_docs": "var/lake/_data_docs/index.html",
    "postgres_load": {"customers": {"inserted": 0, "updated": 0, "unchanged": 0}, "agents": {"inserted": 2, "updated": 1, "unchanged": 0},
                      "call_logs": {"inserted": 3753, "updated": 37, "unchanged": 4},
                      "sm_complaints": {"inserted": 140, "updated": 9, "unchanged": 0},
                      "web_complaints": {"inserted": 690, "updated": 4, "unchanged": 0},
                      "orphaned_complaints": {"inserted": 22, "updated": 25, "unchanged": 0}},
    "postgres_skipped": "",
}


def already_loaded(report: dict, *sources: str) -> dict:
    """`report` as a re-run of its date writes it: nothing changed, and the load staged nothing for
    `sources` (the database held their lake versions)."""
    load = {table: {"inserted": 0, "updated": 0, "unchanged": 0} for table in report["postgres_load"]}
    return {**report, "postgres_load": load, "stage_counts": {"conformance": {"already_loaded": list(sources)}}}


FAILED = {"run_id": "2025-06-03_x", "run_date": "2025-06-03", "status": "failed",
          "error": "ValueError: <script>alert(1)</script> bad email jane.doe@example.com"}


class Nesting(HTMLParser):
    """Checks that every element opened is closed, in order, and counts the svg elements."""

    def __init__(self) -> None:
        super().__init__()
        self.open: list[str] = []
        self.svgs = 0

    def handle_starttag(self, tag, attrs):
        self.svgs += tag == "svg"
        if tag not in VOID:
            self.open.append(tag)

    def handle_endtag(self, tag):
        assert self.open and self.open[-1] == tag, f"</{tag}> closes <{self.open[-1] if self.open else None}>"
        self.open.pop()


def well_formed(page: str) -> Nesting:
    parser = Nesting()
    parser.feed(page)
    parser.close()
    assert parser.open == []
    return parser


class SvgContent(HTMLParser):
    """The words of each SVG <text> (its <tspan> lines joined by a space), the tooltips, the bars' widths."""

    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []
        self.titles: list[str] = []
        self.bar_widths: list[float] = []
        self.font_sizes: list[str] = []
        self._inside: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "font-size" in attrs:
            self.font_sizes.append(attrs["font-size"])
        if tag == "rect":
            self.bar_widths.append(float(attrs["width"]))
        elif tag in ("text", "title"):
            self._inside = tag
            (self.texts if tag == "text" else self.titles).append("")

    def handle_endtag(self, tag):
        if tag in ("text", "title"):
            self._inside = None

    def handle_data(self, data):
        if self._inside:
            words = self.texts if self._inside == "text" else self.titles
            words[-1] = f"{words[-1]} {data}".strip()


def svg_content(page: str) -> SvgContent:
    parser = SvgContent()
    for svg in re.findall(r"<svg.*?</svg>", page, flags=re.S):
        parser.feed(svg)
    return parser


def earlier_runs(rates: list[float]) -> list[dict]:
    return [{"run_id": f"r{day}", "run_date": f"2025-05-{day:02d}", "status": "succeeded", "quarantine_rate": rate}
            for day, rate in enumerate(rates, start=25)]


def test_a_full_report_has_its_numbers_tables_charts_and_links():
    page = render_html(FULL, earlier_runs([0.004, 0.005, 0.003]), RUNS)

    assert well_formed(page).svgs == page.count("<svg") == 5
    for expected in ("succeeded", FULL["run_id"], "<b>4,700</b>rows landed", "<b>4,684</b>rows kept", "0.41%", "took 1m 28s",
                     "Seconds per step", "conformance_postgres", "Bronze rows per source", "Quarantine rate per run",
                     "Open orphans by age", "web_complaints: invalid_enumeration", "(new) -&gt; Backlog", "In-Progress -&gt; Resolved",
                     'href="2025-06-02_20261127T031500Z_ab12.json"', 'href="../../_data_docs/index.html"',
                     'href="../../_validations/call_logs.json"', 'href="../index.html"'):
        assert expected in page, expected
    assert "<td>call_logs</td><td>invalid_enumeration</td><td class=\"n\">5</td><td class=\"n\">0.13%</td>" in page
    assert "<script" not in page and "<link" not in page and "src=" not in page


def test_a_minimal_failed_report_is_escaped_and_masked():
    page = render_html(FAILED, [], RUNS)

    well_formed(page)
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "jane.doe@example.com" not in page and "j***@***.com" in page
    assert "failed" in page and "Failed at step unknown." in page
    assert page.count("<svg") == 0
    assert "full trace" not in page


def test_a_failed_report_links_its_trace_log_relatively():
    page = render_html({**FAILED, "failed_stage": "silver", "trace_log": "2025-06-03_x.log"}, [], RUNS)

    well_formed(page)
    assert '<a href="2025-06-03_x.log">The full trace</a>' in page


@pytest.mark.parametrize("report", [
    {"run_id": "r", "run_date": "2025-06-02", "status": "not_ready",
     "bronze": [{"source": "call_logs", "status": "not_ready", "rows": None}], "timings_seconds": {"bronze": 1.0}},
    {"run_id": "r", "run_date": "2025-06-02", "status": "failed", "failed_stage": "silver", "error": None,
     "quality": None, "orphans": {"new": None, "open_age_days": None}, "dq_rules": {"calls": None},
     "transitions": {}, "validations": None, "postgres_load": {"calls": None}, "quarantine_rate": None,
     "expectations": {"calls": None, "sms": {"warning": None, "failures": [None, {"unexpected": "x"}]}}},
    {"run_id": "r", "run_date": "2025-06-02", "status": "succeeded", "quarantine_rate": 0.0,
     "dq_rules": {"calls": {"bad": 3}}, "quality": {"calls": {"rows_in": 0}}},
])
def test_partial_reports_render(report):
    well_formed(render_html(report, earlier_runs([0.0, 0.0]) + [{"run_id": "x", "run_date": "2025-05-30", "status": "failed"}], RUNS))


def spike_marked(today: float, earlier: list[float]) -> bool:
    page = render_html({**FULL, "quarantine_rate": today}, earlier_runs(earlier), RUNS)
    well_formed(page)
    return 'class="spike"' in page


def test_a_quarantine_rate_five_times_the_median_is_a_spike():
    assert spike_marked(0.02, [0.003, 0.004, 0.004, 0.005, 0.004])


def test_a_quarantine_rate_equal_to_the_median_is_not_a_spike():
    assert not spike_marked(0.004, [0.003, 0.004, 0.004, 0.005, 0.004])


def test_a_tiny_quarantine_rate_is_not_a_spike_even_when_it_jumps():
    assert not spike_marked(0.0025, [0.0005] * 5)


def test_recent_reports_keep_the_latest_attempt_of_each_earlier_date():
    reports = [
        {"run_id": "a1", "run_date": "2025-05-30"}, {"run_id": "b1", "run_date": "2025-05-31"},
        {"run_id": "a2", "run_date": "2025-05-30"}, {"run_id": "c1", "run_date": "2025-06-01"},
        {"run_id": "today-1", "run_date": "2025-06-02"}, {"run_id": "later", "run_date": "2025-06-05"},
    ]

    assert [r["run_id"] for r in recent_reports(reports, "2025-06-02")] == ["a2", "b1", "c1"]
    assert [r["run_id"] for r in recent_reports(reports, "2025-06-02", limit=2)] == ["b1", "c1"]
    assert recent_reports(reports, "2025-06-02", limit=0) == []
    assert recent_reports([], "2025-06-02") == []


def test_chart_labels_are_never_cut_and_long_ones_wrap_onto_a_second_line():
    rules = {"customers": {"unparseable_date_of_birth": 5, "bad_email": 9}, "call_logs": {"an_extraordinarily_long_rule_name_without_spaces": 1}}
    page = render_html({**FULL, "dq_rules": rules}, [], RUNS)
    svg = svg_content(page)

    assert "…" not in page
    for label in ("customers: unparseable_date_of_birth", "call_logs: an_extraordinarily_long_rule_name_without_spaces"):
        assert label in svg.texts, label
        assert f"{label}: " in " ".join(svg.titles), label  # the tooltip repeats the label with its value
    assert '<tspan x="' in page and page.count(">customers:</tspan>") == 1  # wrapped: "customers:" alone on the first line


def test_a_small_source_keeps_a_visible_bar_and_its_value_beside_a_big_one():
    bronze = [{"source": "call_logs", "status": "ingested", "rows": 5_000_000},
              {"source": "web_complaints", "status": "ingested", "rows": 40}]
    svg = svg_content(render_html({"run_id": "r", "run_date": "2025-06-02", "status": "succeeded", "bronze": bronze}, [], RUNS))

    assert sorted(svg.bar_widths) == [MIN_BAR, 190]
    assert {"5,000,000", "40"} <= set(svg.texts)


def test_all_chart_text_is_at_least_12px():
    page = render_html(FULL, earlier_runs([0.004, 0.005, 0.003]), RUNS)

    sizes = [int(size) for size in re.findall(r"svg text(?:\.\w+)?\{font-size:(\d+)px", page)]
    assert sizes and min(sizes) >= 12
    assert all(float(size) >= 12 for size in svg_content(page).font_sizes)


class Links(HTMLParser):
    """Every <a>'s href and text."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[tuple[str, str]] = []
        self._href: str | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self._href = dict(attrs)["href"]
            self.links.append((self._href, ""))

    def handle_endtag(self, tag):
        if tag == "a":
            self._href = None

    def handle_data(self, data):
        if self._href is not None:
            href, text = self.links[-1]
            self.links[-1] = (href, text + data)


def links(page: str) -> dict[str, str]:
    """href -> text of every link on the page."""
    parser = Links()
    parser.feed(page)
    return dict(parser.links)


def test_a_report_links_the_runs_index_and_its_previous_and_next_runs_relatively():
    previous_run = {"run_id": "2025-06-01_a", "run_date": "2025-06-01"}
    next_run = {"run_id": "2025-06-03_b", "run_date": "2025-06-03"}
    page = render_html(FULL, [], RUNS, previous_run, next_run)

    well_formed(page)
    assert links(page)["../index.html"] == "All runs"
    assert links(page)["../2025-06-01/2025-06-01_a.html"] == "← previous run 2025-06-01"
    assert links(page)["../2025-06-03/2025-06-03_b.html"] == "next run 2025-06-03 →"


def test_the_first_and_only_run_links_just_the_index():
    hrefs = set(links(render_html(FAILED, [], RUNS)))

    assert hrefs == {"../index.html", "2025-06-03_x.json"}


def test_neighbours_are_ordered_by_run_date_then_start():
    reports = [
        {"run_id": "c", "run_date": "2025-06-02", "started_at": "2026-11-28T03:00:00+00:00"},
        {"run_id": "a", "run_date": "2025-06-01", "started_at": "2026-11-29T03:00:00+00:00"},
        {"run_id": "b", "run_date": "2025-06-02", "started_at": "2026-11-27T03:00:00+00:00"},
    ]

    assert neighbours(reports, "a") == (None, reports[2])
    assert neighbours(reports, "b") == (reports[1], reports[0])
    assert neighbours(reports, "c") == (reports[2], None)
    assert neighbours(reports, "unknown") == (None, None)


@pytest.mark.parametrize("target, page_folder, href", [
    ("/srv/lake/_data_docs/index.html", "/srv/lake/_runs/2025-06-02", "../../_data_docs/index.html"),
    ("/srv/data docs/index.html", "/srv/lake/_runs/2025-06-02", "../../../data%20docs/index.html"),
    ("var/lake/_validations/calls.json", "var/lake/_runs/2025-06-02", "../../_validations/calls.json"),
    ("s3a://lake/x/_data_docs/index.html", "s3a://lake/x/_runs/2025-06-02", "../../_data_docs/index.html"),
    ("s3://lake/x/_data_docs/index.html", "s3a://lake/x/_runs/2025-06-02", "../../_data_docs/index.html"),
    ("s3a://docs/site/index.html", "s3a://lake/x/_runs/2025-06-02", "s3a://docs/site/index.html"),
    ("s3a://lake/x/_data_docs/index.html", "/srv/runs/2025-06-02", "s3a://lake/x/_data_docs/index.html"),
    ("https://docs.example.com/index.html", "/srv/runs/2025-06-02", "https://docs.example.com/index.html"),
])
def test_relative_href(target, page_folder, href):
    assert relative_href(target, page_folder) == href


def test_report_links_are_relative_without_the_machine_s_paths_beside_them():
    report = {**FULL, "data_docs": "/srv/coretelecoms/var/data_docs/index.html",
              "validations": {"call_logs": "/srv/coretelecoms/var/lake/_quality/validations/r/call_logs.json",
                              "customers": "s3a://elsewhere/validations/r/customers.json"}}
    page = render_html(report, [], "/srv/coretelecoms/var/lake/_runs")

    assert links(page)["../../../data_docs/index.html"] == "Data Docs"
    assert links(page)["../../_quality/validations/r/call_logs.json"] == "Validation: call_logs"
    assert links(page)["s3a://elsewhere/validations/r/customers.json"] == "Validation: customers"
    assert "/srv/" not in page


class Rows(HTMLParser):
    """The text of each table row's cells."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self._in_cell = False

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self.rows[-1].append("")
            self._in_cell = True

    def handle_endtag(self, tag):
        self._in_cell = self._in_cell and tag not in ("td", "th")

    def handle_data(self, data):
        if self._in_cell:
            self.rows[-1][-1] += data


def table_rows(page: str) -> list[list[str]]:
    parser = Rows()
    parser.feed(page)
    return parser.rows


def run_of(day: int, **fields) -> dict:
    date = f"2025-06-{day:02d}"
    return {**FULL, "run_id": f"{date}_r", "run_date": date, "started_at": f"{date}T03:00:00+00:00",
            "finished_at": f"{date}T03:01:00+00:00", **fields}


def test_the_index_has_one_row_per_run_newest_first_linking_each_page_relatively():
    failed = {**FAILED, "run_id": "2025-06-03_f", "started_at": "2025-06-03T04:00:00+00:00",
              "finished_at": "2025-06-03T04:00:30+00:00", "timings_seconds": {"bronze": 2.0}}
    page = render_index([run_of(2), failed, run_of(1, quarantine_rate=0.0123)])

    well_formed(page)
    header, *rows = table_rows(page)
    assert header == ["run date", "run", "status", "took", "rows landed", "rejected", "new orphans", "quarantine rate",
                      "bronze (s)", "silver (s)", "conformance_lake (s)", "gold (s)", "features (s)", "data_docs (s)",
                      "conformance_postgres (s)"]
    assert rows == [
        ["2025-06-03", "2025-06-03_f", "failed", "30s", "–", "–", "–", "–", "2.0", "–", "–", "–", "–", "–", "–"],
        ["2025-06-02", "2025-06-02_r", "succeeded", "1m 00s", "4,700", "4", "22", "0.41%", "12.3", "40.1", "20.0", "5.2", "2.4", "3.1", "8.0"],
        ["2025-06-01", "2025-06-01_r", "succeeded", "1m 00s", "4,700", "4", "22", "1.23%", "12.3", "40.1", "20.0", "5.2", "2.4", "3.1", "8.0"],
    ]
    assert links(page) == {"2025-06-03/2025-06-03_f.html": "2025-06-03_f", "2025-06-02/2025-06-02_r.html": "2025-06-02_r",
                           "2025-06-01/2025-06-01_r.html": "2025-06-01_r"}


def test_the_index_trends_the_duration_each_step_and_the_quarantine_rate_over_the_last_30_runs():
    runs = [run_of(day) for day in range(1, 31)] + [run_of(day, run_date=f"2025-07-{day:02d}", run_id=f"july-{day}")
                                                     for day in range(1, 6)]
    page = render_index(runs)

    well_formed(page)
    charts = re.findall(r'<svg .*?aria-label="([^"]+)".*?</svg>', page, flags=re.S)
    assert charts == ["Run duration", "Seconds in bronze", "Seconds in silver", "Seconds in conformance_lake",
                      "Seconds in gold", "Seconds in features", "Seconds in data_docs", "Seconds in conformance_postgres", "Quarantine rate"]
    gold = re.search(r'<svg [^>]*aria-label="Seconds in gold".*?</svg>', page, flags=re.S).group()
    tooltips = svg_content(gold).titles[1:]  # after the chart's own title
    assert len(tooltips) == INDEX_TREND_RUNS and tooltips[-1] == "2025-07-05 july-5: 5.2 s"
    assert tooltips[0] == "2025-06-06 2025-06-06_r: 5.2 s"  # the five oldest runs are only in the table
    assert len(table_rows(page)) == 1 + 35


def test_the_index_of_no_runs_and_of_partial_reports_renders():
    assert "0 runs" in render_index([])
    well_formed(render_index([{"run_id": "r", "run_date": "2025-06-02", "status": "failed", "quality": None,
                               "orphans": {"new": None}, "timings_seconds": None, "bronze": None}]))


# --- the first screen: status, reconciled rows, rejected rows, open orphans, steps, times ------------

def section_rows(page: str, anchor: str) -> list[list[str]]:
    """The rows of the first table after the element with id `anchor`."""
    start = page.index(f'id="{anchor}"')
    return table_rows(page[start:page.index("</table>", start)])


def test_the_reconciled_table_adds_up_each_source_from_bronze_to_postgresql():
    page = render_html(FULL, [], RUNS)

    well_formed(page)
    header, *rows = section_rows(page, "reconciled")
    assert header == ["source", "landed", "= clean", "+ repaired", "+ rejected", "+ duplicates", "kept", "− quarantined",
                      "+ replayed", "= loaded(inserted + updated+ unchanged)", "check"]
    by_source = {row[0]: row[1:] for row in rows}
    assert list(by_source) == ["customers unchanged", "agents", "call_logs", "sm_complaints", "web_complaints"]
    # The real day: 3,800 = 3,782 + 7 + 1 + 10; kept 3,789; 3,789 − 19 + 24 = 3,794 = 3,753 inserted + 37 updated
    # + 4 the database already held as they are.
    assert by_source["call_logs"] == ["3,800", "3,782", "7", "1", "10", "3,789", "19", "24", "3,794 (3,753 + 37 + 4)", "adds up"]
    assert by_source["web_complaints"] == ["700", "690", "6", "3", "1", "696", "3", "1", "694 (690 + 4 + 0)", "adds up"]
    assert by_source["agents"] == ["50", "50", "0", "0", "0", "50", "dimension", "3 (2 + 1 + 0)", "adds up"]
    assert by_source["customers unchanged"] == ["1,200", "dimension unchanged since it was last processed", "", "0 (0 + 0 + 0)", ""]
    assert 'class="mismatch"' not in page and "do not add up" not in page
    assert "Dimensions load only their new and changed versions" in page


def test_a_row_that_does_not_add_up_is_flagged_with_the_equation_that_fails():
    report = {**FULL, "quality": {**FULL["quality"], "call_logs": {**FULL["quality"]["call_logs"], "clean": 3781, "kept": 3788}},
              "postgres_load": {**FULL["postgres_load"], "call_logs": {"inserted": 3753, "updated": 37, "unchanged": 0}}}
    page = render_html(report, [], RUNS)

    well_formed(page)
    rows = {row[0]: row[1:] for row in section_rows(page, "reconciled")[1:]}
    assert rows["call_logs"] == ["3,800", "3,781", "7", "1", "10", "3,788", "19", "24", "3,790 (3,753 + 37 + 0)", "does not add up"]
    assert ["", "landed 3,800 ≠ 3,799 = clean + repaired + rejected + duplicates; "
                "loaded 3,790 ≠ 3,793 = kept − quarantined + replayed"] in section_rows(page, "reconciled")
    assert page.count('<tr class="mismatch">') == 2  # the numbers and the equations below them
    assert "The rows of call_logs do not add up" in page
    assert rows["web_complaints"][-1] == "adds up"


def test_a_rerun_whose_rows_were_already_loaded_says_so_instead_of_flagging_them():
    page = render_html(already_loaded(FULL, "agents", "call_logs", "sm_complaints", "web_complaints"), [], RUNS)

    well_formed(page)
    rows = {row[0]: row[1:] for row in section_rows(page, "reconciled")[1:]}
    assert rows["call_logs"] == ["3,800", "3,782", "7", "1", "10", "3,789", "19", "24", "already loaded", "adds up"]
    assert rows["agents"][-2:] == ["already loaded", "adds up"]
    assert rows["customers unchanged"][-2:] == ["0 (0 + 0 + 0)", ""]
    assert 'class="mismatch"' not in page and "do not add up" not in page
    assert "Already loaded: the database held these rows of the date from the same lake version" in page


@pytest.mark.parametrize("fields, why", [
    ({"postgres_load": None, "postgres_skipped": "no conformance database is configured (postgres.required is false)"},
     "no conformance database is configured (postgres.required is false)"),
    ({"postgres_load": None, "postgres_skipped": "", "status": "failed", "failed_stage": "conformance_postgres",
      "error": "OperationalError: connection refused"}, "the run failed at step conformance_postgres"),
])
def test_without_a_postgresql_load_each_source_says_not_loaded_and_the_page_says_why(fields, why):
    page = render_html({**FULL, **fields}, [], RUNS)

    well_formed(page)
    rows = {row[0]: row[1:] for row in section_rows(page, "reconciled")[1:]}
    assert rows["call_logs"][-2:] == ["not loaded", "adds up"]
    assert all(row[-2] == "not loaded" for row in rows.values())
    assert f"PostgreSQL: not loaded, {why}." in page


def test_rejected_rows_by_rule_and_field_are_on_the_first_screen_and_every_issue_further_down():
    page = render_html(FULL, [], RUNS)

    assert section_rows(page, "rejected") == [["entity", "rule", "field", "issues"],
                                              ["web_complaints", "invalid_uuid", "customer_id", "2"],
                                              ["call_logs", "missing", "customer_id", "1"],
                                              ["web_complaints", "missing", "agent_id", "1"]]
    everything = section_rows(page, "dq-issues")
    assert everything[0] == ["entity", "rule", "field", "outcome", "issues"]
    assert ["call_logs", "invalid_enumeration", "resolution_status", "repaired", "5"] in everything
    assert ["call_logs", "duplicate_key", "call_id", "collapsed", "10"] in everything
    assert len(everything) == 1 + 10
    assert page.index('id="rejected"') < page.index('id="dq-issues"')


def test_many_rejected_issues_show_the_most_frequent_and_link_the_rest():
    issues = {"call_logs": [{"rule": f"rule_{n}", "field": "customer_id", "outcome": "rejected", "issues": n} for n in range(1, 12)]}
    page = render_html({**FULL, "dq_issues": issues}, [], RUNS)

    rows = section_rows(page, "rejected")[1:]
    assert [row[1] for row in rows] == [f"rule_{n}" for n in range(11, 3, -1)]
    assert links(page)["#dq-issues"] == "the issues by rule, field and outcome" and "and 3 more in" in page


def test_a_run_without_rejected_rows_says_so():
    page = render_html({**FULL, "dq_issues": {"call_logs": [{"rule": "duplicate_key", "field": "call_id", "outcome": "collapsed",
                                                             "issues": 2}]}}, [], RUNS)

    assert "No row was rejected." in page


def test_expectations_passed_and_failed_per_entity_and_severity_with_each_failing_one_and_its_examples():
    page = render_html(FULL, [], RUNS)

    assert section_rows(page, "expectations") == [
        ["entity", "critical passed", "critical failed", "warning passed", "warning failed", "failing expectations"],
        ["customers", "12", "0", "23", "0", "all passed"],
        ["call_logs", "14", "0", "20", "1", "warning expect_column_values_to_be_between(agent_id): 2 unexpected, e.g. 0, null"]]
    assert page.index('id="expectations"') < page.index("Key numbers")


def test_a_long_unexpected_value_is_cut_and_personal_data_is_masked():
    assert shown_value("x" * 100_000) == "x" * 80 + "… (100,000 characters)"
    assert shown_value("jane.doe@example.com") == "j***@***.com"
    assert shown_value(None) is None and shown_value(1107) == "1107"


def test_open_orphans_by_channel_and_reason_on_the_first_screen_and_the_oldest_by_id_further_down():
    listed = [*FULL["orphans"]["open_list"], {"channel": "call_logs", "complaint_id": "mail jane.doe@example.com",
                                              "reason": "both", "first_seen_date": "2025-06-01", "age_days": 1}]
    page = render_html({**FULL, "orphans": {**FULL["orphans"], "open_list": listed}}, [], RUNS)

    well_formed(page)
    assert section_rows(page, "open-orphans") == [["channel", "open", "missing_customer", "missing_agent", "both"],
                                                  ["call_logs", "30", "20", "8", "2"],
                                                  ["sm_complaints", "1", "0", "1", "0"],
                                                  ["web_complaints", "8", "8", "0", "0"]]
    assert "by age 0-1 days: 10 · 2-7 days: 20 · 8-30 days: 9 · &gt;30 days: 0 (oldest 12 days)" in page
    assert links(page)["#open-list"] == "the oldest by id"
    assert section_rows(page, "open-list") == [["channel", "complaint id", "reason", "first seen", "age (days)"],
                                               ["call_logs", "CL-000123", "missing_customer", "2025-05-21", "12"],
                                               ["web_complaints", "WEB-9f3c", "missing_customer", "2025-05-24", "9"],
                                               ["sm_complaints", "SM-0042", "missing_agent", "2025-05-30", "3"],
                                               ["call_logs", "mail j***@***.com", "both", "2025-06-01", "1"]]
    assert "jane.doe" not in page
    assert page.index('id="open-orphans"') < page.index("<svg") < page.index('id="open-list"')


def test_an_older_report_without_issue_details_reasons_or_ids_renders_without_them():
    orphans = {k: v for k, v in FULL["orphans"].items() if k not in ("open_by_reason", "open_list")}
    report = {k: v for k, v in FULL.items() if k not in ("dq_issues", "quality_skipped")} | {"orphans": orphans}
    page = render_html(report, [], RUNS)

    well_formed(page)
    assert 'id="rejected"' not in page and 'id="dq-issues"' not in page and 'id="open-list"' not in page
    assert section_rows(page, "open-orphans")[:2] == [["channel", "open"], ["call_logs", "30"]]
    rows = {row[0]: row[1:] for row in section_rows(page, "reconciled")[1:]}
    assert rows["customers unchanged"][1] == "not checked" and rows["call_logs"][-1] == "adds up"


def status_block(page: str) -> str:
    start = page.index('<div class="status"')
    return page[start:page.index("</div>", start)]


def test_not_ready_names_each_missing_input_and_says_the_date_runs_again_later():
    bronze = [*FULL["bronze"][:3], {"source": "sm_complaints", "location": "s3://landing/social/2025-06-02.json",
                                    "status": "not_ready", "rows": None, "message": "no object at that key yet"}, FULL["bronze"][4]]
    page = render_html({**FULL, "status": "not_ready", "bronze": bronze}, [], RUNS)

    well_formed(page)
    status = status_block(page)
    assert "Not ready: 1 input not there yet" in status
    assert "the same date is run again later (a scheduler reads exit code 3 as &quot;not yet&quot;)" in status
    assert '<ul class="missing"><li>sm_complaints s3://landing/social/2025-06-02.json: no object at that key yet</li></ul>' in status
    assert "refused" not in status


def test_rejected_input_names_each_refused_input_with_its_fix_in_the_status():
    refused = {"source": "agents", "location": "agents sheet", "status": "rejected_input", "rows": 0,
               "message": "column `experience` is missing (was it renamed?); row 2 jane.doe@example.com",
               "fix": "correct the input at its source, then re-run this date"}
    page = render_html({**FULL, "status": "rejected_input", "bronze": [FULL["bronze"][0], refused, *FULL["bronze"][2:]]}, [], RUNS)

    well_formed(page)
    status = status_block(page)
    assert "Input refused: 1 input not landed for its structure; the other sources went on." in status
    assert ("<li>agents agents sheet: column `experience` is missing (was it renamed?); row 2 j***@***.com<br>"
            "To fix: correct the input at its source, then re-run this date</li>") in status
    assert "jane.doe" not in page and page.count('class="refused"') == 1


def test_failed_names_the_step_the_error_and_links_the_trace_in_the_status():
    page = render_html({**FAILED, "failed_stage": "conformance_lake", "trace_log": "2025-06-03_x.log"}, [], RUNS)

    well_formed(page)
    status = status_block(page)
    assert "<b>Failed at step conformance_lake.</b> Next: read the error and the full trace, fix the cause" in status
    assert '<pre class="error">ValueError: &lt;script&gt;' in status
    assert '<a href="2025-06-03_x.log">The full trace</a>' in status


def test_succeeded_says_there_is_nothing_to_do():
    assert "Next: nothing to do." in status_block(render_html(FULL, [], RUNS))


def test_steps_have_one_set_of_names_in_run_order_in_the_header_and_the_chart():
    page = render_html(FULL, [], RUNS)

    in_run_order = [step for step in RUN_STEPS if step in FULL["timings_seconds"]]
    header = re.search(r"<br>steps: (.*?)</p>", page).group(1)
    assert [part.rsplit(" ", 2)[0] for part in header.split(" · ")] == in_run_order
    chart = re.search(r'<svg [^>]*aria-label="Seconds per step".*?</svg>', page, flags=re.S).group()
    assert [text for text in svg_content(chart).texts if not text.endswith(" s")][1:] == in_run_order
    assert "stages" not in page.lower() and "conformance," not in page


def test_times_are_shown_to_the_second_in_utc():
    page = render_html(FULL, [], RUNS)

    assert "started 2026-11-27 03:15:00 UTC · finished 2026-11-27 03:16:28 UTC · took 1m 28s" in page
    assert "123456" not in page and "054321" not in page and "+00:00" not in page
    assert timestamp_text("2026-11-27T05:15:00.5+02:00") == "2026-11-27 03:15:00 UTC"
    assert timestamp_text("2026-11-27T03:15:00") == "2026-11-27 03:15:00"
    assert timestamp_text("soon") == "soon" and timestamp_text(None) == ""
