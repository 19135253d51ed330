"""Great Expectations on every silver batch: one suite per entity, kept as files in expectations/.

Each expectation carries `meta.severity`: a failing `critical` one stops the load before anything is
written (`require_critical`); a failing `warning` is kept in the results and shown in Data Docs.
Results are kept as JSON per run under `<results_dir>/<run_id>/<entity>.json`, the input of the
static Data Docs site built by `build_data_docs`.
"""
from __future__ import annotations

import datetime as dt
import importlib
import json
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

from typing import TYPE_CHECKING

from pyspark.sql import DataFrame

from coretelecoms import packaged
from coretelecoms.platform import storage

# Great Expectations is imported where it is used: importing it takes about 3 s, which every command
# (`coretelecoms --help` included) would otherwise pay.
if TYPE_CHECKING:
    import great_expectations as gx
    from great_expectations.core.expectation_validation_result import ExpectationSuiteValidationResult
    from great_expectations.data_context import EphemeralDataContext
    from great_expectations.data_context.types.resource_identifiers import ValidationResultIdentifier


def start_importing() -> None:
    """Import Great Expectations on a background thread: its 3.5 s of Python then overlap the JVM's
    start and bronze, when the driver only waits on the JVM, instead of adding to silver in every new
    process (each spark-submit). The first `import great_expectations` after this waits for it to end;
    should it fail here, that import raises the error where it matters."""
    if "great_expectations" in sys.modules:
        return

    def import_quietly() -> None:
        try:
            importlib.import_module("great_expectations")
        except Exception:  # noqa: BLE001 - raised again by the import that needs the module
            pass

    threading.Thread(target=import_quietly, name="import great_expectations", daemon=True).start()


EXPECTATIONS_DIR = packaged.folder("expectations")
# Where suites are read from, first match wins: the project's folder; a source registered at run
# time adds its own (tests/conformance/test_new_channel.py).
SUITE_FOLDERS: list[Path] = [EXPECTATIONS_DIR]
CRITICAL, WARNING = "critical", "warning"
EXAMPLES = 5
# SUMMARY, not COMPLETE: a handful of unexpected values per expectation, never every bad row of 380k.
DETAIL_FORMAT = {"result_format": "SUMMARY", "partial_unexpected_count": EXAMPLES}
DATASOURCE, BATCH_DEFINITION, SITE = "silver", "whole batch", "coretelecoms"


@dataclass(frozen=True)
class ExpectationFailure:
    suite: str
    expectation_type: str
    column: str  # "" for table-level expectations; "A, B" for column pairs
    severity: str
    unexpected_count: int | None  # None where GX reports an observed value instead (row count, type)
    examples: list

    def describe(self) -> str:
        count = "" if self.unexpected_count is None else f"{self.unexpected_count} unexpected, "
        return f"{self.expectation_type}({self.column}): {count}e.g. {self.examples}"


@dataclass(frozen=True)
class ValidationOutcome:
    suite: str
    success_critical: bool
    failures: list[ExpectationFailure]
    statistics: dict
    result_location: str
    tally: dict[str, dict[str, int]]  # severity -> {"passed": n, "failed": n}, both severities always

    @property
    def critical_failures(self) -> list[ExpectationFailure]:
        return [failure for failure in self.failures if failure.severity == CRITICAL]


class CriticalExpectationFailed(RuntimeError):
    def __init__(self, outcome: ValidationOutcome):
        self.outcome = outcome
        lines = [failure.describe() for failure in outcome.critical_failures]
        super().__init__(
            f"suite '{outcome.suite}': {len(lines)} critical expectation(s) failed "
            f"(results: {outcome.result_location}):\n  - " + "\n  - ".join(lines)
        )


def suite_path(entity: str) -> Path:
    found = [folder / f"{entity}.json" for folder in SUITE_FOLDERS if (folder / f"{entity}.json").is_file()]
    if not found:
        raise FileNotFoundError(f"no expectation suite {entity}.json in {', '.join(map(str, SUITE_FOLDERS))}")
    return found[0]


def load_suite(entity: str) -> gx.ExpectationSuite:
    import great_expectations as gx

    return gx.ExpectationSuite(**json.loads(suite_path(entity).read_text()))


def validate(frame: DataFrame, entity: str, run_id: str, results_dir: str) -> ValidationOutcome:
    """Run the entity's suite on `frame` through GX's Spark data source and keep the result as JSON.

    GX scans the frame once per Spark job (17 for a clean call-log batch). The frame is not cached
    here: the caller, which writes the same rows afterwards, should cache it once for both (on 2.5M
    customers validation drops from ~50 s to 10-20 s); for a small, cheap lineage, recomputing costs
    no more than materialising a cache of every column. GX's own cache is turned off (see
    `_validation_definition`).
    """
    import great_expectations as gx

    suite = load_suite(entity)
    definition = _validation_definition(_context(), suite, entity)
    run = gx.RunIdentifier(run_name=run_id, run_time=dt.datetime.now(dt.timezone.utc))
    result = _run_with_examples(definition, {"dataframe": frame}, run)
    document = result.to_json_dict()
    location = storage.join(results_dir, run_id, f"{entity}.json")
    storage.write_json(location, document)
    return outcome_of(document, location)


def require_critical(outcome: ValidationOutcome) -> None:
    if not outcome.success_critical:
        raise CriticalExpectationFailed(outcome)


