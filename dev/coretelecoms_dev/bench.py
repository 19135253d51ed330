"""Benchmarks, measured side by side in one process (never timing asserts in tests).

`coretelecoms-dev bench` (`make bench`) runs both parts below and writes the measurements to
var/bench/bench-<timestamp>.json and var/bench/latest.json, then prints them as a table.

volume (`bench volume`): two generated days at `--scale` (1 = SPEC §2's real volumes: 2.5M
customers, 100 agents, about 380k calls, 70k web forms and 9.5k social-media complaints a day),
generated once into var/bench/scale-<s>/ and reused (the generator is deterministic per seed). On a
fresh lake and a fresh conformance database, three runs end to end, each through `pipeline.run`:
  1. the initial dimension load (day 1, scope `dimensions`);
  2. one daily complaint run (day 1, scope `complaints`);
  3. the next day on top of them (day 2, scope `all`, after `publish` as the demo does: the steady
     state, with whatever customers version the upstream published that day).
Each run is followed by its floor: the same inputs read by the project's readers and written to
Parquet with no transformation, plus a COPY of the rows the run wrote into the conformance database
into tables with the same primary keys, foreign keys, CHECK constraints and indexes, their parent
rows present (the constrained floor: the least any correct load into that database pays). A plain
COPY of the input rows into tables without keys stays beside it as a reference. Per run: each
stage's seconds (from `pipeline.run`'s `timing` callback; Great Expectations inside silver), rows per
second and share of the run, the ratio to the floor, the fixed cost (Spark jobs and stages, Delta
commits, persisted frames, planning), and peak memory (driver JVM heap and RSS, this Python
process's RSS). The table ends with the targets the runs are held to.

micro (`bench micro`): the main cleaners of quality/cleaning.py on generated dirty values, as the
native Spark expression, an equivalent vectorised `pandas_udf` and a plain Python `udf`, each
drained with the `noop` writer (best of MICRO_REPEATS). The pandas and Python versions live here only: they exist to justify
the native choice, and must give the native results on a sample before anything is timed.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import graphlib
import json
import os
import platform
import re
import shutil
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import psycopg2
from psycopg2 import sql
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from coretelecoms import pipeline
from coretelecoms.bronze.ingest import INGESTED, REPLACED
from coretelecoms.platform.postgres import create_database, embedded_server
from coretelecoms.platform.settings import Settings, load_settings
from coretelecoms.platform.spark import spark_session
from coretelecoms.quality import cleaning
from coretelecoms.reporting.outcome import SUCCEEDED
from coretelecoms.sources.catalog import WEB_FORMS_SCHEMA, SourceInput, complaint_inputs, dimension_inputs, web_forms_table
from coretelecoms.sources.readers import probe_input, read_input
from coretelecoms_dev.generator import (
    BAD_TIMESTAMPS,
    EMAIL_DOMAINS,
    EMAIL_SEPARATORS,
    FIRST_LOWER,
    FIRST_NAMES,
    GROUND_TRUTH_KEY,
    LAST_LOWER,
    SURNAMES,
    GeneratorConfig,
    Hazards,
    generate,
    publish,
)

PARTS = ("all", "volume", "micro")
BENCH_START = dt.date(2025, 9, 1)
SMALL_SCALE = 0.01
BENCH_SEED = 1
GREAT_EXPECTATIONS = "great_expectations"  # what pipeline.run's `timing` calls each validation, inside silver
OTHER = "other"  # the run's time outside its stages: migrations, run report
FLOOR_SCHEMA = "bench_floor"  # the unconstrained COPY's tables
CONSTRAINED_SCHEMA = "bench_constrained"
MICRO_VALUES = 1_000_000
MICRO_SAMPLE = 10_000  # values on which the three implementations must agree before any timing
MICRO_REPEATS = 3
MB = 1024 * 1024


@dataclass(frozen=True)
class BenchPlace:
    """Where the bench keeps its state: folders under `root`, databases on the embedded server."""

    root: Path  # var/bench
    database: str = "coretelecoms_bench"  # the conformance database, recreated by every volume bench

    def scale_dir(self, scale: float) -> Path:
        return self.root / f"scale-{scale:g}"

    def source_database(self, scale: float) -> str:
        """The web-forms source database of one scale's generated inputs (kept with them)."""
        return f"{self.database}_source_{scale:g}".replace(".", "_")


def run_bench(base: Settings, part: str = "all", scale: float = 1.0, values: int = MICRO_VALUES,
              place: BenchPlace | None = None, progress=print) -> dict:
    """Run a part of the bench (one of PARTS), write its JSON and print its table; returns the report."""
    if part not in PARTS:
        raise ValueError(f"unknown bench part {part!r}; known: {', '.join(PARTS)}")
    place = place or BenchPlace(base.project_root / "var" / "bench")
    spark = spark_session(base, app_name="coretelecoms bench")
    report = {"measured_at": dt.datetime.now(dt.timezone.utc).isoformat(), "machine": _machine(spark, base)}
    if part in ("all", "volume"):
        report["volume"] = volume(spark, base, place, scale, progress)
        if part == "all" and scale != SMALL_SCALE:  # the same runs on 1% of the data: the cost whatever the volume
            report["small_volume"] = volume(spark, base, place, SMALL_SCALE, progress)
    if part in ("all", "micro"):
        report["micro"] = micro(spark, place.root / "micro", values, progress)
    report["targets"] = targets(report)
    written = write_report(report, place.root)
    progress(render(report))
    progress(f"written to {written} and {place.root / 'latest.json'}")
    return report


def _machine(spark: SparkSession, settings: Settings) -> dict:
    return {"cpus": os.cpu_count(), "spark_master": spark.sparkContext.master, "spark": spark.version,
            "driver_memory": settings.spark.driver_memory, "shuffle_partitions": settings.spark.shuffle_partitions,
            "python": platform.python_version()}


