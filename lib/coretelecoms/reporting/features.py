"""One customer's `complaint_features` months for the terminal: features down, months across.

Read from the conformance database when there is one (no Spark to start), else from the lake.
"""
from __future__ import annotations

import datetime as dt
from contextlib import closing

import psycopg2
from psycopg2 import sql

from coretelecoms.platform.tables import COMPLAINT_FEATURES, ROW_HASH, TABLES

# The features; the key, and the bookkeeping columns, are not shown.
SHOWN = tuple(c.name for c in TABLES[COMPLAINT_FEATURES].columns
              if c.name not in ("customer_id", "month", "updated_date", ROW_HASH))


def rows_from_postgres(dsn: str, customer_id: str, month: dt.date | None = None) -> list[dict]:
    query = sql.SQL("SELECT {columns} FROM {table} WHERE customer_id = %s{month} ORDER BY month").format(
        columns=sql.SQL(", ").join(sql.Identifier(name) for name in ("month", *SHOWN)),
        table=sql.Identifier(COMPLAINT_FEATURES),
        month=sql.SQL(" AND month = %s" if month else ""),
    )
    with closing(psycopg2.connect(dsn, connect_timeout=5)) as connection, connection.cursor() as cursor:
        cursor.execute(query, (customer_id, month) if month else (customer_id,))
        names = [column.name for column in cursor.description]
        return [dict(zip(names, row)) for row in cursor.fetchall()]


def rows_from_lake(spark, location: str, customer_id: str, month: dt.date | None = None) -> list[dict]:
    from pyspark.sql import functions as F

    from coretelecoms.platform import delta

    if not delta.exists(spark, location):
        return []
    frame = delta.snapshot(spark, location).where(F.col("customer_id") == customer_id)
    if month:
        frame = frame.where(F.col("month") == F.lit(month))
    return [row.asDict() for row in frame.select("month", *SHOWN).orderBy("month").collect()]


def _cell(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def features_text(customer_id: str, rows: list[dict]) -> str:
    """A table of the customer's months (columns) by feature (rows)."""
    months = [row["month"].strftime("%Y-%m") for row in rows]
    cells = {name: [_cell(row[name]) for row in rows] for name in SHOWN}
    label = max(len(name) for name in cells)
    width = max(7, *(len(cell) for column in cells.values() for cell in column))
    lines = [f"complaint features of customer {customer_id} ({len(rows)} month(s))",
             f"{'month':<{label}}  " + "  ".join(f"{m:>{width}}" for m in months)]
    lines += [f"{name:<{label}}  " + "  ".join(f"{cell:>{width}}" for cell in column) for name, column in cells.items()]
    return "\n".join(lines)
