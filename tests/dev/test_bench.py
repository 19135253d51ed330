"""The bench machinery at a tiny scale: every run, stage and floor measured, the ratios computed.

No timing asserts: what the numbers are is the benchmark's to report (`make bench`), not a test's.
"""
from __future__ import annotations

import dataclasses
import json

import psycopg2
import pytest
from psycopg2 import errors

from coretelecoms_dev import bench
from coretelecoms.conformance.database import apply_migrations
from coretelecoms.conformance.load import merged_tables
from coretelecoms.platform.postgres import create_database, drop_database
from coretelecoms.platform.settings import load_settings
from tests.conftest import PROJECT_ROOT

PIPELINE_STAGES = {"bronze", "silver", "conformance_lake", "gold", "features", "conformance_postgres", "data_docs"}


@pytest.fixture(scope="module")
def volume_report(tmp_path_factory, spark, embedded_pg):
    base = load_settings(env="test", conf_dir=PROJECT_ROOT / "conf")
    place = bench.BenchPlace(tmp_path_factory.mktemp("bench"), database="coretelecoms_test_bench")
    lines = []
    report = bench.run_bench(base, "volume", scale=0.001, place=place, progress=lines.append)
    return base, place, report, lines


def test_the_three_runs_are_measured_stage_by_stage(volume_report):
    _, _, report, _ = volume_report
    runs = report["volume"]["runs"]
    assert [(run["scope"], run["run_date"]) for run in runs] == [
        ("dimensions", "2025-09-01"), ("complaints", "2025-09-01"), ("all", "2025-09-02")]
    for run in runs:
        assert PIPELINE_STAGES | {bench.GREAT_EXPECTATIONS, bench.OTHER} == set(run["stages"])
        assert run["stages"][bench.GREAT_EXPECTATIONS]["part_of"] == "silver"
        assert sum(stage["seconds"] for name, stage in run["stages"].items()
                   if name != bench.GREAT_EXPECTATIONS) == pytest.approx(run["seconds"], abs=0.1)
        assert set(run["memory"]) == {"jvm_heap_peak_mb", "jvm_heap_after_gc_peak_mb", "jvm_heap_max_mb", "jvm_rss_peak_mb",
                                      "python_rss_peak_mb"}
        assert all(megabytes > 0 for megabytes in run["memory"].values())
        cost = run["fixed_cost"]
        assert set(cost) == {"spark_jobs", "spark_stages", "delta_commits", "persisted_frames", "planned_actions",
                             "planning_seconds"}
        assert cost["spark_stages"] >= cost["spark_jobs"] > 0 and cost["planned_actions"] > 0
        assert cost["delta_commits"] > 0 and cost["persisted_frames"] > 0 and cost["planning_seconds"] > 0


def test_delta_commits_are_counted_from_the_lake_s_logs(spark, tmp_path):
    """Three commits to two tables, counted independently of how they were made."""
    with bench.FixedCost(spark, str(tmp_path)) as cost:
        spark.range(3).write.format("delta").save(str(tmp_path / "a"))
        spark.range(3).write.format("delta").mode("append").save(str(tmp_path / "a"))
        spark.range(3).cache().write.format("delta").save(str(tmp_path / "b"))
    assert cost.counts["delta_commits"] == 3 and cost.counts["persisted_frames"] == 1
    assert cost.counts["spark_jobs"] >= 3 and cost.counts["planned_actions"] >= 3  # Delta plans actions of its own
    listeners = spark._jsparkSession.listenerManager().listListeners()
    assert not any("Proxy" in listener.getClass().getName() for listener in listeners)  # unregistered again


def test_each_run_has_a_floor_of_the_inputs_it_read_and_a_ratio_to_it(volume_report):
    _, _, report, _ = volume_report
    runs = {run["scope"]: run for run in report["volume"]["runs"]}
    assert set(runs["dimensions"]["floor"]["inputs"]) == {"customers", "agents"}
    assert set(runs["complaints"]["floor"]["inputs"]) == {"call_logs", "sm_complaints", "web_complaints"}
    # Day 2: the agents did not change (not read again); the upstream published a newer customers file.
    assert set(runs["all"]["floor"]["inputs"]) == {"customers", "call_logs", "sm_complaints", "web_complaints"}
    for run in runs.values():
        for source, floor in run["floor"]["inputs"].items():
            assert floor["rows"] == run["bronze"][source]["rows"]  # the COPY landed every row the run read
        assert run["rows"] == sum(floor["rows"] for floor in run["floor"]["inputs"].values())
        assert run["ratio_to_floor"] == pytest.approx(run["seconds"] / run["floor"]["seconds"], rel=0.01)  # rounded


