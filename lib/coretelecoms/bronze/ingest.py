"""Bronze: land every input unchanged as Delta, with lineage columns and a manifest per input.

An input is identified by its location and checksum: the same input again is skipped, a changed
input replaces its earlier rows (one atomic Delta commit), and a missing daily input is "not ready".
An input whose structure is wrong (sources.structure), a dimension snapshot that shrank too much, or
one Spark reads as a different number of records than the independent parse counted is not landed:
it is a "rejected_input", with the reason and what to fix, and the run's other inputs go on.
"""
from __future__ import annotations

import datetime as dt
import json
import time
from dataclasses import asdict, dataclass

from delta.tables import DeltaTable
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from coretelecoms.bronze.columns import (
    INGESTED_AT,
    RUN_DATE,
    RUN_ID,
    SOURCE,
    SOURCE_CHECKSUM,
    SOURCE_DATE,
    SOURCE_ROW,
    delta_safe_names,
)
from coretelecoms.platform import lake, storage
from coretelecoms.platform.settings import Settings
from coretelecoms.platform.spark import sql_literal
from coretelecoms.platform.tables import dimensions
from coretelecoms.sources.catalog import SourceInput
from coretelecoms.sources.readers import InputNotReady, Probe, RawBatch, positional, probe_input, read_input
from coretelecoms.sources.structure import shrink_defect, structure_defect

RAW_COLUMNS_PROPERTY = "coretelecoms.raw_columns"  # JSON {delta-safe name: raw header}

INGESTED, REPLACED, UNCHANGED, NOT_READY = "ingested", "replaced", "unchanged", "not_ready"
REJECTED_INPUT = "rejected_input"
FIX_AT_SOURCE = "correct the input at its source, then re-run this date"
FIX_SHRINK = "if the source really shrank, re-run this date with --accept-shrink"


@dataclass(frozen=True)
class RunContext:
    run_id: str
    run_date: dt.date
    accept_shrink: bool = False  # land a dimension snapshot however much it shrank


@dataclass(frozen=True)
class IngestOutcome:
    source: str
    location: str
    source_date: str
    status: str  # ingested, replaced, unchanged, not_ready, rejected_input
    rows: int | None
    size: int | None
    checksum: str | None
    table: str
    seconds: float
    message: str = ""  # for not_ready and rejected_input: why
    fix: str = ""  # for rejected_input: what to do
    columns: tuple[str, ...] = ()  # the input's own raw header


def manifest_location(settings: Settings, outcome: IngestOutcome) -> str:
    return lake.manifest(settings, outcome.source, outcome.source_date,
                         f"{outcome.location.rsplit('/', 1)[-1]}.{outcome.checksum[:12]}.json")


def to_bronze_rows(batch: RawBatch, run: RunContext, ingested_at: dt.datetime) -> tuple[DataFrame, dict[str, str]]:
    """Rename positional columns to Delta-safe names and add lineage; values stay as they came."""
    safe_names = delta_safe_names(batch.raw_columns)
    rows = batch.frame.select(
        *[F.col(positional(i)).cast("string").alias(name) for i, name in enumerate(safe_names)],
        F.lit(batch.input.location).alias(SOURCE),
        F.col(SOURCE_ROW).cast("long").alias(SOURCE_ROW),
        F.lit(batch.checksum).alias(SOURCE_CHECKSUM),
        F.lit(batch.input.source_date).cast("date").alias(SOURCE_DATE),
        F.lit(run.run_id).alias(RUN_ID),
        F.lit(run.run_date).cast("date").alias(RUN_DATE),
        F.lit(ingested_at).cast("timestamp").alias(INGESTED_AT),
    )
    return rows, dict(zip(safe_names, batch.raw_columns))


def _input_predicate(source_input: SourceInput) -> Column:
    """The rows of one input. A daily input's date also prunes partitions; a dimension's location
    (one object, overwritten upstream) is its identity whatever the date it was read."""
    same_location = F.col(SOURCE) == source_input.location
    if source_input.source in dimensions():
        return same_location
    return (F.col(SOURCE_DATE) == F.lit(source_input.source_date)) & same_location


def _landed_versions(spark: SparkSession, table: str, source_input: SourceInput) -> dict[str, int]:
    """{checksum: rows} of this input already in bronze (at most one version once replaced)."""
    if not DeltaTable.isDeltaTable(spark, storage.spark_path(table)):
        return {}
    landed = (
        spark.read.format("delta").load(storage.spark_path(table))
        .where(_input_predicate(source_input))
        .groupBy(SOURCE_CHECKSUM).count().collect()
    )
    return {row[SOURCE_CHECKSUM]: row["count"] for row in landed}


def _write(spark: SparkSession, rows: DataFrame, table: str, source_input: SourceInput, replace: bool,
           commit_tag: str) -> int:
    """One Delta commit: append a new input, or atomically replace an earlier version of it.

    Returns the rows written, from the commit's metrics. The commit carries `commit_tag` (run and
    input): appending no rows commits nothing, and the latest commit is then another input's.
    """
    writer = (rows.write.format("delta").option("mergeSchema", "true")  # a new raw column is kept, not fatal
              .option("userMetadata", commit_tag))
    path = storage.spark_path(table)
    if replace:
        predicate = f"{SOURCE} = {sql_literal(source_input.location)}"
        if source_input.source not in dimensions():
            predicate = f"{SOURCE_DATE} = DATE{sql_literal(source_input.source_date.isoformat())} AND {predicate}"
        writer.mode("overwrite").option("replaceWhere", predicate).save(path)
    else:
        writer.mode("append").partitionBy(SOURCE_DATE).save(path)
    last = DeltaTable.forPath(spark, path).history(1).select("userMetadata", "operationMetrics").first()
    return int(last["operationMetrics"].get("numOutputRows", 0)) if last["userMetadata"] == commit_tag else 0


