"""The table registry: every source entity, lake table and PostgreSQL table, described once.

- An `EntitySpec` is what a source delivers: its natural key, its fields and the kind of value in
  each (the cleaners, checks and expectations read it), the columns derived from them, and, for a
  complaint channel, which of its fields play the unified roles (request time, resolution time).
- A `TableSpec` is one Delta table of the lake: its Spark schema, natural key, the columns whose
  change is a change (hashed into `row_hash`), the column whose newer value wins, and the
  PostgreSQL tables it is loaded into (`PostgresTable`: staged columns, the columns the load fills
  from the run, foreign keys).

Everything else is derived from here: silver schemas, `STAGING_COLUMNS`, the load's merges and
foreign keys. The SQL migrations stay hand-written; tests/conformance/test_catalog.py holds them
against this registry. Adding a complaint channel is one `EntitySpec` (plus its reader, migration
and expectation suite): see README, "Adding a source".
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace

from pyspark.sql import types as T

# What happens to a row when a field fails: it is rejected, the field is nulled, or it is only noted.
REJECT, REPAIR, WARNING = "reject", "repair", "warning"
DIMENSION, CHANNEL = "dimension", "channel"
SILVER, GOLD = "silver", "gold"

# The Spark type of each kind of cleaned value (quality.checks.KINDS holds each kind's cleaner).
KIND_TYPES = {
    "customer_id": "string", "agent_id": "int", "complaint_id": "string", "person_name": "string",
    "email": "string", "gender": "string", "status": "string", "category": "string", "channel": "string",
    "experience": "string", "date": "date", "timestamp": "timestamp", "address": "string",
    "us_state_name": "string",
}
_SPARK_TYPES = {
    "string": T.StringType(), "int": T.IntegerType(), "bigint": T.LongType(), "date": T.DateType(),
    "timestamp": T.TimestampType(), "boolean": T.BooleanType(), "double": T.DoubleType(),
}

ROW_HASH = "row_hash"
VALID_FROM, VALID_TO, IS_CURRENT = "valid_from", "valid_to", "is_current"
FIRST_SEEN, LAST_CHANGED = "first_seen_date", "last_changed_date"
UPDATED_RUN = "updated_run"
RUN_ID, RUN_DATE = "run_id", "run_date"  # what a run column is filled with by the load


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # a Spark SQL type name: string, int, bigint, date, timestamp, boolean, double
    required: bool = False  # NOT NULL in PostgreSQL
    postgres_type: str | None = None  # when the model column differs from the staged one (jsonb)

    @property
    def spark_type(self) -> T.DataType:
        return _SPARK_TYPES[self.type]


def schema(columns: tuple[Column, ...]) -> T.StructType:
    return T.StructType([T.StructField(c.name, c.spark_type) for c in columns])


# --- source entities ---------------------------------------------------------------------------------

def squashed_header(name: str) -> str:
    """`customeR iD`, `customeR_iD`, `customer_id` -> `customerid`: how a raw header is matched to a field."""
    return re.sub(r"[^A-Za-z0-9]+", "", name).lower()


@dataclass(frozen=True)
class FieldSpec:
    name: str  # canonical silver name
    kind: str  # a key of KIND_TYPES
    required: bool = True
    on_invalid: str = REPAIR  # REJECT for keys and the references a complaint cannot load without

    @property
    def type(self) -> str:
        return KIND_TYPES[self.kind]


@dataclass(frozen=True)
class DerivedField:
    """A silver column computed from another field by a named derivation (quality.transform.DERIVATIONS)."""

    name: str
    derivation: str
    source: str
    type: str = "string"


@dataclass(frozen=True)
class EntitySpec:
    name: str
    role: str  # DIMENSION or CHANNEL
    key: str
    fields: tuple[FieldSpec, ...]
    generation_date: str | None = None  # the file date column; the newest wins among duplicates
    row_rules: tuple[str, ...] = ()  # names in quality.checks.ROW_RULES
    derived: tuple[DerivedField, ...] = ()
    # Channels: the fields that play the unified complaint's roles (gold `complaints`, lifecycle).
    request_time: str | None = None
    resolution_time: str | None = None  # None: the channel reports no resolution time (calls)
    contact_end_time: str | None = None  # the end of a live contact, which may itself resolve it (calls)
    platform: str | None = None  # the social-media platform column, where there is one
    header_aliases: tuple[tuple[str, str], ...] = ()  # squashed raw header -> field, for this source only

    def field(self, name: str) -> FieldSpec:
        return next(f for f in self.fields if f.name == name)

    def missing_fields(self, header: tuple[str, ...]) -> list[str]:
        """The fields no raw header name stands for (an input without them cannot be cleaned)."""
        found = {squashed_header(name) for name in header}
        found |= {field for alias, field in self.header_aliases if alias in found}
        return [f.name for f in self.fields if squashed_header(f.name) not in found and f.name not in found]

    @property
    def columns(self) -> tuple[Column, ...]:
        """The silver row's typed columns: fields, then derived ones (lineage is added by quality)."""
        return tuple(Column(f.name, f.type) for f in self.fields) + tuple(Column(d.name, d.type) for d in self.derived)

    @property
    def attributes(self) -> tuple[str, ...]:
        """Every typed column but the key: what a dimension version is made of."""
        return tuple(c.name for c in self.columns if c.name != self.key)