def outcome_of(document: dict, location: str) -> ValidationOutcome:
    """Failures of a suite validation result (as JSON), each with its severity and a few examples."""
    suite = document["suite_name"]
    failures = [_failure(suite, result) for result in document["results"] if not result["success"]]
    tally = {severity: {"passed": 0, "failed": 0} for severity in (CRITICAL, WARNING)}
    for result in document["results"]:
        tally[_severity(result["expectation_config"])]["passed" if result["success"] else "failed"] += 1
    return ValidationOutcome(
        suite=suite,
        success_critical=not any(failure.severity == CRITICAL for failure in failures),
        failures=failures,
        statistics=document["statistics"],
        result_location=location,
        tally=tally,
    )


def build_data_docs(results_dir: str, site_dir: str) -> str:
    """Build GX's static Data Docs site with every suite and every kept result; return its index.html."""
    context = _context()
    context.add_data_docs_site(SITE, {
        "class_name": "SiteBuilder",
        "show_how_to_buttons": False,
        "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(Path(site_dir).resolve())},
        "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
    })
    for entity in sorted({path.stem for folder in SUITE_FOLDERS for path in folder.glob("*.json")}):
        context.suites.add(load_suite(entity))
    for path in sorted(Path(results_dir).glob("*/*.json")):
        result = _load_result(path)
        context.validation_results_store.set(_result_key(result, run_id=path.parent.name), result)
    context.build_data_docs(site_names=[SITE])
    return str(Path(site_dir).resolve() / "index.html")


def _context() -> EphemeralDataContext:
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    """A fresh in-memory context: the suites live in expectations/, the results in results_dir."""
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)  # batch jobs log, they do not draw
    return context


def _validation_definition(context: EphemeralDataContext, suite: gx.ExpectationSuite, entity: str) -> gx.ValidationDefinition:
    import great_expectations as gx

    # GX would persist every validated frame and never release it: each run's silver rows (2.5M
    # customers at full volume) stayed cached in the driver's heap for the rest of the process.
    batch_definition = (
        context.data_sources.add_spark(DATASOURCE, persist=False)
        .add_dataframe_asset(entity)
        .add_batch_definition_whole_dataframe(BATCH_DEFINITION)
    )
    return context.validation_definitions.add(
        gx.ValidationDefinition(name=entity, data=batch_definition, suite=context.suites.add(suite))
    )


def _run_with_examples(definition: gx.ValidationDefinition, batch_parameters: dict,
                       run: gx.RunIdentifier) -> ExpectationSuiteValidationResult:
    """Pass/fail of every expectation first, then examples for the failed ones only.

    BOOLEAN_ONLY lets GX bundle the counts into a few aggregate Spark jobs; asking for examples adds
    a filter-and-collect job per expectation, which on a clean batch would be pure cost.
    """
    from great_expectations.core.result_format import ResultFormat

    result = definition.run(batch_parameters=batch_parameters, result_format=ResultFormat.BOOLEAN_ONLY, run_id=run)
    if result.success:
        return result
    batch = definition.batch_definition.get_batch(batch_parameters=batch_parameters)
    by_id = {expectation.id: expectation for expectation in definition.suite.expectations}
    result.results = [
        outcome if outcome.success
        else batch.validate(by_id[outcome.expectation_config.id], result_format=DETAIL_FORMAT)
        for outcome in result.results
    ]
    return result


def _failure(suite: str, result: dict) -> ExpectationFailure:
    config, detail = result["expectation_config"], result.get("result") or {}
    kwargs = config["kwargs"]
    columns = [kwargs[name] for name in ("column", "column_A", "column_B") if kwargs.get(name)]
    return ExpectationFailure(
        suite=suite,
        expectation_type=config["type"],
        column=", ".join(columns),
        severity=_severity(config),
        unexpected_count=detail.get("unexpected_count"),
        examples=_examples(result, detail),
    )


def _severity(config: dict) -> str:
    # An unknown severity counts as critical: a typo in a suite must not silently let data through.
    severity = (config.get("meta") or {}).get("severity", CRITICAL)
    return severity if severity in (CRITICAL, WARNING) else CRITICAL


def _examples(result: dict, detail: dict) -> list:
    if "partial_unexpected_list" in detail:
        return detail["partial_unexpected_list"][:EXAMPLES]
    if "mismatched" in detail.get("details", {}):  # a column set: name the missing or surplus columns
        return [detail["details"]["mismatched"]]
    if "observed_value" in detail:
        return [detail["observed_value"]]
    return _exception_messages(result.get("exception_info") or {})[:EXAMPLES]


def _exception_messages(info: dict) -> list[str]:
    """GX reports one exception, or one per metric it could not compute (keyed by the metric's id)."""
    if "exception_message" in info:
        return [info["exception_message"]] if info["exception_message"] else []
    return sorted({message for nested in info.values() if isinstance(nested, dict)
                   for message in _exception_messages(nested)})


def _load_result(path: Path) -> ExpectationSuiteValidationResult:
    from great_expectations.core.expectation_validation_result import ExpectationSuiteValidationResultSchema

    return ExpectationSuiteValidationResultSchema().load(json.loads(path.read_text()))


def _result_key(result: ExpectationSuiteValidationResult, run_id: str) -> ValidationResultIdentifier:
    import great_expectations as gx
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )

    run_time = (result.meta.get("run_id") or {}).get("run_time")
    return ValidationResultIdentifier(
        expectation_suite_identifier=ExpectationSuiteIdentifier(name=result.suite_name),
        run_id=gx.RunIdentifier(run_name=run_id, run_time=run_time),
        batch_identifier=f"{DATASOURCE}-{result.suite_name}",
    )
