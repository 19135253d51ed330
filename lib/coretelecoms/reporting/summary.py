"""Short, readable summaries of runs for the terminal."""
from __future__ import annotations

from coretelecoms.sources.catalog import SOURCES


def bronze_summary(settings, results, truth: dict | None = None) -> str:
    """Per-source, per-day bronze rows and status; with ground truth, whether each count matches."""
    lines = [f"{'date':<12}{'source':<16}{'status':<11}{'rows':>10}{'expected':>10}  check"]
    mismatches = 0
    for result in results:
        by_source = {outcome.source: outcome for outcome in result.bronze}
        for source in SOURCES:
            outcome = by_source.get(source)
            if outcome is None:
                continue
            expected = _expected_rows(truth, source, result.run_date.isoformat()) if truth else None
            rows = outcome.rows
            if expected is None and outcome.status == "not_ready":
                check, rows_text = "not ready (expected)", "-"
            else:
                ok = rows == expected
                mismatches += 0 if ok or expected is None else 1
                check = "ok" if ok else ("" if expected is None else "MISMATCH")
                rows_text = "-" if rows is None else f"{rows:,}"
            expected_text = "" if expected is None else f"{expected:,}"
            lines.append(f"{result.run_date.isoformat():<12}{source:<16}{outcome.status:<11}{rows_text:>10}{expected_text:>10}  {check}")
    lines.append("")
    lines.append(f"runs: {', '.join(f'{r.run_date} {r.status}' for r in results)}")
    if truth is not None:
        lines.append("bronze row counts match the generator's ground truth" if not mismatches else f"{mismatches} count(s) differ from the ground truth")
    lines.append(f"lake: {settings.lake}   run reports: {settings.runs}   landing: {settings.landing}")
    return "\n".join(lines)


def _expected_rows(truth: dict, source: str, day: str) -> int | None:
    counts = truth["counts"]
    if source == "agents":
        return counts["agents"]
    if source == "customers":
        current = [version for version in sorted(counts["customers"]) if version <= day]
        return counts["customers"][current[-1]] if current else None
    return counts[source].get(day)