def write_report(report: dict, root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    text = json.dumps(report, indent=2, default=str) + "\n"
    path = root / f"bench-{stamp}.json"
    path.write_text(text)
    (root / "latest.json").write_text(text)
    return path


def _timed(action: Callable[[], object]) -> tuple[float, object]:
    started = time.perf_counter()
    value = action()
    return time.perf_counter() - started, value


def _drain(frame: DataFrame) -> None:
    """Compute every row and column, write nothing: the cost of the transformation alone."""
    frame.write.format("noop").mode("overwrite").save()


# ---------------------------------------------------------------------------------------------
# Volume: three pipeline runs end to end, each next to its floor
# ---------------------------------------------------------------------------------------------
def generator_config(scale: float) -> GeneratorConfig:
    # Every daily input is present: a missing one would make day 2 "not ready", not a measurement.
    return GeneratorConfig(start_date=BENCH_START, days=2, scale=scale, seed=BENCH_SEED,
                           hazards=Hazards(missing_daily_input=False))


def volume(spark: SparkSession, base: Settings, place: BenchPlace, scale: float, progress=print) -> dict:
    config = generator_config(scale)
    settings = fresh_state(base, place, scale)
    truth = ensure_inputs(settings, config, progress)
    floors = place.scale_dir(scale) / "floor"
    landing, (first, second) = Path(settings.landing), config.dates
    publish(landing, first)
    runs = [
        measured_run(spark, settings, "initial dimension load", first, "dimensions", floors, progress),
        measured_run(spark, settings, "daily complaints", first, "complaints", floors, progress),
    ]
    publish(landing, second)  # the upstream overwrites the customers object when it has a newer one
    runs.append(measured_run(spark, settings, "next day (steady state)", second, "all", floors, progress))
    return {"scale": scale, "seed": config.seed, "dates": [day.isoformat() for day in config.dates],
            "generated_rows": truth["counts"], "runs": runs}


def fresh_state(base: Settings, place: BenchPlace, scale: float) -> Settings:
    """Bench settings on an empty lake, runs folder and conformance database; inputs under scale-<s>/."""
    server = embedded_server(base).start(progress=lambda _: None)
    create_database(server.url("postgres"), place.database, drop_first=True)
    create_database(server.url("postgres"), place.source_database(scale))
    folder = place.scale_dir(scale)
    for state in ("lake", "runs", "data_docs", "floor"):
        shutil.rmtree(folder / state, ignore_errors=True)
    return load_settings(env=base.env, conf_dir=base.project_root / "conf", overrides={
        "landing": str(folder / "landing"), "lake": str(folder / "lake"), "runs": str(folder / "runs"),
        "data_docs": str(folder / "data_docs"),
        "postgres.conformance_url": server.url(place.database),
        "postgres.source_url": server.url(place.source_database(scale)),
    })


def ensure_inputs(settings: Settings, config: GeneratorConfig, progress=print) -> dict:
    """The generated inputs and their ground truth: generated once, reused while complete."""
    landing = Path(settings.landing)
    truth_file = landing / GROUND_TRUTH_KEY
    if truth_file.exists():
        truth = json.loads(truth_file.read_text())
        if _generated_with(truth, config) and _web_forms_present(settings.postgres.source_url, config.dates):
            progress(f"reusing the inputs generated in {landing}")
            return truth
    progress(f"generating {config.days} days at scale {config.scale:g} into {landing} (kept for later benches)")
    return generate(config, landing, settings.postgres.source_url, progress=lambda line: progress(f"  {line}"))


def _generated_with(truth: dict, config: GeneratorConfig) -> bool:
    made = truth["config"]
    return (made["start_date"], made["days"], made["scale"], made["seed"], made["hazards"]) == (
        config.start_date.isoformat(), config.days, config.scale, config.seed, dataclasses.asdict(config.hazards))


def _web_forms_present(dsn: str, dates: list[dt.date]) -> bool:
    """The web-form tables live in a database, which `make clean` removes while var/bench stays."""
    tables = [web_forms_table(day) for day in dates]
    with psycopg2.connect(dsn) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = %s AND table_name = ANY(%s)",
                       (WEB_FORMS_SCHEMA, tables))
        return cursor.fetchone()[0] == len(tables)


def measured_run(spark: SparkSession, settings: Settings, name: str, run_date: dt.date, scope: str,
                 floors: Path, progress=print) -> dict:
    """One `pipeline.run` end to end, then the floor of the inputs it read."""
    progress(f"== {name}: {run_date} scope={scope}")
    spent: dict[str, float] = defaultdict(float)

    def timing(stage: str, seconds: float) -> None:
        spent[stage] += seconds  # a stage may run more than once in a run

    with MemoryWatch(spark) as memory, FixedCost(spark, settings.lake) as fixed_cost:
        seconds, result = _timed(lambda: pipeline.run(settings, run_date, scope=scope, spark=spark, progress=progress,
                                                      timing=timing))
    if result.status != SUCCEEDED:
        raise RuntimeError(f"{name}: the run did not succeed ({result.status}): {result.error}")
    read = [outcome for outcome in result.bronze if outcome.status in (INGESTED, REPLACED)]
    inputs = {i.source: i for i in dimension_inputs(settings, run_date) + complaint_inputs(settings, run_date)}
    progress(f"== floor of {name}: {', '.join(outcome.source for outcome in read)}")
    floor = {outcome.source: input_floor(spark, settings, inputs[outcome.source], floors / f"{scope}-{run_date}")
             for outcome in read}
    constrained = constrained_floor(settings.postgres.conformance_url, result.run_id, run_date,
                                    floors / f"{scope}-{run_date}" / "constrained")
    rows = sum(outcome.rows for outcome in read)
    read_write = sum(f["read_write_parquet_seconds"] for f in floor.values())
    floor_seconds = read_write + constrained["seconds"]
    unconstrained_seconds = read_write + sum(f["copy_seconds"] for f in floor.values())
    return {
        "name": name, "run_date": run_date.isoformat(), "scope": scope, "run_id": result.run_id,
        "bronze": {outcome.source: {"status": outcome.status, "rows": outcome.rows} for outcome in result.bronze},
        "rows": rows, "seconds": round(seconds, 2), "rows_per_second": round(rows / seconds),
        "stages": _stages(spent, rows, seconds),
        "floor": {"inputs": floor, "constrained_copy": constrained, "seconds": round(floor_seconds, 2),
                  "unconstrained_seconds": round(unconstrained_seconds, 2)},
        "ratio_to_floor": round(seconds / floor_seconds, 2),
        "ratio_to_unconstrained_floor": round(seconds / unconstrained_seconds, 2),
        "memory": memory.peaks,
        "fixed_cost": fixed_cost.counts,
    }


