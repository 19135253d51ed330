"""Transformer (SPEC §4): the double pass over one bronze batch of one entity, and the routing.

Every field's cleaner runs once (`clean_values`). Pass one finds problems on the raw values and what
the cleaners made of them (`checks.find_issues`); pass two keeps the cleaned, typed value of every
field, nulling the fields a repairable issue names. Each row then goes to exactly one place:

    rejected   the natural key (or a reference a complaint cannot load without) is unusable
    collapsed  a duplicate of the batch's kept row for the same key (newest generation date, then
               latest source row, wins)
    repaired   kept, with the failed fields nulled
    clean      kept as it is (warnings are only noted)

Every problem goes to `dq_issues` with the field, the rule, the original value, the whole raw
record and its bronze lineage, and the accounting proves in = kept + rejected + collapsed.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from coretelecoms.bronze.columns import SOURCE, SOURCE_CHECKSUM, SOURCE_DATE, SOURCE_ROW
from coretelecoms.bronze.columns import RUN_ID as BRONZE_RUN_ID
from coretelecoms.quality import cleaning
from coretelecoms.quality.checks import ISSUES, KINDS, VALUE_LIMIT, find_issues, has_issue, issue
from coretelecoms.platform.tables import REJECT, REPAIR, WARNING, EntitySpec

ROUTE = "_route"
REASON = "_reason"
CLEAN, REPAIRED, REJECTED, COLLAPSED = "clean", "repaired", "rejected", "collapsed"
ROUTES = (CLEAN, REPAIRED, REJECTED, COLLAPSED)
SILVER_LINEAGE = (SOURCE, SOURCE_ROW, SOURCE_DATE, SOURCE_CHECKSUM)


class AccountingError(RuntimeError):
    """Rows went missing or were counted twice: the run must not go on."""


@dataclass(frozen=True)
class Accounting:
    entity: str
    rows_in: int
    clean: int
    repaired: int
    rejected: dict[str, int] = field(default_factory=dict)  # by reason, e.g. "customer_id: missing"
    collapsed: int = 0
    warnings: int = 0
    unknown_columns: tuple[str, ...] = ()

    @property
    def kept(self) -> int:
        return self.clean + self.repaired

    @property
    def rejected_total(self) -> int:
        return sum(self.rejected.values())

    def check(self) -> Accounting:
        if self.rows_in != self.kept + self.rejected_total + self.collapsed:
            raise AccountingError(
                f"{self.entity}: {self.rows_in} rows in but {self.kept} kept + {self.rejected_total} rejected + "
                f"{self.collapsed} collapsed = {self.kept + self.rejected_total + self.collapsed}"
            )
        return self


@dataclass
class EntityBatch:
    """The outcome of the double pass for one entity: silver-ready rows, issues, and the counts."""

    entity: str
    run_id: str
    routed: DataFrame  # every input row with its route; cached until `release`
    rows: DataFrame  # typed, cleaned, one row per natural key
    issues: DataFrame  # dq_issues rows
    accounting: Accounting

    def release(self) -> None:
        self.routed.unpersist()


def to_canonical_columns(spec: EntitySpec, raw_by_column: dict[str, str]) -> tuple[Callable[[DataFrame], DataFrame], tuple[str, ...]]:
    """Rename a bronze frame's columns to canonical names; a field the source lacks becomes null.

    Returns the transformation and the raw names that were not known (kept, and reported).
    """
    def transform(frame: DataFrame) -> DataFrame:
        data_columns = [c for c in frame.columns if not c.startswith("_")]
        mapping = cleaning.canonical_columns([raw_by_column.get(c, c) for c in data_columns], spec.name)
        renamed = [F.col(c).alias(mapping[raw_by_column.get(c, c)]) for c in data_columns]
        present = set(mapping.values())
        absent = [F.lit(None).cast("string").alias(f.name) for f in spec.fields if f.name not in present]
        return frame.select(*renamed, *absent, *[c for c in frame.columns if c.startswith("_")])

    unknown = cleaning.canonical_columns(list(raw_by_column.values()), spec.name).unknown
    return transform, tuple(unknown)


# The derivations an EntitySpec's derived fields name, from the raw value of their source field.
DERIVATIONS: dict[str, Callable[[Column], Column]] = {
    "address_state_code": cleaning.address_state_code,
    "address_zip": cleaning.address_zip,
    "state_name": cleaning.state_name,
}

VALUE_PREFIX = "_value_"  # a field's cleaned value before any issue is applied


def clean_values(spec: EntitySpec) -> Callable[[DataFrame], DataFrame]:
    """Every field's cleaner applied once to its raw value: the checks and the second pass share it."""
    def transform(frame: DataFrame) -> DataFrame:
        return frame.withColumns({f"{VALUE_PREFIX}{f.name}": KINDS[f.kind].clean(F.col(f.name)) for f in spec.fields})

    return transform


