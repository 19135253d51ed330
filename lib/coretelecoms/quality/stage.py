"""The silver quality stage of one run: reads bronze, writes `dq_issues`, validates with GX.

Everything is transformed and validated before anything is written, so a failing critical
expectation stops the run with nothing beyond bronze changed.
"""
from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field

from delta.tables import DeltaTable
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from coretelecoms.bronze.columns import SOURCE, SOURCE_CHECKSUM, SOURCE_DATE
from coretelecoms.bronze.ingest import INGESTED, REPLACED, UNCHANGED, IngestOutcome, bronze_table, raw_columns, sql_literal
from coretelecoms.platform import storage
from coretelecoms.platform.settings import Settings
from coretelecoms.quality.entities import ENTITIES
from coretelecoms.quality.expectations import ValidationOutcome, require_critical, validate
from coretelecoms.quality.transform import Accounting, EntityBatch, transform_batch
from coretelecoms.sources.catalog import DIMENSIONS

DQ_ISSUES = "dq_issues"


@dataclass
class QualityResult:
    batches: dict[str, EntityBatch] = field(default_factory=dict)
    inputs: dict[str, IngestOutcome] = field(default_factory=dict)  # the bronze input of each batch
    validations: dict[str, ValidationOutcome] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)  # entity -> why

    @property
    def accounting(self) -> dict[str, Accounting]:
        return {entity: batch.accounting for entity, batch in self.batches.items()}

    def release(self) -> None:
        for batch in self.batches.values():
            batch.release()


def silver_table(settings: Settings, name: str) -> str:
    return storage.join(settings.lake, "silver", name)


def validation_results_dir(settings: Settings) -> str:
    return storage.join(settings.lake, "_quality", "validations")


def data_docs_dir(settings: Settings) -> str:
    return str(settings.project_root / "var" / "data_docs")


def _watermark(settings: Settings, entity: str) -> str:
    return storage.join(settings.lake, "_state", "silver", f"{entity}.json")


def _processed_checksum(settings: Settings, entity: str) -> str | None:
    location = _watermark(settings, entity)
    return storage.read_json(location)["checksum"] if storage.exists(location) else None


def _needs_processing(settings: Settings, outcome: IngestOutcome) -> str | None:
    """None when the entity's batch must go through quality, else why it is skipped."""
    if outcome.status not in (INGESTED, REPLACED, UNCHANGED):
        return f"bronze input {outcome.status}"
    if outcome.source in DIMENSIONS and _processed_checksum(settings, outcome.source) == outcome.checksum:
        return "dimension unchanged since it was last processed"
    return None


def read_bronze_batch(spark: SparkSession, settings: Settings, outcome: IngestOutcome) -> tuple[DataFrame, dict[str, str]]:
    """The bronze rows of exactly the input this run ingested (or found unchanged)."""
    table = bronze_table(settings, outcome.source)
    rows = spark.read.format("delta").load(storage.spark_path(table))
    rows = rows.where((F.col(SOURCE) == outcome.location) & (F.col(SOURCE_CHECKSUM) == outcome.checksum))
    if outcome.source not in DIMENSIONS:
        rows = rows.where(F.col(SOURCE_DATE) == F.lit(dt.date.fromisoformat(outcome.source_date)))
    return rows, raw_columns(spark, table)


def check_batches(spark: SparkSession, settings: Settings, run_id: str, run_date: dt.date,
                  bronze: list[IngestOutcome], progress=print) -> QualityResult:
    """Double pass and Great Expectations for every entity with a batch; raises on a critical failure."""
    result = QualityResult()
    try:
        for outcome in bronze:
            why_not = _needs_processing(settings, outcome)
            if why_not:
                result.skipped[outcome.source] = why_not
                continue
            started = time.monotonic()
            frame, raw_by_column = read_bronze_batch(spark, settings, outcome)
            batch = transform_batch(ENTITIES[outcome.source], frame, raw_by_column, run_id, run_date)
            result.batches[outcome.source] = batch
            result.inputs[outcome.source] = outcome
            validation = validate(batch.rows, outcome.source, run_id, validation_results_dir(settings))
            result.validations[outcome.source] = validation
            counts = batch.accounting
            progress(
                f"  silver {outcome.source:<15} in {counts.rows_in:>9,}  clean {counts.clean:>9,}  repaired {counts.repaired:>6,}"
                f"  rejected {counts.rejected_total:>5,}  duplicates {counts.collapsed:>5,}  {time.monotonic() - started:6.1f}s"
            )
        for validation in result.validations.values():
            require_critical(validation)
    except Exception:
        result.release()  # nothing was written; free the cached batches before the run fails
        raise
    return result


def write_issues(spark: SparkSession, settings: Settings, result: QualityResult) -> None:
    """Replace each processed input's issues in `dq_issues` (so re-running a date is idempotent)."""
    table = storage.spark_path(silver_table(settings, DQ_ISSUES))
    for entity, batch in result.batches.items():
        source_input = result.inputs[entity]
        writer = batch.issues.write.format("delta")
        if DeltaTable.isDeltaTable(spark, table):
            predicate = f"entity = {sql_literal(entity)} AND {SOURCE} = {sql_literal(source_input.location)}"
            writer.mode("overwrite").option("replaceWhere", predicate).save(table)
        else:
            writer.mode("append").partitionBy("entity").save(table)


def mark_dimensions_processed(settings: Settings, result: QualityResult) -> None:
    """Record which dimension versions reached silver; called once the run's last lake write is done,
    so a run killed before it processes the same versions again."""
    for entity, source_input in result.inputs.items():
        if entity in DIMENSIONS:
            storage.write_json(_watermark(settings, entity), {"checksum": source_input.checksum, "run_id": result.batches[entity].run_id})


def register_lake_tables(spark: SparkSession, settings: Settings) -> list[str]:
    """Temporary views named after every Delta table of the lake (`dq_issues`, `bronze_call_logs`...)."""
    names = []
    for layer in ("bronze", "silver"):
        for entity in ENTITIES.keys() | {DQ_ISSUES}:
            path = storage.spark_path(storage.join(settings.lake, layer, entity))
            if DeltaTable.isDeltaTable(spark, path):
                name = entity if layer == "silver" else f"{layer}_{entity}"
                spark.read.format("delta").load(path).createOrReplaceTempView(name)
                names.append(name)
    return names