def _stages(spent: dict[str, float], rows: int, seconds: float) -> dict:
    """The pipeline's stage timings, Great Expectations within silver, and the rest of the run."""
    timings = {stage: took for stage, took in spent.items() if stage != GREAT_EXPECTATIONS}
    stages = {stage: _share(took, rows, seconds) for stage, took in timings.items()}
    stages[GREAT_EXPECTATIONS] = {**_share(spent.get(GREAT_EXPECTATIONS, 0.0), rows, seconds), "part_of": "silver"}
    stages[OTHER] = _share(seconds - sum(timings.values()), rows, seconds)
    return stages


def _share(seconds: float, rows: int, run_seconds: float) -> dict:
    """A stage's time, throughput (none for a stage too short to tell) and share of its run."""
    return {"seconds": round(seconds, 2), "rows_per_second": round(rows / seconds) if seconds >= 0.1 else None,
            "share": round(seconds / run_seconds, 3)}


def input_floor(spark: SparkSession, settings: Settings, source_input: SourceInput, folder: Path) -> dict:
    """The input read by the project's reader and written to Parquet untransformed; then a plain COPY
    of its rows. The probe (the pipeline's checksum) is the pipeline's own cost, left out."""
    probe = probe_input(settings, source_input)
    parquet = folder / source_input.source / "parquet"
    started = time.perf_counter()
    batch = read_input(spark, settings, source_input, probe)
    batch.frame.write.mode("overwrite").parquet(str(parquet))
    read_seconds = time.perf_counter() - started
    for cached in batch.cached:
        cached.unpersist()
    rows, copy_seconds = copy_floor(spark, settings.postgres.conformance_url, parquet, folder / source_input.source / "csv",
                                    source_input.source)
    return {"rows": rows, "read_write_parquet_seconds": round(read_seconds, 2), "copy_seconds": round(copy_seconds, 2)}


def copy_floor(spark: SparkSession, dsn: str, parquet: Path, csv: Path, table: str) -> tuple[int, float]:
    """A plain COPY of the Parquet rows into a new table of the same columns (no keys, no checks).

    The rows become CSV files first (not timed): the COPY reads them as a client would send them.
    """
    frame = spark.read.parquet(str(parquet))
    frame.write.mode("overwrite").option("escape", '"').csv(str(csv))  # PostgreSQL's CSV quoting
    target = sql.Identifier(FLOOR_SCHEMA, table)
    columns = sql.SQL(", ").join(
        sql.SQL("{} {}").format(sql.Identifier(name), sql.SQL("bigint" if kind == "bigint" else "text"))
        for name, kind in frame.dtypes
    )
    with psycopg2.connect(dsn) as connection, connection.cursor() as cursor:
        cursor.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(FLOOR_SCHEMA)))
        cursor.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(target))
        cursor.execute(sql.SQL("CREATE TABLE {} ({})").format(target, columns))
        connection.commit()
        copy = sql.SQL("COPY {} FROM STDIN WITH (FORMAT csv)").format(target).as_string(connection)
        rows, started = 0, time.perf_counter()
        for part in sorted(csv.glob("part-*.csv")):
            with part.open("rb") as data:
                cursor.copy_expert(copy, data)
            rows += cursor.rowcount
        connection.commit()
        return rows, time.perf_counter() - started


# Columns of the conformance tables that name the run which wrote a row, or its date.
RUN_ID_COLUMNS = ("updated_run", "last_seen_run", "resolved_run", "run_id")
RUN_DATE_COLUMNS = ("observed_run_date",)


def constrained_floor(dsn: str, run_id: str, run_date: dt.date, folder: Path) -> dict:
    """The COPY of the rows a run wrote into the conformance database, into copies of its tables with
    the same primary keys, foreign keys, CHECK constraints and indexes, in one transaction, parents
    first, with the parents' other rows already present: the least any correct load of those rows pays.

    The rows are exported to CSV first and the parents filled from the real tables (neither timed);
    the copies live in schema `bench_constrained`, dropped afterwards.
    """
    folder.mkdir(parents=True, exist_ok=True)
    with psycopg2.connect(dsn) as connection, connection.cursor() as cursor:
        written = _run_predicates(cursor, run_id, run_date)
        parents = foreign_keys(cursor)
        order = [table for table in graphlib.TopologicalSorter(
            {table: {parent for _, child, parent, _, _ in parents if child == table} for table in written}).static_order()
            if table in written]
        create_constrained_copy(cursor, order, parents)
        for table in {parent for _, _, parent, _, _ in parents}:
            cursor.execute(sql.SQL("INSERT INTO {} SELECT * FROM {} WHERE NOT ({})").format(
                sql.Identifier(CONSTRAINED_SCHEMA, table), sql.Identifier("public", table), written[table]))
        exports = {}
        for table in order:
            exports[table] = folder / f"{table}.csv"
            with exports[table].open("wb") as out:
                cursor.copy_expert(sql.SQL("COPY (SELECT * FROM {} WHERE {}) TO STDOUT WITH (FORMAT csv)").format(
                    sql.Identifier("public", table), written[table]).as_string(connection), out)
        connection.commit()
        rows, started = {}, time.perf_counter()
        for table in order:  # one transaction, as the run's load
            with exports[table].open("rb") as data:
                cursor.copy_expert(sql.SQL("COPY {} FROM STDIN WITH (FORMAT csv)").format(
                    sql.Identifier(CONSTRAINED_SCHEMA, table)).as_string(connection), data)
            rows[table] = cursor.rowcount
        connection.commit()
        seconds = time.perf_counter() - started
        cursor.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(CONSTRAINED_SCHEMA)))
    shutil.rmtree(folder)
    return {"tables": {table: count for table, count in rows.items() if count}, "rows": sum(rows.values()),
            "seconds": round(seconds, 2)}


