"""Readers: one per kind of input. Each returns the input's rows as strings, unchanged.

A reader does not name columns: it returns positional columns `_c0.._cN` plus `_source_row` (the
0-based data row within the input) and the raw header names in file order, so the bronze stage
alone decides the Delta-safe names.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
from dataclasses import dataclass

import psycopg2
from psycopg2 import sql
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from coretelecoms.platform import storage
from coretelecoms.platform.postgres import jdbc_options, source_url
from coretelecoms.platform.settings import Settings
from coretelecoms.sources.catalog import SourceInput
from coretelecoms.sources.structure import Shape, column_json_shape, csv_shape

ROW = "_source_row"
SHEETS_KEY_VARIABLE = "CORETELECOMS_SHEETS_SERVICE_ACCOUNT_JSON"
_POSITION_BITS = 33  # monotonically_increasing_id: partition id above bit 33, position below


class InputNotReady(Exception):
    """A daily input that does not exist yet: expected, not a failure."""


@dataclass(frozen=True)
class RawBatch:
    input: SourceInput
    frame: DataFrame  # _c0.._cN (strings) and _source_row (long)
    raw_columns: list[str]  # header names in input order
    size: int  # bytes
    checksum: str  # sha256 of the input's bytes (files) or of its rows (tables, sheets)
    cached: tuple[DataFrame, ...] = ()  # to unpersist once the batch is written


def positional(index: int) -> str:
    return f"_c{index}"


def with_row_numbers(frame: DataFrame, name: str = ROW) -> tuple[DataFrame, DataFrame | None]:
    """Number rows 0..n-1 in input order without a single-partition sort.

    Each partition's rows are counted once, and a partition's first row number is the sum of the
    counts of the partitions before it. The input is cached for the write that follows (so it is read
    once); the cached frame is returned second for the caller to release. A single partition (a
    multi-line CSV is never split) needs neither: its ids already are the positions.
    """
    if frame.rdd.getNumPartitions() == 1:
        return frame.withColumn(name, F.monotonically_increasing_id()), None
    tagged = (
        frame.withColumn("_mid", F.monotonically_increasing_id())
        .withColumn("_part", F.shiftright("_mid", _POSITION_BITS))
        .withColumn("_pos", F.col("_mid").bitwiseAND((1 << _POSITION_BITS) - 1))
        .drop("_mid")
        .persist()
    )
    counts = sorted(tagged.groupBy("_part").count().collect())
    offsets, start = [], 0
    for part, count in counts:
        offsets.append((part, start))
        start += count
    spark = frame.sparkSession
    offset_frame = spark.createDataFrame(offsets or [(0, 0)], "_part long, _offset long")
    numbered = (
        tagged.join(F.broadcast(offset_frame), "_part")
        .withColumn(name, F.col("_offset") + F.col("_pos"))
        .drop("_part", "_pos", "_offset")
    )
    return numbered, tagged


def read_csv(spark: SparkSession, source_input: SourceInput, probe: Probe) -> RawBatch:
    """A CSV whose first line is the header; multi-line quoting where the source needs it."""
    # header=False keeps the header row as data: it gives the exact raw names (the empty leaked-index
    # header included), which Spark's own header handling would rename.
    lines = (
        spark.read.option("header", False)
        .option("multiLine", True)  # quoted fields may hold line breaks (addresses do)
        .option("quote", '"')
        .option("escape", '"')
        .option("mode", "PERMISSIVE")
        .csv(storage.spark_path(source_input.location))
    )
    numbered, cached = with_row_numbers(lines, "_line")
    header = numbered.where(F.col("_line") == 0).first()
    if header is None:
        raise ValueError(f"{source_input.source}: {source_input.location} is empty (no header line)")
    columns = lines.columns
    raw_columns = ["" if header[c] is None else header[c] for c in columns]
    # A CSV cannot tell an empty field from a missing value; Spark reads both as null. The file's
    # text is the empty string, so that is what bronze keeps.
    rows = numbered.where(F.col("_line") > 0).select(
        *[F.coalesce(F.col(c), F.lit("")).alias(positional(i)) for i, c in enumerate(columns)],
        (F.col("_line") - 1).alias(ROW),
    )
    return RawBatch(source_input, rows, raw_columns, probe.size, probe.checksum, (cached,) if cached else ())


def read_column_oriented_json(spark: SparkSession, source_input: SourceInput, probe: Probe) -> RawBatch:
    """One JSON object {column: {row number: value}} (pandas orient='columns'), not JSON Lines."""
    document = (
        spark.read.option("wholetext", True)
        .text(storage.spark_path(source_input.location))
        .select(F.from_json("value", T.MapType(T.StringType(), T.MapType(T.StringType(), T.StringType()))).alias("doc"))
    )
    keys_row = document.select(F.map_keys("doc").alias("keys")).first()
    if keys_row is None or keys_row["keys"] is None:
        raise ValueError(f"{source_input.source}: {source_input.location} is not a column-oriented JSON object")
    raw_columns = list(keys_row["keys"])
    cells = (
        document.select(F.explode("doc").alias("_column", "_cells"))
        .select("_column", F.explode("_cells").alias("_row_key", "_value"))
    )
    rows = cells.groupBy("_row_key").pivot("_column", raw_columns).agg(F.first("_value"))
    return RawBatch(
        source_input,
        rows.select(
            *[F.col(f"`{name}`").alias(positional(i)) for i, name in enumerate(raw_columns)],
            F.col("_row_key").cast("long").alias(ROW),
        ),
        raw_columns,
        probe.size,
        probe.checksum,
    )


def _web_forms_table_facts(settings: Settings, source_input: SourceInput) -> tuple[list[str], int, str, int]:
    """Columns, rows, checksum and size of a web-forms table."""
    schema, table = source_input.location.split(".", 1)
    with psycopg2.connect(source_url(settings)) as connection, connection.cursor() as cursor:
        cursor.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = %s AND table_name = %s "
            "ORDER BY ordinal_position",
            (schema, table),
        )
        raw_columns = [name for (name,) in cursor.fetchall()]
        if not raw_columns:
            raise InputNotReady(f"{source_input.source}: table {source_input.location} does not exist yet")
        # Content checksum computed in the database: rows in physical (load) order, as text.
        cursor.execute(
            sql.SQL(
                "SELECT count(*), encode(sha256(convert_to(coalesce(string_agg(t::text, E'\\n' ORDER BY ctid), ''), "
                "'UTF8')), 'hex') FROM {} t"
            ).format(sql.Identifier(schema, table))
        )
        records, checksum = cursor.fetchone()
        cursor.execute(
            "SELECT pg_total_relation_size(c.oid) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relname = %s",
            (schema, table),
        )
        (size,) = cursor.fetchone()
    return raw_columns, records, checksum, int(size)


def read_web_forms_table(spark: SparkSession, settings: Settings, source_input: SourceInput, probe: Probe) -> RawBatch:
    """One day's text-typed table in the source database, read over JDBC in parallel partitions."""
    schema, table = source_input.location.split(".", 1)
    dsn = source_url(settings)
    raw_columns = list(probe.shape.header)
    with psycopg2.connect(dsn) as connection:
        # row_number over ctid: the load order, the same in every partition's query.
        subquery = sql.SQL("(SELECT row_number() OVER (ORDER BY ctid) - 1 AS {row}, {cols} FROM {rel}) AS src").format(
            row=sql.Identifier(ROW),
            cols=sql.SQL(", ").join(
                sql.SQL("{} AS {}").format(sql.Identifier(name), sql.Identifier(positional(i)))
                for i, name in enumerate(raw_columns)
            ),
            rel=sql.Identifier(schema, table),
        ).as_string(connection)
    partitions = settings.jdbc.read_partitions
    options = jdbc_options(dsn)
    frame = spark.read.jdbc(
        url=options.pop("url"),
        table=subquery,
        predicates=[f'"{ROW}" % {partitions} = {index}' for index in range(partitions)],
        properties={**options, "fetchsize": str(settings.jdbc.fetch_size)},
    )
    frame = frame.select(*[positional(i) for i in range(len(raw_columns))], ROW)
    return RawBatch(source_input, frame, raw_columns, probe.size, probe.checksum)


