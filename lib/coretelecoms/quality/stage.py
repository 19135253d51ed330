"""The silver quality stage of one run: reads bronze, writes `dq_issues`, validates with GX.

Everything is transformed and validated before anything is written, so a failing critical
expectation stops the run with nothing beyond bronze changed.
"""
from __future__ import annotations

import datetime as dt
import mimetypes
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import reduce
from pathlib import Path

from delta.tables import DeltaTable
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from coretelecoms.bronze.columns import LINEAGE_COLUMNS, SOURCE, SOURCE_CHECKSUM, SOURCE_DATE, delta_safe_names
from coretelecoms.bronze.ingest import INGESTED, REPLACED, UNCHANGED, IngestOutcome
from coretelecoms.platform import lake, storage
from coretelecoms.platform.settings import Settings
from coretelecoms.platform.spark import sql_literal
from coretelecoms.platform.tables import DQ_ISSUES, ENTITIES, dimensions
from coretelecoms.quality.expectations import ValidationOutcome, build_data_docs, require_critical, validate
from coretelecoms.quality.transform import Accounting, EntityBatch, transform_batch

# Problematic records are kept a year. Deleting the rows here keeps the table consistent; the lake
# bucket's lifecycle rule (infra/s3.tf) then expires the files Delta no longer references.
DQ_ISSUES_KEPT_DAYS = 365


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

    def __enter__(self) -> QualityResult:
        return self

    def __exit__(self, *failure) -> None:
        self.release()  # the batches stay cached while the run's lake writes use them, no longer


def publish_data_docs(settings: Settings) -> str:
    """Build the Data Docs site from every kept validation result into `settings.data_docs`; return
    its index.html. GX builds on a local disk: results and site on S3 go through a scratch folder."""
    results, site = lake.validations(settings), settings.data_docs
    if not storage.is_s3(results) and not storage.is_s3(site):
        return build_data_docs(results, site)
    with tempfile.TemporaryDirectory() as scratch:
        local_results, local_site = Path(scratch, "results"), Path(scratch, "site")
        for location in storage.list_files(results, suffix=".json"):
            copy = local_results / location[len(results.rstrip("/")) + 1:]
            copy.parent.mkdir(parents=True, exist_ok=True)
            copy.write_bytes(storage.read_bytes(location))
        build_data_docs(str(local_results), str(local_site))
        for path in sorted(p for p in local_site.rglob("*") if p.is_file()):
            kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            storage.write_bytes(storage.join(site, str(path.relative_to(local_site))), path.read_bytes(), kind)
    return storage.join(site, "index.html")


def _processed_checksum(settings: Settings, entity: str) -> str | None:
    location = lake.processed_dimension(settings, entity)
    return storage.read_json(location)["checksum"] if storage.exists(location) else None


def _needs_processing(settings: Settings, outcome: IngestOutcome) -> str | None:
    """None when the entity's batch must go through quality, else why it is skipped."""
    if outcome.status not in (INGESTED, REPLACED, UNCHANGED):
        return f"bronze input {outcome.status}"
    if outcome.source in dimensions() and _processed_checksum(settings, outcome.source) == outcome.checksum:
        return "dimension unchanged since it was last processed"
    return None


def read_bronze_batch(spark: SparkSession, settings: Settings, outcome: IngestOutcome) -> tuple[DataFrame, dict[str, str]]:
    """The bronze rows of exactly the input this run ingested (or found unchanged)."""
    table = lake.bronze(settings, outcome.source)
    rows = spark.read.format("delta").load(storage.spark_path(table))
    rows = rows.where((F.col(SOURCE) == outcome.location) & (F.col(SOURCE_CHECKSUM) == outcome.checksum))
    if outcome.source not in dimensions():
        rows = rows.where(F.col(SOURCE_DATE) == F.lit(dt.date.fromisoformat(outcome.source_date)))
    # Only this input's own columns: the table also has every other input's (null here).
    own = delta_safe_names(list(outcome.columns))
    return rows.select(*own, *LINEAGE_COLUMNS), dict(zip(own, outcome.columns))


def check_batches(spark: SparkSession, settings: Settings, run_id: str, run_date: dt.date,
                  bronze: list[IngestOutcome], progress=print,
                  timing: Callable[[str, float], None] | None = None) -> QualityResult:
    """Double pass and Great Expectations for every entity with a batch; raises on a critical failure.

    `timing("great_expectations", seconds)` is called after each validation when given."""
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
            validating = time.monotonic()
            validation = validate(batch.rows, outcome.source, run_id, lake.validations(settings))
            if timing is not None:
                timing("great_expectations", time.monotonic() - validating)
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


def write_issues(spark: SparkSession, settings: Settings, result: QualityResult, run_date: dt.date) -> None:
    """Replace each processed input's issues in `dq_issues` (so re-running a date is idempotent), and
    drop the issues of runs more than DQ_ISSUES_KEPT_DAYS before `run_date`."""
    table = storage.spark_path(lake.silver(settings, DQ_ISSUES))
    if result.batches:  # one commit for every input of the run
        issues = reduce(DataFrame.unionByName, [batch.issues for batch in result.batches.values()])
        if DeltaTable.isDeltaTable(spark, table):
            predicate = " OR ".join(
                f"(entity = {sql_literal(entity)} AND {SOURCE} = {sql_literal(result.inputs[entity].location)})"
                for entity in result.batches)
            issues.write.format("delta").mode("overwrite").option("replaceWhere", predicate).save(table)
        else:
            issues.write.format("delta").mode("append").partitionBy("entity").save(table)
    if DeltaTable.isDeltaTable(spark, table):
        cutoff = run_date - dt.timedelta(days=DQ_ISSUES_KEPT_DAYS)
        DeltaTable.forPath(spark, table).delete(F.col("run_date") < F.lit(cutoff))


def mark_dimensions_processed(settings: Settings, result: QualityResult) -> None:
    """Record which dimension versions reached silver; called once the run's last lake write is done,
    so a run killed before it processes the same versions again."""
    for entity, source_input in result.inputs.items():
        if entity in dimensions():
            storage.write_json(lake.processed_dimension(settings, entity), {"checksum": source_input.checksum, "run_id": result.batches[entity].run_id})