def test_the_constrained_floor_copies_the_rows_each_run_loaded(volume_report, embedded_pg):
    """Reconciled with what the load itself counted (its upserts' RETURNING, in pipeline_runs)."""
    _, place, report, _ = volume_report
    with psycopg2.connect(embedded_pg.url(place.database)) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT run_id, stage_counts -> 'conformance_load' FROM pipeline_runs")
        loaded = dict(cursor.fetchall())
    merged = {table.name for table in merged_tables()}
    for run in report["volume"]["runs"]:
        copied = run["floor"]["constrained_copy"]["tables"]
        expected = {table: counts["inserted"] + counts["updated"] for table, counts in loaded[run["run_id"]].items()
                    if table in merged and counts["inserted"] + counts["updated"]}
        assert {table: rows for table, rows in copied.items() if table in merged} == expected
        assert copied["pipeline_runs"] == 1
    assert set(loaded) == {run["run_id"] for run in report["volume"]["runs"]}
    assert {"customers", "agents"} <= set(report["volume"]["runs"][0]["floor"]["constrained_copy"]["tables"])
    assert {"call_logs", "complaint_lifecycle"} <= set(report["volume"]["runs"][1]["floor"]["constrained_copy"]["tables"])


@pytest.fixture
def migrated_dsn(embedded_pg):
    create_database(embedded_pg.url("postgres"), "coretelecoms_test_constrained_floor", drop_first=True)
    dsn = embedded_pg.url("coretelecoms_test_constrained_floor")
    apply_migrations(dsn)
    yield dsn
    drop_database(embedded_pg.url("postgres"), "coretelecoms_test_constrained_floor")


def _constraints_and_indexes(cursor, schema: str, tables: set[str]) -> set[tuple[str, str]]:
    """Every constraint and index definition of `tables` in `schema`, printed as seen from that schema."""
    cursor.execute(f"SET search_path TO {schema}")
    cursor.execute("SELECT c.relname, pg_get_constraintdef(con.oid) FROM pg_constraint con"
                   " JOIN pg_class c ON c.oid = con.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace"
                   " WHERE n.nspname = %s AND c.relname = ANY(%s)", (schema, list(tables)))
    constraints = set(cursor.fetchall())
    cursor.execute("SELECT tablename, regexp_replace(indexdef, '^CREATE (UNIQUE )?INDEX \\S+ ON \\S+', '') FROM pg_indexes"
                   " WHERE schemaname = %s AND tablename = ANY(%s)", (schema, list(tables)))
    return constraints | set(cursor.fetchall())


def test_the_constrained_floor_s_tables_enforce_the_conformance_constraints(migrated_dsn):
    with psycopg2.connect(migrated_dsn) as connection, connection.cursor() as cursor:
        bench.create_constrained_copy(cursor, ["call_logs", "complaint_lifecycle"], bench.foreign_keys(cursor))
        copied = {"call_logs", "complaint_lifecycle", "customers", "agents"}  # the parents come along
        original = _constraints_and_indexes(cursor, "public", copied)
        assert len(original) > 20 and any("REFERENCES customers(customer_id)" in d for _, d in original)
        assert _constraints_and_indexes(cursor, bench.CONSTRAINED_SCHEMA, copied) == original
        cursor.execute("SET search_path TO public")
        cursor.execute("INSERT INTO bench_constrained.agents (agent_id, row_hash, valid_from, updated_run)"
                       " VALUES (1, 'h', '2025-09-01', 'r')")
        call = ("INSERT INTO bench_constrained.call_logs (call_id, customer_id, agent_id, complaint_category, row_hash,"
                " first_seen_date, last_changed_date, updated_run) VALUES ('c', 'no such customer', 1, %s, 'h',"
                " '2025-09-01', '2025-09-01', 'r')")
        cursor.execute("SAVEPOINT before")
        with pytest.raises(errors.ForeignKeyViolation, match="call_logs_customer_fk"):
            cursor.execute(call, ("Payments",))
        cursor.execute("ROLLBACK TO SAVEPOINT before")
        with pytest.raises(errors.CheckViolation, match="call_logs_category_check"):
            cursor.execute(call, ("Cooking",))


