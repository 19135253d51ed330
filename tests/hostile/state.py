"""The state runs leave behind, to compare two ways of running the same inputs (killed and re-run, on a
cluster or in one JVM): every Delta table of the lake and every table of the conformance database, each
as its rows sorted, without the columns that name the run that wrote them (the lineage meant for that)
and without the database's bookkeeping (audit rows, applied migrations, lake versions loaded).
"""
from __future__ import annotations

import json
from pathlib import Path

import psycopg2
from psycopg2 import sql

RUN_COLUMNS = frozenset({"_run_id", "_ingested_at", "run_id", "bronze_run_id", "first_seen_run", "last_seen_run",
                         "resolved_run", "updated_run"})
BOOKKEEPING = frozenset({"pipeline_runs", "schema_migrations", "loaded_lake_versions"})
LAYERS = ("bronze", "silver", "gold")


def _sorted_rows(rows: list[dict]) -> list[str]:
    return sorted(json.dumps(row, sort_keys=True, default=str) for row in rows)


def lake_state(spark, lake: str) -> dict[str, list[str]]:
    """`layer/table` -> its rows (as sorted JSON), for every Delta table under a local lake folder."""
    state = {}
    for layer in LAYERS:
        for table in sorted(Path(lake, layer).glob("*/_delta_log")):
            frame = spark.read.format("delta").load(str(table.parent))
            kept = [name for name in frame.columns if name not in RUN_COLUMNS]
            state[f"{layer}/{table.parent.name}"] = _sorted_rows([row.asDict() for row in frame.select(*kept).collect()])
    return state


def postgres_state(dsn: str) -> dict[str, list[str]]:
    """table -> its rows (as sorted JSON), for every table of the public schema but the bookkeeping."""
    state = {}
    with psycopg2.connect(dsn) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1")
        for (table,) in cursor.fetchall():
            if table in BOOKKEEPING:
                continue
            cursor.execute(sql.SQL("SELECT * FROM {}").format(sql.Identifier(table)))
            names = [column.name for column in cursor.description]
            state[table] = _sorted_rows([{name: value for name, value in zip(names, row) if name not in RUN_COLUMNS}
                                         for row in cursor.fetchall()])
    return state


def differences(expected: dict[str, list[str]], found: dict[str, list[str]]) -> dict[str, str]:
    """Per table that differs, a short account: rows only in one of the two (a few of each)."""
    different = {}
    for table in sorted(set(expected) | set(found)):
        mine, theirs = expected.get(table), found.get(table)
        if mine == theirs:
            continue
        if mine is None or theirs is None:
            different[table] = "missing on one side"
            continue
        only_expected = sorted(set(mine) - set(theirs))[:3]
        only_found = sorted(set(theirs) - set(mine))[:3]
        different[table] = f"{len(mine)} vs {len(theirs)} rows; only expected {only_expected}; only found {only_found}"
    return different
