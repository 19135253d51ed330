"""The lake stands on its own: with no conformance database configured (and `postgres.required: false`),
`--stage silver` builds every silver table and `--stage gold` the gold ones, and the load is skipped
with a reason."""
from __future__ import annotations

import datetime as dt

from coretelecoms import pipeline
from coretelecoms.platform import delta, lake
from coretelecoms.platform.tables import (
    COMPLAINT_LIFECYCLE,
    DQ_ISSUES,
    ORPHANED_COMPLAINTS,
    STATUS_HISTORY,
    UNIFIED_COMPLAINTS,
    ENTITIES,
)
from coretelecoms_dev.generator import GeneratorConfig, generate, publish
from tests.conftest import make_settings

DAY = dt.date(2025, 10, 1)  # no other test generates this date into the shared source database


def test_silver_then_gold_build_the_lake_without_a_database(tmp_path, spark, source_dsn):
    settings = make_settings(tmp_path, source_dsn, **{"postgres.required": "false", "postgres.embedded_dir": ""})
    assert not settings.has_conformance_database
    generate(GeneratorConfig(start_date=DAY, days=1, scale=0.001, seed=5), tmp_path / "landing", source_dsn,
             progress=lambda _: None)
    publish(tmp_path / "landing", DAY)
    said = []

    silver = pipeline.run(settings, DAY, stages=pipeline.stages_up_to("silver"), spark=spark, progress=said.append)
    assert silver.status == "succeeded" and silver.postgres_skipped == ""
    for table in (*ENTITIES, STATUS_HISTORY, ORPHANED_COMPLAINTS, DQ_ISSUES):
        assert delta.exists(spark, lake.silver(settings, table)), table
    assert delta.snapshot(spark, lake.silver(settings, "call_logs")).count() == silver.conformance.changed["call_logs"] > 0
    assert not delta.exists(spark, lake.gold(settings, COMPLAINT_LIFECYCLE))

    gold = pipeline.run(settings, DAY, stages=pipeline.stages_up_to("gold"), spark=spark, progress=said.append)
    assert gold.status == "succeeded" and gold.conformance.load is None
    assert "no conformance database is configured" in gold.postgres_skipped
    assert any(line.startswith("postgres: the load is skipped") for line in said)
    lifecycle = delta.snapshot(spark, lake.gold(settings, COMPLAINT_LIFECYCLE))
    history = delta.snapshot(spark, lake.silver(settings, STATUS_HISTORY))
    assert lifecycle.count() == history.select("channel", "complaint_id").distinct().count() > 0
    assert delta.exists(spark, lake.gold(settings, UNIFIED_COMPLAINTS))