def _complaint_fields(id_field: str) -> tuple[FieldSpec, ...]:
    return (
        FieldSpec(id_field, "complaint_id", on_invalid=REJECT),
        FieldSpec("customer_id", "customer_id", on_invalid=REJECT),
        FieldSpec("agent_id", "agent_id", on_invalid=REJECT),
        FieldSpec("complaint_category", "category"),
        FieldSpec("resolution_status", "status"),
    )


def _reported_complaints(name: str, key: str, generation_date: str, extra: tuple[FieldSpec, ...] = (),
                         platform: str | None = None) -> EntitySpec:
    """A channel whose source reports the request and the resolution time (social media, web forms)."""
    return EntitySpec(
        name, CHANNEL,
        key=key,
        fields=_complaint_fields(key) + (
            FieldSpec("request_date", "timestamp"),
            FieldSpec("resolution_date", "timestamp", required=False),
            *extra,
            FieldSpec(generation_date, "date"),
        ),
        generation_date=generation_date,
        row_rules=("resolution_before_request", "resolution_date_on_unresolved", "id_not_embedding_customer"),
        request_time="request_date",
        resolution_time="resolution_date",
        platform=platform,
    )


_ENTITY_LIST: list[EntitySpec] = [
    EntitySpec(
        "customers", DIMENSION,
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
        derived=(
            DerivedField("state_code", "address_state_code", "address"),
            DerivedField("state_name", "state_name", "state_code"),
            DerivedField("zip_code", "address_zip", "address"),
        ),
    ),
    EntitySpec(
        "agents", DIMENSION,
        key="agent_id",
        fields=(
            FieldSpec("agent_id", "agent_id", on_invalid=REJECT),
            FieldSpec("name", "person_name"),
            FieldSpec("experience", "experience"),
            FieldSpec("state", "us_state_name"),
        ),
        header_aliases=(("id", "agent_id"),),  # the sheet's bare `iD` is the agent id
    ),
    EntitySpec(
        "call_logs", CHANNEL,
        key="call_id",
        fields=_complaint_fields("call_id") + (
            FieldSpec("call_start_time", "timestamp"),
            FieldSpec("call_end_time", "timestamp"),
            FieldSpec("call_logs_generation_date", "date"),
        ),
        generation_date="call_logs_generation_date",
        row_rules=("call_end_before_start", "id_not_embedding_customer"),
        request_time="call_start_time",
        contact_end_time="call_end_time",
    ),
    _reported_complaints("sm_complaints", "complaint_id", "media_complaint_generation_date",
                         (FieldSpec("media_channel", "channel"),), platform="media_channel"),
    _reported_complaints("web_complaints", "request_id", "web_form_generation_date"),
]

ENTITIES: dict[str, EntitySpec] = {}


def dimensions() -> tuple[str, ...]:
    return tuple(name for name, spec in ENTITIES.items() if spec.role == DIMENSION)


def channels() -> tuple[str, ...]:
    return tuple(name for name, spec in ENTITIES.items() if spec.role == CHANNEL)


# --- lake tables and their PostgreSQL counterparts ----------------------------------------------------

@dataclass(frozen=True)
class ForeignKey:
    name: str
    column: str
    parent: str  # a PostgreSQL table whose key is `column`


