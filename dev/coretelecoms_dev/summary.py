"""The demo's terminal summaries of its runs, the bronze counts against the generator's ground truth."""
from __future__ import annotations

from coretelecoms.explore import most_complaining_customer
from coretelecoms.platform import delta, lake
from coretelecoms.platform.tables import COMPLAINT_FEATURES, ENTITIES, channels
from coretelecoms.reporting.features import features_text, rows_from_lake


def bronze_summary(settings, results, truth: dict | None = None) -> str:
    """Per-source, per-day bronze rows and status; with ground truth, whether each count matches."""
    lines = [f"{'date':<12}{'source':<16}{'status':<11}{'rows':>10}{'expected':>10}  check"]
    mismatches = 0
    for result in results:
        by_source = {outcome.source: outcome for outcome in result.bronze}
        for source in ENTITIES:
            outcome = by_source.get(source)
            if outcome is None:
                continue
            expected = expected_rows(truth, source, result.run_date.isoformat()) if truth else None
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


def expected_rows(truth: dict, source: str, day: str) -> int | None:
    """Rows the generator wrote for a source's input read on `day` (the customers file current then)."""
    counts = truth["counts"]
    if source == "agents":
        return counts["agents"]
    if source == "customers":
        current = [version for version in sorted(counts["customers"]) if version <= day]
        return counts["customers"][current[-1]] if current else None
    return counts[source].get(day)


def quality_summary(results) -> str:
    """Per entity and day: rows in, kept clean, kept with repairs, rejected by reason, duplicates."""
    lines = [f"{'date':<12}{'entity':<16}{'in':>9}{'clean':>9}{'repaired':>10}{'rejected':>10}{'duplicates':>12}  rejected by reason"]
    for result in results:
        for entity, counts in result.quality.items():
            reasons = ", ".join(f"{reason} {rows:,}" for reason, rows in counts.rejected.items()) or "-"
            lines.append(
                f"{result.run_date.isoformat():<12}{entity:<16}{counts.rows_in:>9,}{counts.clean:>9,}{counts.repaired:>10,}"
                f"{counts.rejected_total:>10,}{counts.collapsed:>12,}  {reasons}"
            )
        for entity, why in result.quality_skipped.items():
            lines.append(f"{result.run_date.isoformat():<12}{entity:<16}{'':>9}  skipped: {why}")
    docs = next((r.data_docs for r in reversed(results) if r.data_docs), "")
    if docs:
        lines.append("")
        lines.append(f"Data Docs: {docs}")
    return "\n".join(lines)


def conformance_summary(results) -> str:
    """Per day, complaints across the three channels as PostgreSQL received them."""
    lines = [f"{'date':<12}{'loaded':>9}{'updated':>9}{'orphaned':>10}{'replayed':>10}{'rejected':>10}{'transitions':>13}"
             f"{'customers +/~':>15}"]
    for result in results:
        conformance = result.conformance
        if conformance is None or conformance.load is None:
            lines.append(f"{result.run_date.isoformat():<12}  not loaded ({result.status})")
            continue
        load = conformance.load.as_dict()
        facts = [load.get(channel, {"inserted": 0, "updated": 0}) for channel in channels()]
        history = load.get("complaint_status_history", {"inserted": 0})
        customers = load.get("customers", {"inserted": 0, "updated": 0})
        rejected = sum(result.quality[c].rejected_total for c in channels() if c in result.quality)
        lines.append(
            f"{result.run_date.isoformat():<12}{sum(f['inserted'] for f in facts):>9,}{sum(f['updated'] for f in facts):>9,}"
            f"{sum(conformance.orphaned.values()):>10,}{sum(conformance.replayed.values()):>10,}{rejected:>10,}"
            f"{history['inserted']:>13,}{customers['inserted']:>8,}/{customers['updated']:<6,}"
        )
    return "\n".join(lines)


def gold_summary(results) -> str:
    """Per day, the lifecycle rows changed and the status transitions the run saw."""
    lines = [f"{'date':<12}{'lifecycle':>10}{'complaints':>12}{'features':>10}  transitions"]
    for result in results:
        if result.gold is None:
            lines.append(f"{result.run_date.isoformat():<12}  not built ({result.status})")
            continue
        moves = sorted(result.gold.transitions.items(), key=lambda item: -item[1])
        shown = ", ".join(f"{name} {count:,}" for name, count in moves[:4]) or "-"
        lines.append(f"{result.run_date.isoformat():<12}{result.gold.lifecycle_changed:>10,}"
                     f"{result.gold.complaints_changed:>12,}{result.gold.features_changed:>10,}  {shown}")
    return "\n".join(lines)


def features_sample(spark, settings, months: int = 3) -> str | None:
    """The last `months` months of the customer with the most complaints, as `coretelecoms features` prints them."""
    location = lake.gold(settings, COMPLAINT_FEATURES)
    if not delta.exists(spark, location):
        return None
    customer = most_complaining_customer(delta.snapshot(spark, location))
    rows = rows_from_lake(spark, location, customer)[-months:]
    return (f"{features_text(customer, rows)}\n"
            f"all of its months: .venv/bin/coretelecoms features {customer}")


def most_travelled_complaint(truth: dict) -> str | None:
    """The generated complaint that went through the most distinct statuses (a good lifecycle example)."""
    statuses: dict[str, set[str]] = {}
    for seen in truth.get("transitions", []):
        statuses.setdefault(seen["id"], set()).add(seen["status"])
    return max(sorted(statuses), key=lambda complaint: len(statuses[complaint]), default=None)
