"""DataQualityChecker (SPEC §4): per row, which fields failed which rule, with the original value.

`find_issues(spec)` is a `DataFrame -> DataFrame` transformation on raw (string) values under
canonical column names. It adds one column, `_issues`: an array of
`struct(field, rule, value, severity)`, empty for a clean row. It never changes a value.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from coretelecoms.quality import cleaning as clean
from coretelecoms.quality.entities import REPAIR, WARNING, EntitySpec

ISSUES = "_issues"
MISSING = "missing"


@dataclass(frozen=True)
class Kind:
    """How one kind of value is cleaned, and the rule a non-empty value breaks when it cannot be."""

    clean: Callable[[Column], Column]
    rule: str


def _trimmed_text(column: Column) -> Column:
    text = F.trim(column)
    return F.when(text != "", text)


def _agent_state(column: Column) -> Column:
    return clean.state_name(clean.state_code(column))


KINDS: dict[str, Kind] = {
    "customer_id": Kind(clean.clean_customer_id, "invalid_uuid"),
    "agent_id": Kind(clean.clean_agent_id, "invalid_agent_id"),
    "complaint_id": Kind(clean.clean_id, "invalid_id"),
    "person_name": Kind(clean.clean_person_name, "invalid_name"),
    "email": Kind(clean.clean_email, "invalid_email"),
    "gender": Kind(clean.clean_gender, "invalid_enumeration"),
    "status": Kind(clean.clean_status, "invalid_enumeration"),
    "category": Kind(clean.clean_category, "invalid_enumeration"),
    "channel": Kind(clean.clean_channel, "invalid_enumeration"),
    "experience": Kind(clean.clean_experience, "invalid_enumeration"),
    "date": Kind(clean.parse_date, "unparseable_date"),
    "timestamp": Kind(clean.parse_timestamp, "unparseable_timestamp"),
    "address": Kind(_trimmed_text, "invalid_address"),
    "us_state_name": Kind(_agent_state, "invalid_state"),
}


def issue(field: str, rule: str, value: Column, severity: str) -> Column:
    return F.struct(
        F.lit(field).alias("field"), F.lit(rule).alias("rule"), value.cast("string").alias("value"), F.lit(severity).alias("severity")
    )


def _blank(column: Column) -> Column:
    return column.isNull() | (F.trim(column) == "")


def field_issues(spec: EntitySpec) -> list[Column]:
    """Missing required values and values the field's cleaner cannot make sense of."""
    checks = []
    for field in spec.fields:
        raw = F.col(field.name)
        if field.required:
            checks.append(F.when(_blank(raw), issue(field.name, MISSING, raw, field.on_invalid)))
        kind = KINDS[field.kind]
        checks.append(F.when(~_blank(raw) & kind.clean(raw).isNull(), issue(field.name, kind.rule, raw, field.on_invalid)))
    return checks


# Row rules: relations between fields. Each names the field it blames (nulled on repair).
def _call_end_before_start(spec: EntitySpec) -> Column:
    start, end = clean.parse_timestamp(F.col("call_start_time")), clean.parse_timestamp(F.col("call_end_time"))
    return F.when(end < start, issue("call_end_time", "end_before_start", F.col("call_end_time"), REPAIR))


def _resolution_before_request(spec: EntitySpec) -> Column:
    request, resolution = clean.parse_timestamp(F.col("request_date")), clean.parse_timestamp(F.col("resolution_date"))
    return F.when(resolution < request, issue("resolution_date", "resolution_before_request", F.col("resolution_date"), REPAIR))


def _resolution_date_on_unresolved(spec: EntitySpec) -> Column:
    status = clean.clean_status(F.col("resolution_status"))
    resolved_at = clean.parse_timestamp(F.col("resolution_date"))
    return F.when(
        resolved_at.isNotNull() & status.isNotNull() & (status != "Resolved"),
        issue("resolution_date", "resolution_date_on_unresolved", F.col("resolution_date"), REPAIR),
    )


def _id_not_embedding_customer(spec: EntitySpec) -> Column:
    key = F.col(spec.key)
    embeds = clean.id_embeds_customer(clean.clean_id(key), clean.clean_customer_id(F.col("customer_id")))
    return F.when(embeds == F.lit(False), issue(spec.key, "id_not_embedding_customer", key, WARNING))


def _signup_before_birth(spec: EntitySpec) -> Column:
    born, signed_up = clean.parse_date(F.col("date_of_birth")), clean.parse_date(F.col("signup_date"))
    return F.when(signed_up < born, issue("signup_date", "signup_before_birth", F.col("signup_date"), REPAIR))


ROW_RULES: dict[str, Callable[[EntitySpec], Column]] = {
    "call_end_before_start": _call_end_before_start,
    "resolution_before_request": _resolution_before_request,
    "resolution_date_on_unresolved": _resolution_date_on_unresolved,
    "id_not_embedding_customer": _id_not_embedding_customer,
    "signup_before_birth": _signup_before_birth,
}


def find_issues(spec: EntitySpec) -> Callable[[DataFrame], DataFrame]:
    """First pass: add `_issues` computed from the raw values only."""
    checks = field_issues(spec) + [ROW_RULES[name](spec) for name in spec.row_rules]

    def transform(frame: DataFrame) -> DataFrame:
        return frame.withColumn(ISSUES, F.filter(F.array(*checks), lambda found: found.isNotNull()))

    return transform


def has_issue(severity: str, field: str | None = None) -> Column:
    """True when the row has an issue of this severity (on this field)."""
    def matches(found: Column) -> Column:
        same = found["severity"] == severity
        return same & (found["field"] == field) if field else same

    return F.exists(F.col(ISSUES), matches)