def _cleaned_value(name: str) -> Column:
    return F.col(f"{VALUE_PREFIX}{name}")


def clean_fields(spec: EntitySpec) -> Callable[[DataFrame], DataFrame]:
    """Second pass: typed, cleaned values (from `clean_values`); a field with a repairable issue is nulled."""
    def transform(frame: DataFrame) -> DataFrame:
        typed = {f.name: F.when(~has_issue(REPAIR, f.name), _cleaned_value(f.name)) for f in spec.fields}
        raw = {f.name: F.col(f.name) for f in spec.fields}
        for derived in spec.derived:  # in order: a derived column may come from an earlier one
            raw[derived.name] = typed[derived.name] = DERIVATIONS[derived.derivation](raw[derived.source])
        return frame.withColumns({f"_clean_{name}": column for name, column in typed.items()}).drop(
            *[f"{VALUE_PREFIX}{f.name}" for f in spec.fields])

    return transform


def _first_rejection(frame_issues: Column) -> Column:
    rejection = F.filter(frame_issues, lambda found: found["severity"] == REJECT)[0]
    return F.concat_ws(": ", rejection["field"], rejection["rule"])


def route(spec: EntitySpec) -> Callable[[DataFrame], DataFrame]:
    """Rejected rows first; among the rest, the newest row per key is kept and the others collapse."""
    def transform(frame: DataFrame) -> DataFrame:
        key = F.col(f"_clean_{spec.key}")
        order = [F.col(f"_clean_{spec.generation_date}").desc_nulls_last()] if spec.generation_date else []
        newest_first = Window.partitionBy(key).orderBy(*order, F.col(SOURCE_ROW).desc())
        rejected = has_issue(REJECT)
        rank = F.when(~rejected, F.row_number().over(newest_first))
        return (
            frame.withColumn("_rank", rank)
            .withColumn(
                ROUTE,
                F.when(rejected, REJECTED)
                .when(F.col("_rank") > 1, COLLAPSED)
                .when(has_issue(REPAIR), REPAIRED)
                .otherwise(CLEAN),
            )
            .withColumn(REASON, F.when(rejected, _first_rejection(F.col(ISSUES))))
            .drop("_rank")
        )

    return transform


RECORD = "_record"


def keep_raw_record_of_issues(spec: EntitySpec) -> Callable[[DataFrame], DataFrame]:
    """The raw record as JSON where a row goes to `dq_issues`, and no raw field but the key.

    Only those rows ever show their raw values again, so the routed frame that stays cached for the
    rest of the run holds one small column instead of every raw field of every row.
    """
    raw_fields = [f.name for f in spec.fields]

    def transform(frame: DataFrame) -> DataFrame:
        reported = (F.size(ISSUES) > 0) | (F.col(ROUTE) == COLLAPSED)
        # Each raw value cut like an issue's, so one 100,000-character field cannot bloat the record.
        record = F.to_json(F.struct(*[F.substring(name, 1, VALUE_LIMIT).alias(name) for name in raw_fields]))
        return frame.withColumn(RECORD, F.when(reported, record)).drop(
            *[name for name in raw_fields if name != spec.key])

    return transform