def _run_predicates(cursor, run_id: str, run_date: dt.date) -> dict[str, sql.Composable]:
    """Per conformance table that records its writer, the SQL condition selecting the rows `run_id` wrote."""
    cursor.execute("SELECT c.table_name, c.column_name FROM information_schema.columns c"
                   " JOIN information_schema.tables t USING (table_schema, table_name)"
                   " WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE' AND c.column_name = ANY(%s)"
                   " ORDER BY c.table_name, c.ordinal_position", (list(RUN_ID_COLUMNS + RUN_DATE_COLUMNS),))
    columns: dict[str, list[sql.Composable]] = defaultdict(list)
    for table, column in cursor.fetchall():
        value = sql.Literal(run_id if column in RUN_ID_COLUMNS else run_date)
        columns[table].append(sql.SQL("{} = {}").format(sql.Identifier(column), value))
    return {table: sql.SQL("coalesce({}, false)").format(sql.SQL(" OR ").join(tests)) for table, tests in columns.items()}


def foreign_keys(cursor) -> list[tuple[str, str, str, list[str], list[str]]]:
    """(name, child, parent, child columns, parent columns) of every foreign key in the conformance schema."""
    cursor.execute("""
        SELECT c.conname, child.relname, parent.relname,
               array(SELECT a.attname FROM unnest(c.conkey) WITH ORDINALITY k(attnum, i)
                     JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum ORDER BY k.i),
               array(SELECT a.attname FROM unnest(c.confkey) WITH ORDINALITY k(attnum, i)
                     JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.attnum ORDER BY k.i)
          FROM pg_constraint c
          JOIN pg_class child ON child.oid = c.conrelid
          JOIN pg_class parent ON parent.oid = c.confrelid
          JOIN pg_namespace n ON n.oid = child.relnamespace
         WHERE c.contype = 'f' AND n.nspname = 'public'""")
    return [(name, child, parent, list(keys), list(parent_keys)) for name, child, parent, keys, parent_keys in cursor.fetchall()]


def create_constrained_copy(cursor, tables: list[str], foreign_keys: list[tuple]) -> None:
    """Empty copies of `tables` (and their parents) in CONSTRAINED_SCHEMA: columns, primary key, CHECK
    constraints and indexes (LIKE ... INCLUDING ALL), and each foreign key pointed at the copy of its parent."""
    schema = sql.Identifier(CONSTRAINED_SCHEMA)
    cursor.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(schema))
    cursor.execute(sql.SQL("CREATE SCHEMA {}").format(schema))
    copied = set(tables) | {parent for _, child, parent, _, _ in foreign_keys if child in tables}
    for table in sorted(copied):
        cursor.execute(sql.SQL("CREATE TABLE {} (LIKE {} INCLUDING ALL)").format(
            sql.Identifier(CONSTRAINED_SCHEMA, table), sql.Identifier("public", table)))
    for name, child, parent, keys, parent_keys in foreign_keys:
        if child in copied:
            cursor.execute(sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} FOREIGN KEY ({}) REFERENCES {} ({})").format(
                sql.Identifier(CONSTRAINED_SCHEMA, child), sql.Identifier(name),
                sql.SQL(", ").join(map(sql.Identifier, keys)), sql.Identifier(CONSTRAINED_SCHEMA, parent),
                sql.SQL(", ").join(map(sql.Identifier, parent_keys))))


class MemoryWatch:
    """Peak memory while a block runs: the driver JVM's heap (sampled) and resident set, and this
    Python process's resident set (Linux peaks, reset on entry; Python workers not included).

    The heap's peak use is mostly garbage not yet collected (the JVM fills its heap before it
    collects), so the heap left right after a collection is sampled too: its peak is what the run
    really needed.
    """

    def __init__(self, spark: SparkSession, interval: float = 0.2):
        jvm = spark.sparkContext._jvm
        management = jvm.java.lang.management.ManagementFactory
        self._heap = management.getMemoryMXBean()
        self._collectors = list(management.getGarbageCollectorMXBeans())
        heap = jvm.java.lang.management.MemoryType.HEAP
        self._heap_pools = {pool.getName() for pool in management.getMemoryPoolMXBeans() if pool.getType() == heap}
        self._jvm_pid = int(jvm.java.lang.ProcessHandle.current().pid())
        self._interval = interval
        self.peaks: dict[str, int] = {}

    def __enter__(self) -> MemoryWatch:
        for pid in (self._jvm_pid, os.getpid()):
            Path(f"/proc/{pid}/clear_refs").write_text("5")  # resets the peak resident set (VmHWM)
        self._heap_peak, self._after_gc_peak, self._stop = 0, 0, threading.Event()
        self._sampler = threading.Thread(target=self._sample, daemon=True)
        self._sampler.start()
        return self

    def _sample(self) -> None:
        while True:
            self._heap_peak = max(self._heap_peak, self._heap.getHeapMemoryUsage().getUsed())
            self._after_gc_peak = max(self._after_gc_peak, self._heap_after_last_gc())
            if self._stop.wait(self._interval):
                return

    def _heap_after_last_gc(self) -> int:
        """The heap in use right after the latest collection of any collector (young or old)."""
        used = 0
        for collector in self._collectors:
            info = collector.getLastGcInfo()  # com.sun.management's extension, on every HotSpot JVM
            if info is not None:
                after = info.getMemoryUsageAfterGc()
                used = max(used, sum(after.get(name).getUsed() for name in self._heap_pools if after.containsKey(name)))
        return used

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._sampler.join()
        self.peaks = {
            "jvm_heap_peak_mb": round(self._heap_peak / MB),
            "jvm_heap_after_gc_peak_mb": round(self._after_gc_peak / MB),
            "jvm_heap_max_mb": round(self._heap.getHeapMemoryUsage().getMax() / MB),
            "jvm_rss_peak_mb": round(_peak_rss(self._jvm_pid) / MB),
            "python_rss_peak_mb": round(_peak_rss(os.getpid()) / MB),
        }


