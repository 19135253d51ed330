"""Run pages written into a runs folder: each links its neighbours, an earlier page gains its "next" link,
the folder's index lists every run, and a browser sees the index's rows and follows its links.

No Spark: the pages are written from report dictionaries, as `report_run` does after a run.
"""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

from coretelecoms.reporting.html import render_html, render_index
from coretelecoms.reporting.run_report import load_reports, write_index, write_pages
from tests.conftest import PROJECT_ROOT
from tests.reporting.test_html import FAILED, FULL, already_loaded, links, run_of, table_rows

SCREENSHOTS = PROJECT_ROOT / "var" / "test" / "screenshots"  # kept for people to look at after the suite


def run(run_id: str, run_date: str, started_at: str) -> dict:
    return {"run_id": run_id, "run_date": run_date, "started_at": started_at, "status": "succeeded"}


def hrefs(page: Path) -> set[str]:
    return set(links(page.read_text()))


def test_each_run_page_links_its_neighbours_and_the_previous_page_gains_its_next_link(tmp_path):
    first, second = run("r1", "2025-06-01", "2026-11-26T03:00:00"), run("r2", "2025-06-02", "2026-11-27T03:00:00")

    assert write_pages(str(tmp_path), first) == str(tmp_path / "2025-06-01" / "r1.html")
    assert hrefs(tmp_path / "2025-06-01" / "r1.html") == {"../index.html", "r1.json"}

    write_pages(str(tmp_path), second)
    assert hrefs(tmp_path / "2025-06-02" / "r2.html") == {"../index.html", "r2.json", "../2025-06-01/r1.html"}
    assert hrefs(tmp_path / "2025-06-01" / "r1.html") == {"../index.html", "r1.json", "../2025-06-02/r2.html"}


def test_a_run_written_between_two_others_relinks_both(tmp_path):
    for report in (run("r1", "2025-06-01", "2026-11-26"), run("r3", "2025-06-03", "2026-11-28"),
                   run("r2", "2025-06-02", "2026-11-29")):  # a backfill of 06-02 after 06-03
        write_pages(str(tmp_path), report)

    assert "../2025-06-02/r2.html" in hrefs(tmp_path / "2025-06-01" / "r1.html")
    assert "../2025-06-02/r2.html" in hrefs(tmp_path / "2025-06-03" / "r3.html")
    assert {"../2025-06-01/r1.html", "../2025-06-03/r3.html"} <= hrefs(tmp_path / "2025-06-02" / "r2.html")


def test_every_page_written_rebuilds_the_folder_s_index(tmp_path):
    write_pages(str(tmp_path), run_of(1))
    assert set(links((tmp_path / "index.html").read_text())) == {"2025-06-01/2025-06-01_r.html"}

    write_pages(str(tmp_path), run_of(2))
    assert set(links((tmp_path / "index.html").read_text())) == {"2025-06-01/2025-06-01_r.html", "2025-06-02/2025-06-02_r.html"}


def test_write_index_from_the_reports_already_in_a_folder(tmp_path):
    for day in (1, 2):
        write_pages(str(tmp_path), run_of(day))
    (tmp_path / "index.html").unlink()

    assert write_index(str(tmp_path), load_reports(str(tmp_path))) == str(tmp_path / "index.html")
    assert len(table_rows((tmp_path / "index.html").read_text())) == 1 + 2


def test_a_browser_sees_every_run_in_the_index_and_every_link_leads_to_a_page(tmp_path):
    runs = tmp_path / "runs"
    failed = {**FAILED, "run_id": "2025-06-03_f", "started_at": "2025-06-03T04:00:00+00:00"}
    for report in (run_of(1, data_docs=None, validations={}), run_of(2, data_docs=None, validations={}), failed):
        write_pages(str(runs), report)  # no Data Docs: each link leads to a page of this folder

    dom = chromium(tmp_path, "--dump-dom", (runs / "index.html").as_uri())
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    chromium(tmp_path, f"--screenshot={SCREENSHOTS / 'runs-index.png'}", (runs / "index.html").as_uri())

    header, *rows = table_rows(dom)
    assert [row[:3] for row in rows] == [["2025-06-03", "2025-06-03_f", "failed"],
                                         ["2025-06-02", "2025-06-02_r", "succeeded"],
                                         ["2025-06-01", "2025-06-01_r", "succeeded"]]
    assert rows[0][header.index("rejected")] == rows[0][header.index("quarantine rate")] == "–"
    assert dom.count("<svg") >= 3
    for href in links(dom):
        page = runs / href
        assert page.is_file(), href
        for neighbour in links(page.read_text()):  # from each run page: the index, its neighbours, its JSON
            if neighbour.startswith("#"):  # within the page: to a section further down
                assert f'id="{neighbour[1:]}"' in page.read_text(), f"{href} -> {neighbour}"
            else:
                assert (page.parent / neighbour).is_file(), f"{href} -> {neighbour}"