def test_the_report_is_written_and_printed(volume_report):
    _, place, report, lines = volume_report
    assert json.loads((place.root / "latest.json").read_text()) == json.loads(json.dumps(report, default=str))
    assert len(list(place.root.glob("bench-*.json"))) == 1
    table = lines[-2]
    for run in report["volume"]["runs"]:
        assert run["name"] in table
    assert table.count("ratio to floor") == 3 and table.count("fixed cost: ") == 3
    assert table.count("floor: COPY with constraints") == 3 and table.count("floor: COPY without (reference)") == 3
    # At scale 0.001 only the targets that hold whatever the scale apply: memory and Great Expectations' share.
    assert [target["target"] for target in report["targets"]] == [
        "driver JVM resident set, peak of every run", "Great Expectations, largest share of a run"]
    for target in report["targets"]:
        assert f"{target['goal']:>12}{target['measured']:>12}" in table


def test_targets_hold_each_run_to_its_goal():
    def run(name, scope, seconds, ratio):
        return {"name": name, "scope": scope, "seconds": seconds, "ratio_to_floor": ratio,
                "memory": {"jvm_rss_peak_mb": 3000}, "stages": {bench.GREAT_EXPECTATIONS: {"share": 0.1}}}

    report = {"volume": {"scale": 1.0, "runs": [run("daily complaints", "complaints", 90.0, 2.5),
                                                run("next day", "all", 200.0, 4.2)]},
              "small_volume": {"scale": 0.01, "runs": [run("daily complaints", "complaints", 21.0, 9.0)]}}
    assert [(t["target"], t["measured"], t["met"]) for t in bench.targets(report)] == [
        ("daily complaints, scale 1: ratio to floor", "2.5x", True),
        ("next day, scale 1: ratio to floor", "4.2x", False),
        ("daily complaints, scale 0.01: seconds", "21.0", False),
        ("driver JVM resident set, peak of every run", "3,000 MB", True),
        ("Great Expectations, largest share of a run", "10%", True),
    ]


def test_generated_inputs_are_reused(volume_report):
    base, place, _, _ = volume_report
    settings = bench.fresh_state(base, place, 0.001)
    lines = []
    bench.ensure_inputs(settings, bench.generator_config(0.001), progress=lines.append)
    assert lines == [f"reusing the inputs generated in {settings.landing}"]


def test_great_expectations_is_shown_inside_silver_and_the_rest_of_the_run_as_other():
    """As pipeline.run's `timing` reports them: each stage, and each validation under its own name."""
    spent = {"bronze": 2.0, "silver": 5.0, bench.GREAT_EXPECTATIONS: 1.5}
    stages = bench._stages(spent, rows=1_000, seconds=10.0)
    assert stages[bench.GREAT_EXPECTATIONS] == {"seconds": 1.5, "rows_per_second": 667, "share": 0.15, "part_of": "silver"}
    assert stages[bench.OTHER]["seconds"] == 3.0  # not counting Great Expectations twice
    assert stages["silver"]["share"] == 0.5


def test_micro_compares_each_cleaner_three_ways(tmp_path, spark):
    report = bench.micro(spark, tmp_path, values=2_000, progress=lambda _: None)
    assert report["checked_on"] == 2_000
    assert set(report["cleaners"]) == {case.name for case in bench.MICRO_CASES}
    for result in report["cleaners"].values():
        assert all(result[variant]["values_per_second"] > 0 for variant in bench.VARIANTS)
        for variant in ("pandas_udf", "python_udf"):
            expected = round(result[variant]["seconds"] / result["native"]["seconds"], 2)
            assert result[f"{variant}_to_native"] == pytest.approx(expected, rel=0.05)  # from unrounded seconds


def test_micro_refuses_to_time_implementations_that_disagree(spark):
    sample = spark.createDataFrame(bench.micro_values(500))
    not_cleaning = dataclasses.replace(bench.MICRO_CASES[0], python=lambda value: value)
    with pytest.raises(AssertionError, match="emails: the implementations disagree"):
        bench.require_same_results(sample, not_cleaning, bench.implementations_of(not_cleaning))