class FixedCost:
    """What a run costs whatever its volume, counted while a block runs.

    Spark jobs and stages: the scheduler's id counters (every job and stage it created, skipped ones
    too). Delta commits: new `_delta_log/*.json` files under the lake. Persisted frames: calls of
    `DataFrame.persist` and `cache`. Planning: the seconds Spark's query tracker spent in
    analysis, optimization and physical planning of each action (a QueryExecutionListener; the
    planning Delta does inside its own commands is only partly visible there).
    """

    PHASES = ("analysis", "optimization", "planning")

    def __init__(self, spark: SparkSession, lake_root: str):
        self._spark, self._lake = spark, Path(lake_root)
        self._scheduler = spark.sparkContext._jsc.sc().dagScheduler()
        self.counts: dict[str, float] = {}

    def __enter__(self) -> FixedCost:
        from pyspark.java_gateway import ensure_callback_server_started

        ensure_callback_server_started(self._spark.sparkContext._gateway)
        self._jobs, self._stages = self._scheduler.nextJobId(), self._scheduler.nextStageId()
        self._commits = self._delta_commits()
        self._persisted, self._originals = 0, {name: getattr(DataFrame, name) for name in ("persist", "cache")}
        for name, original in self._originals.items():
            setattr(DataFrame, name, self._counted(original))
        self._listener = _PlanningListener(self.PHASES)
        listeners = self._spark._jsparkSession.listenerManager()
        listeners.register(self._listener)
        # The Java proxy just registered: unregistering needs that object (another proxy of the same
        # Python object is not equal to it).
        self._registered = listeners.listListeners()[-1]
        return self

    def _counted(self, original):
        def counted(frame, *args, **kwargs):
            self._persisted += 1
            return original(frame, *args, **kwargs)

        return counted

    def _delta_commits(self) -> int:
        return sum(1 for _ in self._lake.glob("**/_delta_log/*.json")) if self._lake.exists() else 0

    def __exit__(self, *exc) -> None:
        for name, original in self._originals.items():
            setattr(DataFrame, name, original)
        self._spark.sparkContext._jsc.sc().listenerBus().waitUntilEmpty()  # the last actions' events
        self._spark._jsparkSession.listenerManager().unregister(self._registered)
        self.counts = {
            "spark_jobs": self._scheduler.nextJobId() - self._jobs,
            "spark_stages": self._scheduler.nextStageId() - self._stages,
            "delta_commits": self._delta_commits() - self._commits,
            "persisted_frames": self._persisted,
            "planned_actions": self._listener.actions,
            "planning_seconds": round(self._listener.milliseconds / 1000, 2),
        }


class _PlanningListener:
    """org.apache.spark.sql.util.QueryExecutionListener in Python: sums the planning phases of each action."""

    def __init__(self, phases: tuple[str, ...]):
        self._phases, self.actions, self.milliseconds = phases, 0, 0

    def onSuccess(self, function_name, execution, duration_ns):  # noqa: N802 - the Java interface's names
        self._add(execution)

    def onFailure(self, function_name, execution, exception):  # noqa: N802
        self._add(execution)

    def _add(self, execution) -> None:
        phases = execution.tracker().phases()
        self.actions += 1
        self.milliseconds += sum(phases.apply(name).durationMs() for name in self._phases if phases.contains(name))

    class Java:
        implements = ["org.apache.spark.sql.util.QueryExecutionListener"]


def _peak_rss(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"^VmHWM:\s+(\d+) kB", status, re.M).group(1)) * 1024


# ---------------------------------------------------------------------------------------------
# Micro: native cleaners against pandas_udf and Python udf equivalents
# ---------------------------------------------------------------------------------------------
def _python_regex(java: str) -> re.Pattern:
    """A cleaning.py pattern for Python's `re`: `\\z` is `\\Z`, `(?U)` is Python's default."""
    return re.compile(java.replace(r"\z", r"\Z").replace("(?U)", ""))


_EDGES = _python_regex(r"(?U)\A\s+|\s+\z")  # cleaning._strip
_SPACES = re.compile(r"\s+")
_DOMAIN_REPAIRS = [(_python_regex(pattern), replacement.replace("$1", r"\1"))
                   for pattern, replacement in cleaning.DOMAIN_REPAIRS]