def _sheets_service_account_info(settings: Settings) -> dict:
    """The Sheets key: its secret when agents.service_account_secret_id is set, else the key file or
    the CORETELECOMS_SHEETS_SERVICE_ACCOUNT_JSON variable."""
    from coretelecoms.platform.secrets import secret_string
    from coretelecoms.sources.sheets import SheetsError, load_service_account_info

    secret_id, setting = settings.agents.service_account_secret_id, "agents.service_account_secret_id"
    if secret_id:
        return load_service_account_info(key_json=secret_string(settings, secret_id, setting),
                                         key_json_source=f"secret '{secret_id}' (setting {setting})")
    key_file, key_json = settings.agents.service_account_file or None, os.environ.get(SHEETS_KEY_VARIABLE)
    if key_file is None and key_json is None:
        raise SheetsError(f"no service-account key to read the agents sheet: set {setting} (a Secrets Manager id), "
                          f"agents.service_account_file, or {SHEETS_KEY_VARIABLE}")
    return load_service_account_info(key_file=key_file, key_json=key_json)


def _agents_sheet_values(settings: Settings) -> list[list[str]]:
    from coretelecoms.sources.sheets import read_worksheet

    info = _sheets_service_account_info(settings)
    return read_worksheet(
        settings.agents.spreadsheet_id, settings.agents.worksheet, info, api_endpoint=settings.agents.api_endpoint or None
    )


