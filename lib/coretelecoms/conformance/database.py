"""The conformance database's schema: versioned SQL migrations (the tables they create are described
in `platform.tables`; tests/conformance/test_catalog.py holds the two together).

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
from importlib.resources.abc import Traversable

import psycopg2

MIGRATION_FILE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
MIGRATION_LOCK = "coretelecoms.conformance.migrations"  # hashed to the advisory lock key
# Where migrations are read from: the packaged folder (package data: works from a zip too); a
# source registered at run time adds its own folder (tests/conformance/test_new_channel.py).
MIGRATION_FOLDERS: list[Traversable] = [resources.files("coretelecoms.conformance").joinpath("migrations")]


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
    """The migration files of every folder in MIGRATION_FOLDERS, in version order."""
    found = []
    for entry in (entry for folder in MIGRATION_FOLDERS for entry in folder.iterdir()):
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
