"""Bronze: land every input unchanged as Delta, with lineage columns and a manifest per input.

An input is identified by its location and checksum: the same input again is skipped, a changed
input replaces its earlier rows (one atomic Delta commit), and a missing daily input is "not ready".
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

RAW_COLUMNS_PROPERTY = "coretelecoms.raw_columns"  # JSON {delta-safe name: raw header}

INGESTED, REPLACED, UNCHANGED, NOT_READY = "ingested", "replaced", "unchanged", "not_ready"


@dataclass(frozen=True)
class RunContext:
    run_id: str
    run_date: dt.date


@dataclass(frozen=True)
class IngestOutcome:
    source: str
    location: str
    source_date: str
    status: str  # ingested, replaced, unchanged, not_ready
    rows: int | None
    size: int | None
    checksum: str | None
    table: str
    seconds: float
    message: str = ""


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

    def outcome(status: str, rows=None, probe: Probe | None = None, message: str = "") -> IngestOutcome:
        return IngestOutcome(
            source=source_input.source, location=source_input.location, source_date=source_input.source_date.isoformat(),
            status=status, rows=rows, size=probe.size if probe else None, checksum=probe.checksum if probe else None,
            table=table, seconds=round(time.monotonic() - started, 3), message=message,
        )

    try:
        probe = probe_input(settings, source_input)
    except InputNotReady as not_ready:
        return outcome(NOT_READY, message=str(not_ready))
    landed = _landed_versions(spark, table, source_input)
    if probe.checksum in landed:
        return outcome(UNCHANGED, rows=landed[probe.checksum], probe=probe, message="already in bronze with the same checksum")
    batch = read_input(spark, settings, source_input, probe)
    try:
        rows, mapping = to_bronze_rows(batch, run, started_at.replace(tzinfo=None))
        written = _write(spark, rows, table, source_input, replace=bool(landed),
                         commit_tag=f"{run.run_id} {source_input.location} {probe.checksum}")
    finally:
        for cached in batch.cached:
            cached.unpersist()
    _record_raw_columns(spark, table, mapping)
    result = outcome(REPLACED if landed else INGESTED, rows=written, probe=probe)
    storage.write_json(
        manifest_location(settings, result),
        {
            **asdict(result),
            "destination": table,
            "run_id": run.run_id,
            "run_date": run.run_date.isoformat(),
            "started_at": started_at.isoformat(),
            "finished_at": dt.datetime.now(dt.timezone.utc).isoformat(),
            "checksum_algorithm": "sha256 of the rows as text, in load order" if source_input.kind == "jdbc" else "sha256",
        },
    )
    return result