def read_agents_sheet(spark: SparkSession, source_input: SourceInput, probe: Probe) -> RawBatch:
    """The agents worksheet as the probe fetched it through gspread (100 rows: built on the driver)."""
    if not probe.values:
        raise ValueError(f"agents: worksheet {source_input.location} is empty (no header row)")
    header, rows = probe.values[0], probe.values[1:]
    schema = T.StructType(
        [T.StructField(positional(i), T.StringType()) for i in range(len(header))] + [T.StructField(ROW, T.LongType())]
    )
    frame = spark.createDataFrame([(*row, index) for index, row in enumerate(rows)], schema)
    return RawBatch(source_input, frame, list(header), probe.size, probe.checksum)


@dataclass(frozen=True)
class Probe:
    """What is known about an input before Spark reads it: enough to skip an unchanged one, and to
    refuse one whose structure is wrong (`shape`, from a parse independent of Spark's)."""

    size: int
    checksum: str
    shape: Shape
    values: tuple[tuple[str, ...], ...] = ()  # sheets: the worksheet, already fetched


def probe_input(settings: Settings, source_input: SourceInput) -> Probe:
    """Size, checksum and shape of an input, in one read; InputNotReady when it does not exist."""
    if source_input.kind in ("csv", "json"):
        if not storage.exists(source_input.location):
            raise InputNotReady(f"{source_input.source}: {source_input.location} does not exist yet")
        with storage.read_hashing(source_input.location) as stream:
            text = io.TextIOWrapper(io.BufferedReader(stream, storage.CHUNK), encoding="utf-8", errors="replace",
                                    newline="")  # newline="": the csv module sees quoted line breaks as they are
            shape = csv_shape(text) if source_input.kind == "csv" else column_json_shape(text.read())
            stream.drain()
            return Probe(stream.size, stream.sha256, shape)
    if source_input.kind == "jdbc":
        columns, records, checksum, size = _web_forms_table_facts(settings, source_input)
        return Probe(size, checksum, Shape(tuple(columns), records))
    if source_input.kind == "sheets":
        values = _agents_sheet_values(settings)
        body = json.dumps(values, ensure_ascii=False).encode()
        header = tuple(values[0]) if values else ()
        shape = Shape(header, len(values[1:]),
                      "" if values else f"worksheet {source_input.location} is empty: no header row")
        return Probe(len(body), hashlib.sha256(body).hexdigest(), shape, values=tuple(tuple(row) for row in values))
    raise ValueError(f"unknown input kind {source_input.kind!r} for {source_input.source}")


def read_input(spark: SparkSession, settings: Settings, source_input: SourceInput, probe: Probe) -> RawBatch:
    if source_input.kind == "csv":
        return read_csv(spark, source_input, probe)
    if source_input.kind == "json":
        return read_column_oriented_json(spark, source_input, probe)
    if source_input.kind == "jdbc":
        return read_web_forms_table(spark, settings, source_input, probe)
    if source_input.kind == "sheets":
        return read_agents_sheet(spark, source_input, probe)
    raise ValueError(f"unknown input kind {source_input.kind!r} for {source_input.source}")