_VALID_EMAIL = _python_regex(cleaning.VALID_EMAIL)
_JOINER = re.compile(f"({cleaning.WORD_JOINERS})")
_JOINER_SPACE = re.compile(f"({cleaning.WORD_JOINERS}) ")
_WORD_START = re.compile(r"(?<![^ ]).", re.S)  # Spark's initcap: the first character and any after a space
_KEY_NOISE = re.compile(cleaning.KEY_NOISE)
_DATETIME_SHAPE = _python_regex(cleaning.DATETIME_SHAPE)
_UUID = _python_regex(cleaning.UUID_PATTERN)


def _upper(match: re.Match) -> str:
    return match.group().upper()


def python_email(value: str | None) -> str | None:
    if value is None:
        return None
    address = _EDGES.sub("", value).lower()
    for pattern, replacement in _DOMAIN_REPAIRS:
        address = pattern.sub(replacement, address)
    return address if _VALID_EMAIL.search(address) else None


def vectorised_email(values: pd.Series) -> pd.Series:
    address = values.str.replace(_EDGES, "", regex=True).str.lower()
    for pattern, replacement in _DOMAIN_REPAIRS:
        address = address.str.replace(pattern, replacement, regex=True)
    return address.where(address.str.contains(_VALID_EMAIL, na=False), None)


def python_name(value: str | None) -> str | None:
    if value is None:
        return None
    name = _EDGES.sub("", _SPACES.sub(" ", value))
    titled = _WORD_START.sub(_upper, _JOINER.sub(r"\1 ", name).lower())
    return _JOINER_SPACE.sub(r"\1", titled) or None


def vectorised_name(values: pd.Series) -> pd.Series:
    name = values.str.replace(_SPACES, " ", regex=True).str.replace(_EDGES, "", regex=True)
    titled = name.str.replace(_JOINER, r"\1 ", regex=True).str.lower().str.replace(_WORD_START, _upper, regex=True)
    titled = titled.str.replace(_JOINER_SPACE, r"\1", regex=True)
    return titled.where(titled.str.len() > 0, None)


def python_status(value: str | None) -> str | None:
    return None if value is None else cleaning.STATUS_KEYS.get(_KEY_NOISE.sub("", value).lower())


def vectorised_status(values: pd.Series) -> pd.Series:
    status = values.str.replace(_KEY_NOISE, "", regex=True).str.lower().map(cleaning.STATUS_KEYS)
    return status.where(status.notna(), None)


def python_timestamp(value: str | None) -> dt.datetime | None:
    text = None if value is None else _EDGES.sub("", value)
    if text is None or not _DATETIME_SHAPE.search(text):
        return None
    try:
        return dt.datetime.fromisoformat(text).replace(tzinfo=dt.timezone.utc)  # the session's time zone
    except ValueError:  # a well-shaped impossible value: 2025-02-30, 24:00:00
        return None


def vectorised_timestamp(values: pd.Series) -> pd.Series:
    """pandas' nanosecond timestamps stop at year 2262: equal to the native one on these values."""
    text = values.str.replace(_EDGES, "", regex=True)
    shaped = text.where(text.str.contains(_DATETIME_SHAPE, na=False))
    return pd.to_datetime(shaped, format="ISO8601", errors="coerce")


def python_customer_id(value: str | None) -> str | None:
    if value is None:
        return None
    customer_id = _EDGES.sub("", value).lower()
    return customer_id if _UUID.search(customer_id) else None


def vectorised_customer_id(values: pd.Series) -> pd.Series:
    customer_id = values.str.replace(_EDGES, "", regex=True).str.lower()
    return customer_id.where(customer_id.str.contains(_UUID, na=False), None)


@dataclass(frozen=True)
class MicroCase:
    name: str  # the kind of value
    column: str  # in the generated values
    native: Callable[[Column], Column]
    vectorised: Callable[[pd.Series], pd.Series]
    python: Callable[[str | None], object]
    returns: str


MICRO_CASES = (
    MicroCase("emails", "email", cleaning.clean_email, vectorised_email, python_email, "string"),
    MicroCase("names", "name", cleaning.clean_person_name, vectorised_name, python_name, "string"),
    MicroCase("enumerations (status)", "status", cleaning.clean_status, vectorised_status, python_status, "string"),
    MicroCase("timestamps", "timestamp", cleaning.parse_timestamp, vectorised_timestamp, python_timestamp, "timestamp"),
    MicroCase("ids (customer UUID)", "customer_id", cleaning.clean_customer_id, vectorised_customer_id,
              python_customer_id, "string"),
)
VARIANTS = ("native", "pandas_udf", "python_udf")


def micro(spark: SparkSession, folder: Path, values: int = MICRO_VALUES, progress=print) -> dict:
    progress(f"== micro: {len(MICRO_CASES)} cleaners on {values:,} values, {', '.join(VARIANTS)}")
    frame = micro_frame(spark, folder, values)
    sample = frame.limit(MICRO_SAMPLE).cache()
    cleaners = {}
    for case in MICRO_CASES:
        implementations = implementations_of(case)
        require_same_results(sample, case, implementations)  # also warms up the Python workers
        seconds = {variant: best_drain_seconds(frame.select(implementation(F.col(case.column))))
                   for variant, implementation in implementations.items()}
        cleaners[case.name] = {
            **{variant: {"seconds": round(spent, 3), "values_per_second": round(values / spent)}
               for variant, spent in seconds.items()},
            "pandas_udf_to_native": round(seconds["pandas_udf"] / seconds["native"], 2),
            "python_udf_to_native": round(seconds["python_udf"] / seconds["native"], 2),
        }
        progress(f"  {case.name:<22} " + "  ".join(f"{v} {s:6.2f}s" for v, s in seconds.items()))
    sample.unpersist()
    frame.unpersist()
    return {"values": values, "checked_on": min(values, MICRO_SAMPLE), "cleaners": cleaners}


def best_drain_seconds(frame: DataFrame) -> float:
    """The best of a few drains: the first also pays for planning and compiling the query."""
    return min(_timed(lambda: _drain(frame))[0] for _ in range(MICRO_REPEATS))