@dataclass(frozen=True)
class PostgresTable:
    """One model table and its `staging.<name>` twin: staged columns, then what the load adds."""

    name: str
    columns: tuple[Column, ...]  # staged, in staging-table order
    key: tuple[str, ...]
    changed: tuple[str, ...] = (ROW_HASH,)  # a difference in these is a change; () = insert only
    newer: str | None = None  # an older value of this column never overwrites a newer one
    # Model columns the load fills from the run (RUN_ID or RUN_DATE; None: its own statement does).
    run_columns: tuple[tuple[Column, str | None], ...] = ((Column(UPDATED_RUN, "string", True), RUN_ID),)
    kept: tuple[str, ...] = ()  # run columns an update leaves alone
    foreign_keys: tuple[ForeignKey, ...] = ()
    # A derived table's parents: no foreign keys (its rows come from facts that passed theirs); the load
    # checks its staged rows against them set-wise, in the same transaction, before merging it.
    verified_parents: tuple[ForeignKey, ...] = ()
    merged: bool = True  # False: the load has its own statement for it (quarantine)


@dataclass(frozen=True)
class TableSpec:
    name: str
    layer: str  # SILVER or GOLD
    columns: tuple[Column, ...]  # content columns; a table may add lineage (`_`-prefixed) after them
    key: tuple[str, ...]
    hashed: tuple[str, ...] = ()  # their change is a change (row_hash); () = rows are only ever inserted
    newer: str | None = None  # a row whose value here is older than the stored one changes nothing
    postgres: tuple[PostgresTable, ...] = ()

    @property
    def spark_schema(self) -> T.StructType:
        return schema(self.columns)

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


_FACT_RUN_COLUMNS = (
    (Column(FIRST_SEEN, "date", True), RUN_DATE),
    (Column(LAST_CHANGED, "date", True), RUN_DATE),
    (Column(UPDATED_RUN, "string", True), RUN_ID),
)


def _not_null(columns: tuple[Column, ...], names: tuple[str, ...]) -> tuple[Column, ...]:
    return tuple(replace(c, required=True) if c.name in names else c for c in columns)


def dimension_table(entity: EntitySpec) -> TableSpec:
    """SCD type 2: one row per version; PostgreSQL keeps the current version and every version."""
    content = entity.columns
    version = (Column(VALID_FROM, "date", True), Column(VALID_TO, "date"), Column(IS_CURRENT, "boolean", True))
    attributes = tuple(c for c in content if c.name != entity.key)
    key, row_hash = replace(content[0], required=True), Column(ROW_HASH, "string", True)
    return TableSpec(
        entity.name, SILVER,
        columns=(key, *attributes, row_hash, *version),
        key=(entity.key, VALID_FROM),
        hashed=entity.attributes,
        postgres=(
            PostgresTable(entity.name, (key, *attributes, row_hash, version[0]), (entity.key,), newer=VALID_FROM),
            PostgresTable(f"{entity.name}_history", (key, version[0], version[1], version[2], *attributes, row_hash),
                          (entity.key, VALID_FROM), changed=(ROW_HASH, VALID_TO, IS_CURRENT)),  # closing changes valid_to
        ),
    )


def _parent_keys(table: str, suffix: str = "fk") -> tuple[ForeignKey, ...]:
    """The customer and agent a complaint row points at: `<table>_customer_fk` as the migrations name the
    foreign keys, `<table>_customer_parent` for a derived table's set-wise check."""
    return (ForeignKey(f"{table}_customer_{suffix}", "customer_id", "customers"),
            ForeignKey(f"{table}_agent_{suffix}", "agent_id", "agents"))


def channel_table(entity: EntitySpec) -> TableSpec:
    """Current state per natural key; a later delivery wins unless its generation date is older."""
    content = _not_null(entity.columns, (entity.key, "customer_id", "agent_id"))
    row_hash = Column(ROW_HASH, "string", True)
    return TableSpec(
        entity.name, SILVER,
        columns=(*content, row_hash, Column(FIRST_SEEN, "date"), Column(LAST_CHANGED, "date")),
        key=(entity.key,),
        hashed=tuple(c.name for c in content if c.name not in (entity.key, entity.generation_date)),
        newer=entity.generation_date,
        postgres=(PostgresTable(entity.name, (*content, row_hash), (entity.key,), newer=entity.generation_date,
                                run_columns=_FACT_RUN_COLUMNS, kept=(FIRST_SEEN,),
                                foreign_keys=_parent_keys(entity.name)),),
    )