def raw_columns(spark: SparkSession, table: str) -> dict[str, str]:
    """The stored mapping {delta-safe name: raw header} of a bronze table."""
    path = storage.spark_path(table)
    properties = {row["key"]: row["value"] for row in spark.sql(f"SHOW TBLPROPERTIES delta.`{path}`").collect()}
    return json.loads(properties.get(RAW_COLUMNS_PROPERTY, "{}"))


def _record_raw_columns(spark: SparkSession, table: str, mapping: dict[str, str]) -> None:
    """Keep the raw-to-safe mapping as a table property; merged, so older inputs' columns stay."""
    known = raw_columns(spark, table)
    merged = {**known, **mapping}
    if merged != known:
        value = json.dumps(merged, sort_keys=True)
        path = storage.spark_path(table)
        spark.sql(f"ALTER TABLE delta.`{path}` SET TBLPROPERTIES ({sql_literal(RAW_COLUMNS_PROPERTY)} = {sql_literal(value)})")


def ingest(spark: SparkSession, settings: Settings, source_input: SourceInput, run: RunContext) -> IngestOutcome:
    started = time.monotonic()
    started_at = dt.datetime.now(dt.timezone.utc)
    table = lake.bronze(settings, source_input.source)

    def outcome(status: str, rows=None, probe: Probe | None = None, message: str = "", fix: str = "") -> IngestOutcome:
        return IngestOutcome(
            source=source_input.source, location=source_input.location, source_date=source_input.source_date.isoformat(),
            status=status, rows=rows, size=probe.size if probe else None, checksum=probe.checksum if probe else None,
            table=table, seconds=round(time.monotonic() - started, 3), message=message, fix=fix,
            columns=probe.shape.header if probe and status in (INGESTED, REPLACED, UNCHANGED) else (),
        )

    def recorded(result: IngestOutcome) -> IngestOutcome:
        storage.write_json(manifest_location(settings, result), {
            **asdict(result),
            "destination": table,
            "run_id": run.run_id,
            "run_date": run.run_date.isoformat(),
            "started_at": started_at.isoformat(),
            "finished_at": dt.datetime.now(dt.timezone.utc).isoformat(),
            "checksum_algorithm": "sha256 of the rows as text, in load order" if source_input.kind == "jdbc" else "sha256",
        })
        return result

    try:
        probe = probe_input(settings, source_input)
    except InputNotReady as not_ready:
        return outcome(NOT_READY, message=str(not_ready))
    landed = _landed_versions(spark, table, source_input)
    if probe.checksum in landed:
        return outcome(UNCHANGED, rows=landed[probe.checksum], probe=probe, message="already in bronze with the same checksum")
    defect = structure_defect(probe.shape, source_input.source)
    if defect:
        return recorded(outcome(REJECTED_INPUT, rows=0, probe=probe, message=defect, fix=FIX_AT_SOURCE))
    if source_input.source in dimensions() and not run.accept_shrink:
        shrank = shrink_defect(probe.shape.records, max(landed.values(), default=None),
                               settings.bronze.max_snapshot_shrink)
        if shrank:
            return recorded(outcome(REJECTED_INPUT, rows=0, probe=probe, message=shrank, fix=FIX_SHRINK))
    version_before = _version(spark, table)
    batch = read_input(spark, settings, source_input, probe)
    try:
        rows, mapping = to_bronze_rows(batch, run, started_at.replace(tzinfo=None))
        written = _write(spark, rows, table, source_input, replace=bool(landed),
                         commit_tag=f"{run.run_id} {source_input.location} {probe.checksum}")
    finally:
        for cached in batch.cached:
            cached.unpersist()
    if written != probe.shape.records:  # Spark and the independent parse disagree: a record was split or lost
        _undo_write(spark, table, version_before, source_input, probe.checksum)
        message = (f"Spark read {written:,} records where an independent parse of the input counts "
                   f"{probe.shape.records:,}; the write was undone")
        return recorded(outcome(REJECTED_INPUT, rows=0, probe=probe, message=message, fix=FIX_AT_SOURCE))
    _record_raw_columns(spark, table, mapping)
    return recorded(outcome(REPLACED if landed else INGESTED, rows=written, probe=probe))


def _version(spark: SparkSession, table: str) -> int | None:
    path = storage.spark_path(table)
    if not DeltaTable.isDeltaTable(spark, path):
        return None
    return DeltaTable.forPath(spark, path).history(1).first()["version"]


def _undo_write(spark: SparkSession, table: str, version_before: int | None, source_input: SourceInput,
                checksum: str) -> None:
    """Take back the write just made: restore the version before it, or (a table it created) delete its rows."""
    bronze = DeltaTable.forPath(spark, storage.spark_path(table))
    if version_before is None:
        bronze.delete((F.col(SOURCE) == source_input.location) & (F.col(SOURCE_CHECKSUM) == checksum))
    else:
        bronze.restoreToVersion(version_before)
