"""Bronze on generated data: every source and day lands exactly the generator's row counts."""
import datetime as dt
from pathlib import Path

import pytest

from coretelecoms import pipeline
from coretelecoms.bronze.ingest import INGESTED, NOT_READY, REPLACED, UNCHANGED
from coretelecoms.sources.generator import GeneratorConfig, generate, publish
from tests.conftest import make_settings

START = dt.date(2025, 3, 1)


@pytest.fixture(scope="module")
def generated(tmp_path_factory, source_dsn):
    root = tmp_path_factory.mktemp("bronze_truth")
    settings = make_settings(root, source_dsn)
    truth = generate(GeneratorConfig(start_date=START, days=3, scale=0.002, seed=11), root / "landing", source_dsn,
                     progress=lambda _: None)
    return settings, truth


def run_all_days(spark, settings, truth):
    results = []
    for day in truth["dates"]:
        publish(Path(settings.landing), dt.date.fromisoformat(day))
        results.append(pipeline.run(settings, dt.date.fromisoformat(day), spark=spark, progress=lambda _: None))
    return results


def expected_rows(truth, source, day):
    if source == "agents":
        return truth["counts"]["agents"]
    if source == "customers":
        return truth["counts"]["customers"][max(v for v in truth["counts"]["customers"] if v <= day)]
    return truth["counts"][source][day]


def test_bronze_counts_equal_ground_truth_and_rerun_is_idempotent(spark, generated):
    settings, truth = generated
    first = run_all_days(spark, settings, truth)
    missing = {(m["source"], m["date"]) for m in truth["missing_inputs"]}
    assert len(missing) == 1
    for result in first:
        day = result.run_date.isoformat()
        for outcome in result.bronze:
            if (outcome.source, day) in missing:
                assert outcome.status == NOT_READY
                assert result.status == "not_ready" and result.exit_code == 3
            else:
                assert outcome.status in (INGESTED, REPLACED, UNCHANGED), outcome
                assert outcome.rows == expected_rows(truth, outcome.source, day), (outcome.source, day)
    versions = {v["date"] for v in truth["customer_versions"]}
    customer_statuses = [(r.run_date.isoformat(), next(o for o in r.bronze if o.source == "customers").status) for r in first]
    assert customer_statuses[0][1] == INGESTED
    assert all((status == REPLACED) == (day in versions) for day, status in customer_statuses[1:])

    # Re-running the last date (its customers file published again) changes nothing.
    last = dt.date.fromisoformat(truth["dates"][-1])
    again = pipeline.run(settings, last, spark=spark, progress=lambda _: None)
    for outcome in again.bronze:
        missing_now = (outcome.source, last.isoformat()) in missing
        assert outcome.status == (NOT_READY if missing_now else UNCHANGED), outcome