STATUS_HISTORY, ORPHANED_COMPLAINTS = "complaint_status_history", "orphaned_complaints"
COMPLAINT_LIFECYCLE, UNIFIED_COMPLAINTS = "complaint_lifecycle", "complaints"
COMPLAINT_FEATURES = "complaint_features"
RESOLVED_ORPHANS = "resolved_orphans"  # staging only: the quarantine entries a run resolved
DQ_ISSUES = "dq_issues"

_HISTORY = TableSpec(
    STATUS_HISTORY, SILVER,
    columns=(
        Column("channel", "string", True), Column("complaint_id", "string", True),
        Column("observed_run_date", "date", True), Column("resolution_status", "string"), Column("agent_id", "int"),
        Column("resolution_date", "timestamp"), Column("source_generation_date", "date"), Column("customer_id", "string"),
    ),
    key=("channel", "complaint_id", "observed_run_date"),
)
_HISTORY = replace(_HISTORY, postgres=(PostgresTable(STATUS_HISTORY, _HISTORY.columns, _HISTORY.key, changed=(),
                                                     run_columns=()),))

_ORPHAN_RECORD = (
    Column("channel", "string", True), Column("complaint_id", "string", True), Column("customer_id", "string"),
    Column("agent_id", "int"), Column("reason", "string", True),
    Column("record", "string", True, postgres_type="jsonb"),  # the full typed row as JSON, lineage included
)
_ORPHANS = TableSpec(
    ORPHANED_COMPLAINTS, SILVER,
    columns=(
        *_ORPHAN_RECORD, Column("source_date", "date"), Column("status", "string"),
        Column("first_seen_run", "string"), Column("first_seen_date", "date"),
        Column("last_seen_run", "string"), Column("last_seen_date", "date"), Column("times_seen", "int"),
        Column("resolved_run", "string"), Column("resolved_date", "date"),
    ),
    key=("channel", "complaint_id"),
    # A sighting changes the entry only on a later run date (resolution is an update of its own).
    hashed=("last_seen_date",),
    newer="last_seen_date",
    postgres=(
        PostgresTable(ORPHANED_COMPLAINTS, _ORPHAN_RECORD, ("channel", "complaint_id"), merged=False, run_columns=tuple((column, None) for column in (
            Column("first_seen_run", "string", True), Column("first_seen_date", "date", True),
            Column("last_seen_run", "string", True), Column("last_seen_date", "date", True),
            Column("times_seen", "int", True), Column("status", "string", True),
            Column("resolved_run", "string"), Column("resolved_date", "date"),
        ))),
        PostgresTable(RESOLVED_ORPHANS, (Column("channel", "string"), Column("complaint_id", "string"),
                                         Column("resolved_run", "string"), Column("resolved_date", "date")),
                      ("channel", "complaint_id"), merged=False, run_columns=()),
    ),
)

LIFECYCLE_STATUSES = ("Backlog", "In-Progress", "Blocked", "Resolved")


def status_column(status: str, suffix: str) -> str:
    return f"{status.lower().replace('-', '_')}_{suffix}"


def _gold_table(name: str, content: tuple[Column, ...], key: tuple[str, ...], parents: tuple[ForeignKey, ...],
                newer: str | None = None) -> TableSpec:
    """A gold table: its content columns, the run date that last changed a row (`updated_date`,
    bookkeeping left out of the hash) and the row hash; the same columns in PostgreSQL, whose
    parents are checked set-wise at load."""
    row = (*content, Column("updated_date", "date", True), Column(ROW_HASH, "string", True))
    return TableSpec(
        name, GOLD, columns=row, key=key, hashed=tuple(c.name for c in content if c.name not in key),
        postgres=(PostgresTable(name, row, key, newer=newer, verified_parents=parents),),
    )