def chromium(tmp_path: Path, *arguments: str) -> str:
    return subprocess.run(
        ["chromium", "--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={tmp_path / 'profile'}",
         "--window-size=1200,900", *arguments],
        capture_output=True, text=True, timeout=120, check=True,
    ).stdout


def test_a_browser_shows_the_status_the_reconciled_rows_the_rejected_rows_and_the_open_orphans_before_anything_else(tmp_path):
    page = tmp_path / "run.html"
    page.write_text(render_html(FULL, [], str(tmp_path)))

    dom = chromium(tmp_path, "--dump-dom", page.as_uri())
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    chromium(tmp_path, f"--screenshot={SCREENSHOTS / 'run-first-screen.png'}", page.as_uri())

    assert (SCREENSHOTS / "run-first-screen.png").stat().st_size > 10_000  # the picture is for people; the checks are on the DOM
    assert ["call_logs", "3,800", "3,782", "7", "1", "10", "3,789", "19", "24", "3,794 (3,753 + 37 + 4)", "adds up"] in table_rows(dom)
    assert ["web_complaints", "invalid_uuid", "customer_id", "2"] in table_rows(dom)
    assert ["call_logs", "30", "20", "8", "2"] in table_rows(dom)  # open orphans: missing customer, agent, both
    assert "Succeeded: every input arrived and none was refused.</b> Next: nothing to do." in dom
    # Without JavaScript the page cannot report where things are drawn; what puts these on the first screen
    # of a 1200×900 window is their order: nothing but the navigation, the title and the status comes
    # before them, and the key numbers, charts and detail tables all come after.
    order = [dom.index(mark) for mark in ('class="status"', 'id="reconciled"', 'id="rejected"', 'id="open-orphans"',
                                           'id="expectations"', "<h2>Key numbers</h2>", "<h2>Charts</h2>", "<svg", 'id="dq-issues"', 'id="open-list"')]
    assert order == sorted(order)
    assert dom.count("<h2") - dom[dom.index("<h2>Key numbers</h2>"):].count("<h2") == 4  # the first screen's four tables


# Measures the page as the browser laid it out (the test's copy only: the pages themselves carry no script).
LAYOUT_PROBE = """<script>
const overflowing = [];
let labels = 0;
for (const svg of document.querySelectorAll("svg")) {
  const frame = svg.getBoundingClientRect();
  for (const text of svg.querySelectorAll("text")) {
    labels += 1;
    const box = text.getBoundingClientRect();
    if (box.left < frame.left - 0.5 || box.right > frame.right + 0.5) overflowing.push(text.textContent);
  }
}
document.body.dataset.labels = labels;
document.body.dataset.overflowing = JSON.stringify(overflowing);
document.body.dataset.pageWider = document.documentElement.scrollWidth > window.innerWidth;
</script>"""


def laid_out(tmp_path: Path, html: str) -> dict[str, str]:
    page = tmp_path / "probed.html"
    page.write_text(html.replace("</body>", LAYOUT_PROBE + "</body>"))
    body = re.search(r"<body([^>]*)>", chromium(tmp_path, "--dump-dom", page.as_uri())).group(1)
    return dict(re.findall(r'data-([\w-]+)="([^"]*)"', body))


def test_no_chart_label_overflows_its_chart_nor_the_page_in_a_browser(tmp_path):
    long_rules = {"customers": {"unparseable_date_of_birth_in_a_long_rule_name": 25_038, "missing": 3},
                  "sm_complaints": {"invalid_enumeration": 95}}
    earlier = [run_of(day) for day in range(1, 6)]
    for html in (render_html({**run_of(6), "dq_rules": long_rules}, earlier, str(tmp_path)), render_index([*earlier, run_of(6)])):
        layout = laid_out(tmp_path, html)
        assert int(layout["labels"]) > 10
        assert layout["overflowing"] == "[]", layout["overflowing"]
        assert layout["page-wider"] == "false"


def test_a_rerun_whose_rows_were_already_loaded_fits_the_window_in_a_browser(tmp_path):
    rerun = already_loaded(FULL, "agents", "call_logs", "sm_complaints", "web_complaints")
    assert laid_out(tmp_path, render_html(rerun, [], str(tmp_path)))["page-wider"] == "false"
