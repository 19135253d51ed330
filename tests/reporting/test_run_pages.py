"""Run pages written into a runs folder: each links its neighbours, an earlier page gains its "next" link.

No Spark: the pages are written from report dictionaries, as `write_report` does after a run.
"""
from __future__ import annotations

import re
from pathlib import Path

from coretelecoms.reporting.run_report import write_pages


def run(run_id: str, run_date: str, started_at: str) -> dict:
    return {"run_id": run_id, "run_date": run_date, "started_at": started_at, "status": "succeeded"}


def hrefs(page: Path) -> set[str]:
    return set(re.findall(r'<a href="([^"]+)"', page.read_text()))


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