_LIFECYCLE = _gold_table(
    COMPLAINT_LIFECYCLE,
    (
        Column("channel", "string", True), Column("complaint_id", "string", True),
        Column("customer_id", "string", True), Column("agent_id", "int", True),
        Column("complaint_category", "string"), Column("request_date", "timestamp"),
        Column("current_status", "string", True), Column("current_status_since", "date", True),
        *(Column(status_column(s, "date"), "date") for s in LIFECYCLE_STATUSES),
        *(Column(status_column(s, "days"), "int", True) for s in LIFECYCLE_STATUSES),
        Column("resolution_date", "timestamp"), Column("days_to_resolution", "double"), Column("met_sla", "boolean"),
        Column("sla_days", "int", True), Column("first_observed_date", "date", True),
        Column("last_observed_date", "date", True), Column("observations", "int", True),
        Column("status_changes", "int", True), Column("reopened", "int", True),
        Column("last_observed_run_date", "date", True),  # which history rows are already folded in
    ),
    key=("channel", "complaint_id"),
    parents=_parent_keys(COMPLAINT_LIFECYCLE, "parent"),
    newer="last_observed_run_date",
)

_UNIFIED = _gold_table(
    UNIFIED_COMPLAINTS,
    (
        Column("channel", "string", True), Column("complaint_id", "string", True), Column("customer_id", "string", True),
        Column("agent_id", "int", True), Column("complaint_category", "string"), Column("resolution_status", "string"),
        Column("request_date", "timestamp"), Column("resolution_date", "timestamp"), Column("media_channel", "string"),
        Column("generation_date", "date"), Column(FIRST_SEEN, "date"), Column(LAST_CHANGED, "date"),
    ),
    key=("channel", "complaint_id"),
    parents=_parent_keys(UNIFIED_COMPLAINTS, "parent"),
)

# One row per customer and calendar month; gold/features.py defines every feature column.
_FEATURE_COUNTS = (
    "complaints", "call_complaints", "social_media_complaints", "web_form_complaints",
    "technician_support_complaints", "payments_complaints", "router_delivery_complaints",
    "network_failure_complaints", "distinct_agents", "resolved", "open_at_month_end", "blocked_at_month_end",
)
_FEATURES = _gold_table(
    COMPLAINT_FEATURES,
    (
        Column("customer_id", "string", True), Column("month", "date", True),
        *(Column(name, "int", True) for name in _FEATURE_COUNTS),
        Column("resolution_rate", "double"), Column("mean_days_to_resolution", "double"),
        Column("p90_days_to_resolution", "double"), Column("sla_met_share", "double"),
        Column("mean_call_minutes", "double"), Column("max_call_minutes", "double"),
        Column("weekday_complaints", "int", True), Column("weekend_complaints", "int", True),
        Column("most_frequent_complaint_day", "string"), Column("preferred_channel", "string"),
        Column("preferred_platform", "string"),
        Column("complaints_3m", "int", True), Column("complaints_6m", "int", True), Column("complaints_12m", "int", True),
        Column("complaints_change", "int", True), Column("months_since_first_complaint", "int", True),
        Column("rising_trend", "boolean", True),
    ),
    key=("customer_id", "month"),
    parents=(ForeignKey(f"{COMPLAINT_FEATURES}_customer_parent", "customer_id", "customers"),),
)

TABLES: dict[str, TableSpec] = {}


def register(entity: EntitySpec) -> None:
    """Add a source entity and its silver table (tests add a synthetic channel this way)."""
    ENTITIES[entity.name] = entity
    TABLES[entity.name] = dimension_table(entity) if entity.role == DIMENSION else channel_table(entity)


def unregister(name: str) -> None:
    ENTITIES.pop(name)
    TABLES.pop(name)


for _entity in _ENTITY_LIST:
    register(_entity)
for _table in (_HISTORY, _ORPHANS, _LIFECYCLE, _UNIFIED, _FEATURES):
    TABLES[_table.name] = _table


def postgres_tables() -> tuple[PostgresTable, ...]:
    """Every PostgreSQL table in load order: dimensions, facts, history, quarantine, gold."""
    return tuple(table for spec in TABLES.values() for table in spec.postgres)


def staging_columns() -> dict[str, tuple[tuple[str, str], ...]]:
    """`staging.<table>` -> ((column, Spark type), ...): what the DataFrame written there must hold."""
    return {table.name: tuple((c.name, c.type) for c in table.columns) for table in postgres_tables()}


def foreign_keys() -> dict[str, tuple[str, str]]:
    """Foreign key name -> (column, parent table)."""
    return {fk.name: (fk.column, fk.parent) for table in postgres_tables() for fk in table.foreign_keys}
