"""What an input must look like to be landed, judged before Spark reads it.

The probe reads every file once anyway (for its checksum); it parses it on the way with a reader
independent of Spark's (Python's csv and json modules). That parse gives the header, the record
count Spark's read is held to, and the first structural defect: a file that is not valid CSV or
ends inside a quoted field, JSON that is not column-oriented, a missing required column, a wrong
delimiter, no data rows. Nothing here touches Spark or the lake.
"""
from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from dataclasses import dataclass

from coretelecoms.platform.tables import ENTITIES

SHOWN_HEADER = 200  # characters of a header quoted in a message: a header line may be huge
OTHER_DELIMITERS = (";", "\t", "|")


@dataclass(frozen=True)
class Shape:
    """An input as the independent parse saw it."""

    header: tuple[str, ...]
    records: int  # data records (blank lines are not records, for Spark either)
    defect: str = ""  # why the input cannot be read as its kind; names the line or column


def csv_shape(lines: Iterable[str]) -> Shape:
    """Header, record count and the first defect of a CSV whose first line is the header; quoted
    fields may span lines (addresses do), so a record's first line is what a defect names."""
    reader = csv.reader(lines, strict=True)
    header, records, record_line = None, 0, 1
    try:
        for row in reader:
            if header is None:
                header = tuple(row) if row else None
            elif row:
                records += 1
            record_line = reader.line_num + 1
    except csv.Error as error:
        if "unexpected end of data" in str(error):
            defect = f"the file ends inside a quoted field opened on line {record_line} (cut short?)"
        else:
            defect = f"line {reader.line_num} is not valid CSV: {error}"
        return Shape(header or (), records, defect)
    if header is None:
        return Shape((), 0, "the file is empty: no header line")
    return Shape(header, records)


def column_json_shape(text: str) -> Shape:
    """A pandas `orient='columns'` document, {column: {row number: value}}, and nothing else."""
    try:
        document = json.loads(text, object_pairs_hook=_object_without_duplicate_keys)
    except json.JSONDecodeError as error:
        return Shape((), 0, f"not valid JSON: {error.msg} at line {error.lineno}, column {error.colno}")
    except DuplicateKey as duplicate:  # Spark would take one of them, or fail on an ambiguous column
        return Shape((), 0, f"the key '{str(duplicate)[:SHOWN_HEADER]}' appears twice in one object")
    expected = "expected column-oriented JSON, {column: {row number: value}}"
    if not isinstance(document, dict):
        return Shape((), 0, f"the top level is a {type(document).__name__}, not an object: {expected}")
    header = tuple(document)
    if not header:
        return Shape((), 0, "the file is an empty object: no columns")
    if all(name.isdigit() for name in header):
        return Shape(header, 0, f"index-oriented JSON (the top-level keys are row numbers): {expected}")
    not_columns = [name for name, cells in document.items() if not isinstance(cells, dict)]
    if not_columns:
        return Shape(header, 0, f"column '{not_columns[0]}' is a {type(document[not_columns[0]]).__name__}, "
                                f"not an object of {{row number: value}}: {expected}")
    rows = set().union(*(cells.keys() for cells in document.values()))
    uneven = [name for name, cells in document.items() if len(cells) != len(rows)]
    if uneven:
        return Shape(header, len(rows), f"column '{uneven[0]}' has {len(document[uneven[0]]):,} rows where the "
                                        f"file has {len(rows):,}")
    bad_rows = sorted(row for row in rows if not row.isdigit())
    if bad_rows:
        return Shape(header, len(rows), f"row key '{bad_rows[0][:SHOWN_HEADER]}' is not a row number: {expected}")
    return Shape(header, len(rows))


class DuplicateKey(ValueError):
    pass


def _object_without_duplicate_keys(pairs: list[tuple[str, object]]) -> dict:
    document = dict(pairs)
    if len(document) != len(pairs):
        seen = set()
        raise DuplicateKey(next(key for key, _ in pairs if key in seen or seen.add(key)))
    return document


def structure_defect(shape: Shape, entity: str) -> str:
    """The first reason this input cannot be landed as `entity`, or "" when it can."""
    if shape.defect:
        return shape.defect
    missing = ENTITIES[entity].missing_fields(shape.header)
    if missing:
        if len(shape.header) == 1:
            delimiter = next((d for d in OTHER_DELIMITERS if d in shape.header[0]), None)
            if delimiter:
                return (f"the header is one column containing {delimiter!r}: wrong delimiter "
                        f"(expected commas); header {_shown(shape.header)}")
        names = ", ".join(missing)
        return (f"missing required column{'s' if len(missing) > 1 else ''} {names} "
                f"(renamed or dropped?); header {_shown(shape.header)}")
    if shape.records == 0:
        return "no data rows: the input has a header and nothing else"
    return ""


def shrink_defect(records: int, previous: int | None, max_shrink: float) -> str:
    """A snapshot with more than `max_shrink` fewer rows than the one landed before it, or ""."""
    if not previous or records >= previous * (1 - max_shrink):
        return ""
    return (f"the snapshot shrank from {previous:,} to {records:,} rows ({1 - records / previous:.1%} fewer; "
            f"more than the {max_shrink:.0%} allowed)")


def _shown(header: tuple[str, ...]) -> str:
    text = ", ".join(repr(name) for name in header)
    return text if len(text) <= SHOWN_HEADER else text[:SHOWN_HEADER] + "…"
