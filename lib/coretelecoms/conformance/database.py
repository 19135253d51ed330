"""The conformance database's schema: versioned SQL migrations and the staging tables' contract.

Migrations are the files `migrations/NNNN_name.sql`, applied in version order, each in its own
transaction and recorded in `schema_migrations` with a checksum. A file is never edited once
applied: a change is a new file. Concurrent runners (two jobs starting at once) queue on an
advisory lock, so each migration runs exactly once.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from importlib import resources

import psycopg2

MIGRATIONS_PACKAGE = "coretelecoms.conformance"
MIGRATION_FILE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
MIGRATION_LOCK = "coretelecoms.conformance.migrations"  # hashed to the advisory lock key

# The staging tables' columns with the Spark type each DataFrame column must have (0004_staging.sql).
# The load fills what is missing here from the run: updated_run, first/last seen, times_seen, status.
_CUSTOMER_ATTRIBUTES = (
    ("name", "string"),
    ("gender", "string"),
    ("date_of_birth", "date"),
    ("signup_date", "date"),
    ("email", "string"),
    ("address", "string"),
    ("state_code", "string"),
    ("state_name", "string"),
    ("zip_code", "string"),
)
_AGENT_ATTRIBUTES = (("name", "string"), ("experience", "string"), ("state", "string"))
_VERSION_RANGE = (("valid_to", "date"), ("is_current", "boolean"))
_COMPLAINT_REFERENCES = (
    ("customer_id", "string"),
    ("agent_id", "int"),
    ("complaint_category", "string"),
    ("resolution_status", "string"),
)

STAGING_COLUMNS: dict[str, tuple[tuple[str, str], ...]] = {
    "customers": (("customer_id", "string"), *_CUSTOMER_ATTRIBUTES, ("row_hash", "string"), ("valid_from", "date")),
    "customers_history": (
        ("customer_id", "string"),
        ("valid_from", "date"),
        *_VERSION_RANGE,
        *_CUSTOMER_ATTRIBUTES,
        ("row_hash", "string"),
    ),
    "agents": (("agent_id", "int"), *_AGENT_ATTRIBUTES, ("row_hash", "string"), ("valid_from", "date")),
    "agents_history": (
        ("agent_id", "int"),
        ("valid_from", "date"),
        *_VERSION_RANGE,
        *_AGENT_ATTRIBUTES,
        ("row_hash", "string"),
    ),
    "call_logs": (
        ("call_id", "string"),
        *_COMPLAINT_REFERENCES,
        ("call_start_time", "timestamp"),
        ("call_end_time", "timestamp"),
        ("call_logs_generation_date", "date"),
        ("row_hash", "string"),
    ),
    "sm_complaints": (
        ("complaint_id", "string"),
        *_COMPLAINT_REFERENCES,
        ("request_date", "timestamp"),
        ("resolution_date", "timestamp"),
        ("media_channel", "string"),
        ("media_complaint_generation_date", "date"),
        ("row_hash", "string"),
    ),
    "web_complaints": (
        ("request_id", "string"),
        *_COMPLAINT_REFERENCES,
        ("request_date", "timestamp"),
        ("resolution_date", "timestamp"),
        ("web_form_generation_date", "date"),
        ("row_hash", "string"),
    ),
    "complaint_status_history": (
        ("channel", "string"),
        ("complaint_id", "string"),
        ("observed_run_date", "date"),
        ("resolution_status", "string"),
        ("agent_id", "int"),
        ("resolution_date", "timestamp"),
        ("source_generation_date", "date"),
        ("customer_id", "string"),
    ),
    "orphaned_complaints": (
        ("channel", "string"),
        ("complaint_id", "string"),
        ("customer_id", "string"),
        ("agent_id", "int"),
        ("reason", "string"),
        ("record", "string"),  # the original record as JSON text
    ),
    # 0005_gold.sql; the columns of gold.lifecycle.LIFECYCLE_SCHEMA plus its row hash.
    "complaint_lifecycle": (
        ("channel", "string"),
        ("complaint_id", "string"),
        ("customer_id", "string"),
        ("agent_id", "int"),
        ("complaint_category", "string"),
        ("request_date", "timestamp"),
        ("current_status", "string"),
        ("current_status_since", "date"),
        *((f"{status}_date", "date") for status in ("backlog", "in_progress", "blocked", "resolved")),
        *((f"{status}_days", "int") for status in ("backlog", "in_progress", "blocked", "resolved")),
        ("resolution_date", "timestamp"),
        ("days_to_resolution", "double"),
        ("met_sla", "boolean"),
        ("sla_days", "int"),
        ("first_observed_date", "date"),
        ("last_observed_date", "date"),
        ("observations", "int"),
        ("status_changes", "int"),
        ("reopened", "int"),
        ("last_observed_run_date", "date"),
        ("updated_date", "date"),
        ("row_hash", "string"),
    ),
    "resolved_orphans": (
        ("channel", "string"),
        ("complaint_id", "string"),
        ("resolved_run", "string"),
        ("resolved_date", "date"),
    ),
}


class MigrationError(RuntimeError):
    pass


@dataclass(frozen=True)
class Migration:
    version: str
    name: str
    sql: str

    @property
    def label(self) -> str:
        return f"{self.version}_{self.name}"

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode("utf-8")).hexdigest()


def migrations() -> list[Migration]:
    """The packaged migration files in version order (read as package data: works from a zip too)."""
    found = []
    for entry in resources.files(MIGRATIONS_PACKAGE).joinpath("migrations").iterdir():
        match = MIGRATION_FILE.match(entry.name)
        if match:
            found.append(Migration(match.group(1), match.group(2), entry.read_text(encoding="utf-8")))
    found.sort(key=lambda migration: migration.version)
    versions = [migration.version for migration in found]
    if len(set(versions)) != len(versions):
        raise MigrationError(f"two migration files share a version: {', '.join(m.label for m in found)}")
    return found


def apply_migrations(dsn: str) -> list[str]:
    """Apply the pending migrations in order; return the labels (`0001_dimensions`) applied now."""
    known = migrations()
    connection = psycopg2.connect(dsn)
    try:
        with connection, connection.cursor() as cursor:
            _lock(cursor)
            cursor.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version text NOT NULL, name text NOT NULL,"
                " applied_at timestamptz NOT NULL DEFAULT now(), checksum text NOT NULL,"
                " CONSTRAINT schema_migrations_pk PRIMARY KEY (version))"
            )
            _verify_applied(_applied(cursor), known)
        applied_now = []
        for migration in known:
            if _apply_one(connection, migration):
                applied_now.append(migration.label)
        return applied_now
    finally:
        connection.close()


def _lock(cursor) -> None:
    # Held until the transaction ends: a second runner waits here, then sees the first one's work.
    cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (MIGRATION_LOCK,))


def _applied(cursor) -> dict[str, tuple[str, str]]:
    cursor.execute("SELECT version, name, checksum FROM schema_migrations")
    return {version: (name, checksum) for version, name, checksum in cursor.fetchall()}


def _verify_applied(applied: dict[str, tuple[str, str]], known: list[Migration]) -> None:
    """Refuse to go on when the database's history and the packaged files disagree."""
    by_version = {migration.version: migration for migration in known}
    for version, (name, checksum) in sorted(applied.items()):
        migration = by_version.get(version)
        if migration is None:
            raise MigrationError(
                f"the database has migration {version}_{name}, which this code does not ship: "
                "it was written by a newer version of the pipeline; deploy that version"
            )
        if migration.checksum != checksum:
            raise MigrationError(
                f"migration {migration.label}.sql changed after it was applied "
                f"(checksum {checksum[:12]} in schema_migrations, {migration.checksum[:12]} on disk): "
                "restore the file and put the change in a new migration"
            )


def _apply_one(connection, migration: Migration) -> bool:
    """Apply one migration in its own transaction unless it is already there; True if applied."""
    with connection, connection.cursor() as cursor:
        _lock(cursor)
        cursor.execute("SELECT 1 FROM schema_migrations WHERE version = %s", (migration.version,))
        if cursor.fetchone():
            return False
        cursor.execute(migration.sql)
        cursor.execute(
            "INSERT INTO schema_migrations (version, name, checksum) VALUES (%s, %s, %s)",
            (migration.version, migration.name, migration.checksum),
        )
        return True
