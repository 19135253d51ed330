"""What each silver entity is made of: its natural key, fields and the kind of value in each.

A new source or rule is one entry here; the checker, the transformer and the reports read it.
"""
from __future__ import annotations

from dataclasses import dataclass

# What happens to a row when a field fails: it is rejected, the field is nulled, or it is only noted.
REJECT, REPAIR, WARNING = "reject", "repair", "warning"


@dataclass(frozen=True)
class FieldSpec:
    name: str  # canonical silver name
    kind: str  # one of quality.checks.KINDS
    required: bool = True
    on_invalid: str = REPAIR  # REJECT for keys and the references a complaint cannot load without


@dataclass(frozen=True)
class EntitySpec:
    name: str
    key: str
    fields: tuple[FieldSpec, ...]
    generation_date: str | None = None  # the file date column; the newest wins among duplicates
    row_rules: tuple[str, ...] = ()  # names in quality.checks.ROW_RULES

    def field(self, name: str) -> FieldSpec:
        return next(f for f in self.fields if f.name == name)


def _complaint_fields(id_field: str) -> tuple[FieldSpec, ...]:
    return (
        FieldSpec(id_field, "complaint_id", on_invalid=REJECT),
        FieldSpec("customer_id", "customer_id", on_invalid=REJECT),
        FieldSpec("agent_id", "agent_id", on_invalid=REJECT),
        FieldSpec("complaint_category", "category"),
        FieldSpec("resolution_status", "status"),
    )


ENTITIES: dict[str, EntitySpec] = {
    spec.name: spec
    for spec in (
        EntitySpec(
            "customers",
            key="customer_id",
            fields=(
                FieldSpec("customer_id", "customer_id", on_invalid=REJECT),
                FieldSpec("name", "person_name"),
                FieldSpec("gender", "gender"),
                FieldSpec("date_of_birth", "date"),
                FieldSpec("signup_date", "date"),
                FieldSpec("email", "email", required=False),
                FieldSpec("address", "address"),
            ),
            row_rules=("signup_before_birth",),
        ),
        EntitySpec(
            "agents",
            key="agent_id",
            fields=(
                FieldSpec("agent_id", "agent_id", on_invalid=REJECT),
                FieldSpec("name", "person_name"),
                FieldSpec("experience", "experience"),
                FieldSpec("state", "us_state_name"),
            ),
        ),
        EntitySpec(
            "call_logs",
            key="call_id",
            fields=_complaint_fields("call_id")
            + (
                FieldSpec("call_start_time", "timestamp"),
                FieldSpec("call_end_time", "timestamp"),
                FieldSpec("call_logs_generation_date", "date"),
            ),
            generation_date="call_logs_generation_date",
            row_rules=("call_end_before_start", "id_not_embedding_customer"),
        ),
        EntitySpec(
            "sm_complaints",
            key="complaint_id",
            fields=_complaint_fields("complaint_id")
            + (
                FieldSpec("request_date", "timestamp"),
                FieldSpec("resolution_date", "timestamp", required=False),
                FieldSpec("media_channel", "channel"),
                FieldSpec("media_complaint_generation_date", "date"),
            ),
            generation_date="media_complaint_generation_date",
            row_rules=("resolution_before_request", "resolution_date_on_unresolved", "id_not_embedding_customer"),
        ),
        EntitySpec(
            "web_complaints",
            key="request_id",
            fields=_complaint_fields("request_id")
            + (
                FieldSpec("request_date", "timestamp"),
                FieldSpec("resolution_date", "timestamp", required=False),
                FieldSpec("web_form_generation_date", "date"),
            ),
            generation_date="web_form_generation_date",
            row_rules=("resolution_before_request", "resolution_date_on_unresolved", "id_not_embedding_customer"),
        ),
    )
}