def implementations_of(case: MicroCase) -> dict[str, Callable[[Column], Column]]:
    return dict(zip(VARIANTS, (case.native, F.pandas_udf(case.vectorised, case.returns), F.udf(case.python, case.returns))))


def require_same_results(sample: DataFrame, case: MicroCase, implementations: dict[str, Callable]) -> None:
    """The three implementations agree on the sample: otherwise the timings would compare different work."""
    value = F.col(case.column)
    outputs = sample.select(value, *(implementation(value).alias(v) for v, implementation in implementations.items()))
    native = F.col("native")
    differ = outputs.where(~native.eqNullSafe(F.col("pandas_udf")) | ~native.eqNullSafe(F.col("python_udf")))
    examples = differ.limit(3).collect()
    if examples:
        raise AssertionError(f"micro {case.name}: the implementations disagree, e.g. {examples}")


def micro_frame(spark: SparkSession, folder: Path, values: int) -> DataFrame:
    """The generated values, cached in memory so that the timings measure the cleaning alone."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"values-{values}.parquet"
    micro_values(values).to_parquet(path, index=False)
    frame = spark.read.parquet(str(path)).repartition(spark.sparkContext.defaultParallelism).cache()  # every core
    frame.count()
    return frame


def micro_values(n: int, seed: int = BENCH_SEED) -> pd.DataFrame:
    """Dirty values of each kind, like the sources': mixed case, stray whitespace, typos, garbage, nulls."""
    rng = np.random.default_rng(seed)
    first, last = rng.integers(0, len(FIRST_NAMES), n), rng.integers(0, len(SURNAMES), n)
    other_last = rng.integers(0, len(SURNAMES), n)
    digits = pd.Series(rng.integers(0, 10_000, n)).astype(str).to_numpy(object)
    emails = (digits + FIRST_LOWER[first] + _pick(rng, EMAIL_SEPARATORS, n) + LAST_LOWER[last] + "@"
              + _pick(rng, np.append(EMAIL_DOMAINS, ["gmail.co", "foo.om", "@gmail.com", "no-at-sign"]), n))
    joined = rng.random(n) < 0.05  # o'brien-smith
    surnames = np.where(joined, "o'" + LAST_LOWER[last] + "-" + LAST_LOWER[other_last], SURNAMES[last])
    names = FIRST_NAMES[first] + np.where(rng.random(n) < 0.05, "  \t", " ").astype(object) + surnames
    statuses = _pick(rng, np.array(list(cleaning.STATUSES) + ["in progress", "IN_PROGRESS", "re-solved", "Pending??"],
                                   dtype=object), n)
    seconds = rng.integers(1_700_000_000, 1_760_000_000, n).astype("datetime64[s]")
    stamps = pd.Series(np.datetime_as_string(seconds)).str.replace("T", " ", n=1).to_numpy(object)
    stamps = _some(rng, stamps, np.append(BAD_TIMESTAMPS, ["", "2025-02-30 12:00:00", "2025-06-01 24:00:00",
                                                           "2025-06-01", "2025-06-01T08:30:00"]), 0.05)
    customer_ids = _some(rng, _uuids(rng, n), np.array(["", "not-a-uuid", "1234"], dtype=object), 0.02)
    return pd.DataFrame({column: _dirty(rng, text) for column, text in {
        "email": emails, "name": names, "status": statuses, "timestamp": stamps, "customer_id": customer_ids,
    }.items()})


def _pick(rng: np.random.Generator, choices: np.ndarray, n: int) -> np.ndarray:
    return np.asarray(choices, dtype=object)[rng.integers(0, len(choices), n)]


def _some(rng: np.random.Generator, values: np.ndarray, replacements: np.ndarray, rate: float) -> np.ndarray:
    return np.where(rng.random(len(values)) < rate, _pick(rng, replacements, len(values)), values)


def _uuids(rng: np.random.Generator, n: int) -> np.ndarray:
    hex_digits = np.frombuffer(b"0123456789abcdef", dtype="S1")[rng.integers(0, 16, (n, 32))]
    text = pd.Series(hex_digits.view("S32").ravel().astype(str))
    return (text.str[:8] + "-" + text.str[8:12] + "-" + text.str[12:16] + "-" + text.str[16:20] + "-"
            + text.str[20:]).to_numpy(object)


def _dirty(rng: np.random.Generator, values: np.ndarray) -> pd.Series:
    """About 5% upper-cased, 5% lower-cased, 5% padded with whitespace and 1% missing."""
    text = pd.Series(values, dtype=object)
    kind = rng.choice(5, len(text), p=[0.05, 0.05, 0.05, 0.01, 0.84])
    text[kind == 0] = text[kind == 0].str.upper()
    text[kind == 1] = text[kind == 1].str.lower()
    text[kind == 2] = " \t" + text[kind == 2] + "  "
    text[kind == 3] = None
    return text


# ---------------------------------------------------------------------------------------------
# Targets: what the runs are held to (2 cores)
# ---------------------------------------------------------------------------------------------
FULL_SCALE = 1.0
FLOOR_RATIO_GOAL = 3.0  # each run at full scale, against its constrained floor
SMALL_DAILY_SECONDS_GOAL = 20.0  # the daily complaint run at SMALL_SCALE, Spark already started
DRIVER_RSS_GOAL_MB = 4096  # the driver JVM process, whole
GREAT_EXPECTATIONS_SHARE_GOAL = 0.15  # of any run


