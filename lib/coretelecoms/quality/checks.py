"""DataQualityChecker (SPEC §4): per row, which fields failed which rule, with the original value.

`find_issues(spec)` is a `DataFrame -> DataFrame` transformation on raw (string) values under
canonical column names. It adds one column, `_issues`: an array of
`struct(field, rule, value, severity)`, empty for a clean row. It never changes a value.

The array is built with `flatten` over one `[issue]`-or-`[]` per check, never with `filter` or
another higher-order function: those have no code generation in Spark 3.5, and Spark would then
interpret every expression beneath them, the regex cleaners included (3-4x slower per value).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from coretelecoms.quality import cleaning as clean
from coretelecoms.platform.tables import REPAIR, WARNING, EntitySpec

ISSUES = "_issues"
MISSING = "missing"
OUT_OF_RANGE = "out_of_range"
VALUE_LIMIT = 200  # characters of an offending value kept in dq_issues: enough to see it, never 100,000
ISSUE_TYPE = T.StructType([T.StructField(name, T.StringType()) for name in ("field", "rule", "value", "severity")])

# The cleaned value of a field, by name: by default its cleaner applied to the raw column; the
# transformer passes columns it computed once for both the checks and the clean values.
Cleaned = Callable[[str], Column]


@dataclass(frozen=True)
class Kind:
    """How one kind of value is cleaned, and the rule a non-empty value breaks when it cannot be.

    `out_of_range` tells a well-formed value outside the accepted range (rule OUT_OF_RANGE) from one
    that cannot be read at all.
    """

    clean: Callable[[Column], Column]
    rule: str
    out_of_range: Callable[[Column], Column] | None = None


def _agent_state(column: Column) -> Column:
    return clean.state_name(clean.state_code(column))


KINDS: dict[str, Kind] = {
    "customer_id": Kind(clean.clean_customer_id, "invalid_uuid"),
    "agent_id": Kind(clean.clean_agent_id, "invalid_agent_id"),
    "complaint_id": Kind(clean.clean_complaint_id, "invalid_id"),
    "person_name": Kind(clean.clean_person_name, "invalid_name"),
    "email": Kind(clean.clean_email, "invalid_email"),
    "gender": Kind(clean.clean_gender, "invalid_enumeration"),
    "status": Kind(clean.clean_status, "invalid_enumeration"),
    "category": Kind(clean.clean_category, "invalid_enumeration"),
    "channel": Kind(clean.clean_channel, "invalid_enumeration"),
    "experience": Kind(clean.clean_experience, "invalid_enumeration"),
    "date": Kind(clean.parse_date, "unparseable_date", clean.out_of_range_datetime),
    "timestamp": Kind(clean.parse_timestamp, "unparseable_timestamp", clean.out_of_range_datetime),
    "address": Kind(clean.clean_text, "invalid_address"),
    "us_state_name": Kind(_agent_state, "invalid_state"),
}


def issue(field: str, rule: str | Column, value: Column, severity: str) -> Column:
    """One issue; the offending value is cut to VALUE_LIMIT characters."""
    return F.struct(
        F.lit(field).alias("field"), F.lit(rule).alias("rule"),
        F.substring(value.cast("string"), 1, VALUE_LIMIT).alias("value"), F.lit(severity).alias("severity"),
    )


def _blank(column: Column) -> Column:
    return column.isNull() | (F.trim(column) == "")


def _found(condition: Column, found: Column) -> Column:
    """`[found]` where the condition holds, else `[]` (also for a null condition)."""
    return F.when(condition, F.array(found)).otherwise(F.array().cast(T.ArrayType(ISSUE_TYPE)))


def raw_cleaned(spec: EntitySpec) -> Cleaned:
    """Each field of `spec` cleaned straight from its raw column by its kind's cleaner."""
    return lambda name: KINDS[spec.field(name).kind].clean(F.col(name))


def field_issues(spec: EntitySpec, cleaned: Cleaned) -> list[Column]:
    """Missing required values and values the field's cleaner cannot make sense of."""
    checks = []
    for field in spec.fields:
        raw = F.col(field.name)
        if field.required:
            checks.append(_found(_blank(raw), issue(field.name, MISSING, raw, field.on_invalid)))
        kind = KINDS[field.kind]
        rule = F.lit(kind.rule)
        if kind.out_of_range:
            rule = F.when(kind.out_of_range(raw), OUT_OF_RANGE).otherwise(rule)
        checks.append(_found(~_blank(raw) & cleaned(field.name).isNull(), issue(field.name, rule, raw, field.on_invalid)))
    return checks


# Row rules: relations between fields, on their cleaned values. Each names the field it blames
# (nulled on repair).
def _call_end_before_start(spec: EntitySpec, cleaned: Cleaned) -> Column:
    ended_first = cleaned("call_end_time") < cleaned("call_start_time")
    return _found(ended_first, issue("call_end_time", "end_before_start", F.col("call_end_time"), REPAIR))


def _resolution_before_request(spec: EntitySpec, cleaned: Cleaned) -> Column:
    resolved_first = cleaned("resolution_date") < cleaned("request_date")
    return _found(resolved_first, issue("resolution_date", "resolution_before_request", F.col("resolution_date"), REPAIR))


def _resolution_date_on_unresolved(spec: EntitySpec, cleaned: Cleaned) -> Column:
    status = cleaned("resolution_status")
    return _found(
        cleaned("resolution_date").isNotNull() & status.isNotNull() & (status != "Resolved"),
        issue("resolution_date", "resolution_date_on_unresolved", F.col("resolution_date"), REPAIR),
    )


def _id_not_embedding_customer(spec: EntitySpec, cleaned: Cleaned) -> Column:
    embeds = clean.id_embeds_customer(cleaned(spec.key), cleaned("customer_id"))
    return _found(embeds == F.lit(False), issue(spec.key, "id_not_embedding_customer", F.col(spec.key), WARNING))


def _signup_before_birth(spec: EntitySpec, cleaned: Cleaned) -> Column:
    signed_up_first = cleaned("signup_date") < cleaned("date_of_birth")
    return _found(signed_up_first, issue("signup_date", "signup_before_birth", F.col("signup_date"), REPAIR))


ROW_RULES: dict[str, Callable[[EntitySpec, Cleaned], Column]] = {
    "call_end_before_start": _call_end_before_start,
    "resolution_before_request": _resolution_before_request,
    "resolution_date_on_unresolved": _resolution_date_on_unresolved,
    "id_not_embedding_customer": _id_not_embedding_customer,
    "signup_before_birth": _signup_before_birth,
}


def find_issues(spec: EntitySpec, cleaned: Cleaned | None = None) -> Callable[[DataFrame], DataFrame]:
    """First pass: add `_issues` computed from the raw values (and what their cleaners make of them)."""
    cleaned = cleaned or raw_cleaned(spec)
    checks = field_issues(spec, cleaned) + [ROW_RULES[name](spec, cleaned) for name in spec.row_rules]

    def transform(frame: DataFrame) -> DataFrame:
        return frame.withColumn(ISSUES, F.flatten(F.array(*checks)))

    return transform


def has_issue(severity: str, field: str | None = None) -> Column:
    """True when the row has an issue of this severity (on this field)."""
    def matches(found: Column) -> Column:
        same = found["severity"] == severity
        return same & (found["field"] == field) if field else same

    return F.exists(F.col(ISSUES), matches)