def silver_rows(spec: EntitySpec, frame: DataFrame, run_id: str, run_date) -> DataFrame:
    typed = [c for c in frame.columns if c.startswith("_clean_")]
    return frame.where(F.col(ROUTE).isin(CLEAN, REPAIRED)).select(
        *[F.col(c).alias(c[len("_clean_"):]) for c in typed],
        *SILVER_LINEAGE,
        F.lit(run_id).alias("_run_id"),
        F.lit(run_date).cast("date").alias("_run_date"),
    )


def issue_rows(spec: EntitySpec, frame: DataFrame, run_id: str, run_date) -> DataFrame:
    """One dq_issues row per (record, field, rule), with the original record and its lineage."""
    duplicate = issue(spec.key, "duplicate_key", F.col(spec.key), "collapsed")
    found = F.when(F.col(ROUTE) == COLLAPSED, F.concat(F.col(ISSUES), F.array(duplicate))).otherwise(F.col(ISSUES))
    return (
        frame.where((F.size(ISSUES) > 0) | (F.col(ROUTE) == COLLAPSED))
        .select(
            F.lit(spec.name).alias("entity"),
            F.col(spec.key).alias("natural_key"),
            F.explode(found).alias("issue"),
            F.col(ROUTE).alias("outcome"),
            F.col(RECORD).alias("record"),
            *SILVER_LINEAGE,
            F.col(BRONZE_RUN_ID).alias("bronze_run_id"),
        )
        .select(
            "entity", "natural_key",
            F.col("issue.field").alias("field"), F.col("issue.rule").alias("rule"),
            F.col("issue.severity").alias("severity"), F.col("issue.value").alias("original_value"),
            "outcome", "record", *SILVER_LINEAGE, "bronze_run_id",
            F.lit(run_id).alias("run_id"), F.lit(run_date).cast("date").alias("run_date"),
        )
    )


def account(spec: EntitySpec, routed: DataFrame, unknown_columns: tuple[str, ...]) -> Accounting:
    counts = (
        routed.groupBy(ROUTE, REASON)
        .agg(F.count("*").alias("rows"), F.sum(F.when(has_issue(WARNING), 1).otherwise(0)).alias("warnings"))
        .collect()
    )
    by_route = {name: 0 for name in ROUTES}
    rejected: dict[str, int] = {}
    for row in counts:
        by_route[row[ROUTE]] += row["rows"]
        if row[ROUTE] == REJECTED:
            rejected[row[REASON]] = rejected.get(row[REASON], 0) + row["rows"]
    return Accounting(
        entity=spec.name,
        rows_in=sum(row["rows"] for row in counts),
        clean=by_route[CLEAN],
        repaired=by_route[REPAIRED],
        rejected=dict(sorted(rejected.items())),
        collapsed=by_route[COLLAPSED],
        warnings=sum(row["warnings"] for row in counts),
        unknown_columns=unknown_columns,
    ).check()


def transform_batch(spec: EntitySpec, bronze: DataFrame, raw_by_column: dict[str, str], run_id: str, run_date) -> EntityBatch:
    """The double pass over one entity's bronze batch; the routed frame is cached until released."""
    canonical, unknown = to_canonical_columns(spec, raw_by_column)
    routed = (
        bronze.transform(canonical)
        .transform(clean_values(spec))
        .transform(find_issues(spec, cleaned=_cleaned_value))
        .transform(clean_fields(spec))
        .transform(route(spec))
        .transform(keep_raw_record_of_issues(spec))
        .persist()
    )
    accounting = account(spec, routed, unknown)
    return EntityBatch(
        entity=spec.name,
        run_id=run_id,
        routed=routed,
        rows=silver_rows(spec, routed, run_id, run_date),
        issues=issue_rows(spec, routed, run_id, run_date),
        accounting=accounting,
    )