def targets(report: dict) -> list[dict]:
    """Each target the measured runs can be checked against: what it is, its goal, the measurement."""
    volumes = [report[key] for key in ("volume", "small_volume") if key in report]
    found = []
    for volume in volumes:
        for run in volume["runs"]:
            at = f"{run['name']}, scale {volume['scale']:g}"
            if volume["scale"] == FULL_SCALE:
                found.append(_target(f"{at}: ratio to floor", f"<= {FLOOR_RATIO_GOAL:g}x",
                                     f"{run['ratio_to_floor']:.1f}x", run["ratio_to_floor"] <= FLOOR_RATIO_GOAL))
            if volume["scale"] == SMALL_SCALE and run["scope"] == "complaints":
                found.append(_target(f"{at}: seconds", f"<= {SMALL_DAILY_SECONDS_GOAL:g}",
                                     f"{run['seconds']:.1f}", run["seconds"] <= SMALL_DAILY_SECONDS_GOAL))
    runs = [run for volume in volumes for run in volume["runs"]]
    if runs:
        rss = max(run["memory"]["jvm_rss_peak_mb"] for run in runs)
        found.append(_target("driver JVM resident set, peak of every run", f"<= {DRIVER_RSS_GOAL_MB:,} MB",
                             f"{rss:,} MB", rss <= DRIVER_RSS_GOAL_MB))
        share = max(run["stages"][GREAT_EXPECTATIONS]["share"] for run in runs)
        found.append(_target("Great Expectations, largest share of a run", f"<= {GREAT_EXPECTATIONS_SHARE_GOAL:.0%}",
                             f"{share:.0%}", share <= GREAT_EXPECTATIONS_SHARE_GOAL))
    return found


def _target(target: str, goal: str, measured: str, met: bool) -> dict:
    return {"target": target, "goal": goal, "measured": measured, "met": met}


# ---------------------------------------------------------------------------------------------
# The table
# ---------------------------------------------------------------------------------------------
def render(report: dict) -> str:
    machine = report["machine"]
    lines = [f"bench {report['measured_at']}: {machine['cpus']} cpus, {machine['spark_master']}, "
             f"driver memory {machine['driver_memory']}, Spark {machine['spark']}"]
    for key in ("volume", "small_volume"):
        if key in report:
            lines += _render_volume(report[key])
    if "micro" in report:
        lines += _render_micro(report["micro"])
    if report.get("targets"):
        lines += ["", f"{'targets':<58}{'goal':>12}{'measured':>12}"]
        lines += [f"  {t['target']:<56}{t['goal']:>12}{t['measured']:>12}  {'met' if t['met'] else 'NOT MET'}"
                  for t in report["targets"]]
    return "\n".join(lines)


def _number(value) -> str:
    return "-" if value is None else f"{value:,}"


def _render_volume(volume: dict) -> list[str]:
    lines = ["", f"volume: scale {volume['scale']:g}, seed {volume['seed']}, days {', '.join(volume['dates'])}",
             f"{'':<34}{'seconds':>10}{'rows/s':>12}{'share':>8}"]
    for run in volume["runs"]:
        read = ", ".join(f"{source} {_number(run['floor']['inputs'][source]['rows'])}" for source in run["floor"]["inputs"])
        lines += ["", f"{run['name']} ({run['run_date']}, scope {run['scope']}; read: {read})",
                  f"  {'whole run':<32}{run['seconds']:>10.1f}{_number(run['rows_per_second']):>12}{'100%':>8}"]
        stages = run["stages"]
        for stage, timing in stages.items():
            if "part_of" not in timing:
                lines.append(_stage_line(stage, timing))
                lines += [_stage_line(f"  of which {part}", stages[part])
                          for part in stages if stages[part].get("part_of") == stage]
        floor = run["floor"]["inputs"].values()
        constrained = run["floor"]["constrained_copy"]
        lines += [
            f"  {'floor: read + write Parquet':<32}{sum(f['read_write_parquet_seconds'] for f in floor):>10.1f}",
            f"  {'floor: COPY with constraints':<32}{constrained['seconds']:>10.1f}"
            f"{_number(constrained['rows']):>12} rows into {len(constrained['tables'])} tables",
            f"  {'floor: COPY without (reference)':<32}{sum(f['copy_seconds'] for f in floor):>10.1f}",
            f"  {'ratio to floor':<32}{run['ratio_to_floor']:>9.1f}x"
            f"  ({run['ratio_to_unconstrained_floor']:.1f}x the floor without constraints)",
            "  peak memory: JVM heap {jvm_heap_peak_mb:,} MB of {jvm_heap_max_mb:,} ({jvm_heap_after_gc_peak_mb:,} MB "
            "right after a collection), JVM RSS {jvm_rss_peak_mb:,} MB, Python RSS {python_rss_peak_mb:,} MB".format(
                **run["memory"]),
            "  fixed cost: {spark_jobs:,} Spark jobs, {spark_stages:,} stages, {delta_commits:,} Delta commits, "
            "{persisted_frames:,} persisted frames, {planning_seconds:,} s planning {planned_actions:,} actions".format(
                **run["fixed_cost"]),
        ]
    return lines


def _stage_line(label: str, timing: dict) -> str:
    return f"  {label:<32}{timing['seconds']:>10.1f}{_number(timing['rows_per_second']):>12}{timing['share']:>8.0%}"


def _render_micro(micro: dict) -> list[str]:
    lines = ["", f"micro: values per second on {micro['values']:,} values (results checked equal on "
                 f"{micro['checked_on']:,}); ratios are seconds against native",
             f"{'cleaner':<24}" + "".join(f"{variant:>14}" for variant in VARIANTS) + f"{'pandas/native':>15}{'python/native':>15}"]
    for name, result in micro["cleaners"].items():
        lines.append(f"{name:<24}" + "".join(f"{result[v]['values_per_second']:>14,}" for v in VARIANTS)
                     + f"{result['pandas_udf_to_native']:>14.1f}x{result['python_udf_to_native']:>14.1f}x")
    return lines
