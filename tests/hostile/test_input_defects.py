"""Input defects cost their input: a file or table whose structure is wrong is refused (`rejected_input`,
exit code 4) with a reason naming the line or column, and lands nothing; an input that only looks
unusual (CRLF, a BOM, a quoted line break, an unknown extra column) lands every record, counted here
independently of both the pipeline's parse and Spark's.

Each case changes one input of a small hand-written day and ingests that input alone into a fresh lake.
The whole-run behaviour (the other sources go on, the run ends with 4, a fixed re-run loads) is in
test_refused_inputs_run.py.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from coretelecoms.bronze import ingest as bronze_ingest
from coretelecoms.bronze.ingest import INGESTED, REJECTED_INPUT, REPLACED, RunContext, ingest
from coretelecoms.platform import lake
from coretelecoms.platform.storage import spark_path
from coretelecoms.reporting.outcome import EXIT_CODES, REJECTED_INPUT_STATUS
from coretelecoms.sources.catalog import complaint_inputs, dimension_inputs
from tests.bronze.test_ingest_crafted import CALLS, CUSTOMERS, SOCIAL, WEB_COLUMNS, WEB_ROWS, create_web_table, drop_web_table
from tests.conftest import make_settings
from tests.hostile.conftest import index_oriented

DAY = dt.date(2025, 6, 1)
CALL_FILE = Path("call logs", "call_logs_day_2025-06-01.csv")
CUSTOMERS_FILE = Path("customers", "customers_dataset.csv")
AGENTS_FILE = Path("agents", "agents.csv")
SOCIAL_FILE = Path("social_medias", "media_complaint_day_2025-06-01.json")
AGENTS = [["iD", "NamE", "experience", "state"], ["1035", "William Roman", "intern", "Utah"],
          ["1021", "Ann Lee", "senior", "Ohio"]]


def csv_text(rows: list[list[str]], delimiter: str = ",", newline: str = "\n") -> str:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator=newline).writerows(rows)
    return buffer.getvalue()


def without_column(rows: list[list[str]], name: str) -> list[list[str]]:
    index = rows[0].index(name)
    return [row[:index] + row[index + 1:] for row in rows]


def renamed(rows: list[list[str]], name: str, new: str) -> list[list[str]]:
    return [[new if cell == name else cell for cell in rows[0]], *rows[1:]]


def customers(count: int) -> list[list[str]]:
    """`count` well-formed customers (addresses quoted across two lines, as the source writes them)."""
    return [CUSTOMERS[0]] + [
        [f"{index:08d}-6fb0-4045-b33d-1f3b555e2762", f"Person {index}", "F", "1970-01-01", "2017-08-22",
         f"p{index}@gmail.com", f"{index} Paul Turnpike\nDarrenland, NY 13297"] for index in range(count)]


def social(document: dict) -> str:
    return json.dumps(document)


@dataclass(frozen=True)
class Case:
    name: str
    source: str
    body: Callable[[], str | bytes] | None = None  # the input file's new content (file sources)
    status: str = INGESTED
    message: str = ""  # what the refusal says (a fragment naming the line, column or reason)
    records: int | None = None  # an accepted input: records an independent parse counts
    web_rows: tuple[tuple[str, ...], ...] | None = None  # web forms: the table's rows ...
    web_columns: tuple[str, ...] = tuple(WEB_COLUMNS)  # ... and columns
    before: Callable[[], str] | None = None  # a dimension: the snapshot landed by an earlier run
    accept_shrink: bool = False


CALL_CASES = [
    Case("missing column", "call_logs", lambda: csv_text(without_column(CALLS, "agent ID")), REJECTED_INPUT,
         "missing required column agent_id (renamed or dropped?); header '', 'call ID'"),
    Case("renamed column", "call_logs", lambda: csv_text(renamed(CALLS, "agent ID", "agent_no")), REJECTED_INPUT,
         "missing required column agent_id"),
    Case("two columns renamed", "call_logs",
         lambda: csv_text(renamed(renamed(CALLS, "agent ID", "agent_no"), "call_end_time", "hangup")), REJECTED_INPUT,
         "missing required columns agent_id, call_end_time"),
    Case("semicolon delimiter", "call_logs", lambda: csv_text(CALLS, delimiter=";"), REJECTED_INPUT,
         "the header is one column containing ';': wrong delimiter (expected commas)"),
    Case("tab delimiter", "call_logs", lambda: csv_text(CALLS, delimiter="\t"), REJECTED_INPUT,
         "containing '\\t': wrong delimiter"),
    Case("pipe delimiter", "call_logs", lambda: csv_text(CALLS, delimiter="|"), REJECTED_INPUT,
         "containing '|': wrong delimiter"),
    Case("header only", "call_logs", lambda: csv_text(CALLS[:1]), REJECTED_INPUT, "no data rows"),
    Case("empty file", "call_logs", lambda: "", REJECTED_INPUT, "the file is empty: no header line"),
    Case("only blank lines", "call_logs", lambda: "\n\n\n", REJECTED_INPUT, "the file is empty"),
    Case("ends inside a quoted field", "call_logs", lambda: csv_text(CALLS) + '2,"Mar0979K,cut short', REJECTED_INPUT,
         "the file ends inside a quoted field opened on line 4"),
    Case("backslash-escaped quote", "call_logs",
         lambda: csv_text(CALLS).replace("Payments", '"Pay\\"ments"'), REJECTED_INPUT,
         "line 2 is not valid CSV"),
    Case("JSON in a .csv file", "call_logs", lambda: social(SOCIAL), REJECTED_INPUT, "missing required columns"),
    Case("quoted line break in a field", "call_logs",
         lambda: csv_text(CALLS).replace("Payments", '"Pay\nments"'), records=2),
    Case("CRLF line endings", "call_logs", lambda: csv_text(CALLS, newline="\r\n"), records=2),
    Case("CR-only line endings", "call_logs", lambda: csv_text(CALLS, newline="\r"), records=2),
    Case("UTF-8 byte-order mark", "call_logs", lambda: "\ufeff" + csv_text(CALLS), records=2),
    Case("blank lines between records", "call_logs", lambda: csv_text(CALLS).replace("\n", "\n\n"), records=2),
    Case("no final line break", "call_logs", lambda: csv_text(CALLS).rstrip("\n"), records=2),
    Case("undecodable byte in a field", "call_logs",
         lambda: csv_text(CALLS).encode().replace(b"Payments", b"Pay\xffments"), records=2),
    Case("unknown extra column", "call_logs",
         lambda: csv_text([row + [value] for row, value in zip(CALLS, ["surveyScore", "5", "4"])]), records=2),
    Case("columns in another order", "call_logs", lambda: csv_text([row[::-1] for row in CALLS]), records=2),
    Case("a row with too few fields", "call_logs", lambda: csv_text([*CALLS, ["2", "Mar0979K"]]), records=3),
    Case("a row with too many fields", "call_logs", lambda: csv_text([*CALLS, CALLS[1] + ["x", "y"]]), records=3),
]

DIMENSION_CASES = [
    Case("customers cut inside a quoted address", "customers",
         lambda: csv_text(customers(3)).rsplit("Darrenland", 1)[0], REJECTED_INPUT,
         "the file ends inside a quoted field opened on line 6"),
    Case("customers without email", "customers", lambda: csv_text(without_column(customers(3), "email")),
         REJECTED_INPUT, "missing required column email"),
    Case("customers shrink by a third", "customers", lambda: csv_text(customers(2)), REJECTED_INPUT,
         "the snapshot shrank from 3 to 2 rows (33.3% fewer; more than the 20% allowed)",
         before=lambda: csv_text(customers(3))),
    Case("customers shrink, accepted", "customers", lambda: csv_text(customers(2)), REPLACED, records=2,
         before=lambda: csv_text(customers(3)), accept_shrink=True),
    Case("customers shrink by the 20% allowed", "customers", lambda: csv_text(customers(4)), REPLACED, records=4,
         before=lambda: csv_text(customers(5))),
    Case("agents header only", "agents", lambda: csv_text(AGENTS[:1]), REJECTED_INPUT, "no data rows"),
    Case("agents without state", "agents", lambda: csv_text(without_column(AGENTS, "state")), REJECTED_INPUT,
         "missing required column state"),
    Case("agents shrink by half", "agents", lambda: csv_text(AGENTS[:2]), REJECTED_INPUT,
         "the snapshot shrank from 2 to 1 rows", before=lambda: csv_text(AGENTS)),
]

SOCIAL_CASES = [
    Case("index-oriented JSON", "sm_complaints", lambda: social(index_oriented(SOCIAL)), REJECTED_INPUT,
         "index-oriented JSON (the top-level keys are row numbers)"),
    Case("records-oriented JSON", "sm_complaints",
         lambda: social(list(index_oriented(SOCIAL).values())), REJECTED_INPUT,
         "the top level is a list, not an object"),
    Case("JSON Lines", "sm_complaints", lambda: social(SOCIAL) + "\n" + social(SOCIAL), REJECTED_INPUT,
         "not valid JSON: Extra data at line 2, column 1"),
    Case("truncated JSON", "sm_complaints", lambda: social(SOCIAL)[:-40], REJECTED_INPUT, "not valid JSON"),
    Case("empty object", "sm_complaints", lambda: "{}", REJECTED_INPUT, "an empty object: no columns"),
    Case("a column that is a list", "sm_complaints", lambda: social({**SOCIAL, "media_channel": ["Twitter"]}),
         REJECTED_INPUT, "column 'media_channel' is a list"),
    Case("a column short of a row", "sm_complaints",
         lambda: social({**SOCIAL, "resolution_date": {"0": ""}}), REJECTED_INPUT,
         "column 'resolution_date' has 1 rows where the file has 2"),
    Case("a duplicated column", "sm_complaints",
         lambda: social(SOCIAL)[:-1] + ', "media_channel": {"0": "X", "1": "Y"}}', REJECTED_INPUT,
         "the key 'media_channel' appears twice"),
    Case("row keys that are not numbers", "sm_complaints",
         lambda: social({column: {f"r{row}": value for row, value in cells.items()} for column, cells in SOCIAL.items()}),
         REJECTED_INPUT, "row key 'r0' is not a row number"),
    Case("without media_channel", "sm_complaints",
         lambda: social({k: v for k, v in SOCIAL.items() if k != "media_channel"}), REJECTED_INPUT,
         "missing required column media_channel"),
    Case("columns without rows", "sm_complaints", lambda: social({column: {} for column in SOCIAL}), REJECTED_INPUT,
         "no data rows"),
    Case("numbers, booleans and nulls as values", "sm_complaints",
         lambda: social({**SOCIAL, "agent ID": {"0": 1010, "1": None}, "resolution_date": {"0": False, "1": ""}}),
         records=2),
]

WEB_CASES = [
    Case("web table without rows", "web_complaints", web_rows=(), status=REJECTED_INPUT, message="no data rows"),
    Case("web table without agent ID", "web_complaints",
         web_rows=tuple(tuple(row[:4] + row[5:]) for row in WEB_ROWS),
         web_columns=tuple(c for c in WEB_COLUMNS if c != "agent ID"), status=REJECTED_INPUT,
         message="missing required column agent_id"),
    Case("web table with a renamed column", "web_complaints", web_rows=tuple(map(tuple, WEB_ROWS)),
         web_columns=tuple("requestID_v2" if c == "request_id" else c for c in WEB_COLUMNS), status=REJECTED_INPUT,
         message="missing required column request_id"),
    Case("web table with an extra column", "web_complaints", web_rows=tuple(tuple(row + ["x"]) for row in WEB_ROWS),
         web_columns=(*WEB_COLUMNS, "channel_note"), records=3),
]

CASES = CALL_CASES + DIMENSION_CASES + SOCIAL_CASES + WEB_CASES
FILES = {"call_logs": CALL_FILE, "customers": CUSTOMERS_FILE, "agents": AGENTS_FILE, "sm_complaints": SOCIAL_FILE}


def write_input(root: Path, case_file: Path, body: str | bytes) -> Path:
    path = root / case_file
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(body if isinstance(body, bytes) else body.encode())
    return path


def source_input(settings, source: str, day: dt.date = DAY):
    return next(i for i in dimension_inputs(settings, day) + complaint_inputs(settings, day) if i.source == source)


def landed_rows(spark, settings, source: str, location: str) -> list:
    path = spark_path(lake.bronze(settings, source))
    from delta.tables import DeltaTable

    if not DeltaTable.isDeltaTable(spark, path):
        return []
    return spark.read.format("delta").load(path).where(f"_source = '{location}'").collect()


def independent_count(body: str | bytes, source: str) -> int:
    """Records as a reader of the raw text counts them: csv for CSV (blank lines are not records), json."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    if source == "sm_complaints":
        return len(next(iter(json.loads(text).values())))
    return sum(1 for row in csv.reader(io.StringIO(text, newline="")) if row) - 1


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_an_input_is_landed_whole_or_refused_with_its_reason(case, spark, tmp_path, source_dsn):
    settings = make_settings(tmp_path, source_dsn)
    web_day = DAY + dt.timedelta(days=40 + WEB_CASES.index(case)) if case in WEB_CASES else DAY
    if case.before:
        write_input(tmp_path / "landing", FILES[case.source], case.before())
        earlier = ingest(spark, settings, source_input(settings, case.source), RunContext("run-before", DAY))
        assert earlier.status == INGESTED
    table = f"web_form_request_{web_day.strftime('%Y_%m_%d')}"
    if case.source == "web_complaints":
        create_web_table(source_dsn, table, [list(row) for row in case.web_rows], list(case.web_columns))
        body = None
    else:
        body = case.body()
        write_input(tmp_path / "landing", FILES[case.source], body)
    the_input = source_input(settings, case.source, web_day)
    try:
        outcome = ingest(spark, settings, the_input, RunContext("run-case", web_day, case.accept_shrink))
    finally:
        if case.source == "web_complaints":
            drop_web_table(source_dsn, table)

    assert outcome.status == case.status, outcome.message
    landed = [row for row in landed_rows(spark, settings, case.source, the_input.location) if row["_run_id"] == "run-case"]
    if case.status == REJECTED_INPUT:
        assert case.message in outcome.message
        assert outcome.fix and outcome.rows == 0 and landed == []
        assert EXIT_CODES[REJECTED_INPUT_STATUS] == 4
    else:
        expected = case.records if body is None else independent_count(body, case.source)
        assert expected == case.records
        assert outcome.rows == len(landed) == expected


def test_a_file_changed_while_it_is_read_is_refused_and_the_earlier_version_kept(spark, tmp_path, source_dsn,
                                                                                 monkeypatch):
    """The customers object is overwritten upstream between the probe and Spark's read: Spark's
    record count disagrees with the parse, the write is undone and the landed snapshot stays."""
    settings = make_settings(tmp_path, source_dsn)
    path = write_input(tmp_path / "landing", CUSTOMERS_FILE, csv_text(customers(3)))
    ingest(spark, settings, source_input(settings, "customers"), RunContext("run-1", DAY))
    path.write_text(csv_text(customers(4)))
    real_read = bronze_ingest.read_input

    def read_after_upstream_rewrote_it(*args):
        path.write_text(csv_text(customers(5)))  # the upstream's next copy lands mid-ingest
        return real_read(*args)

    monkeypatch.setattr(bronze_ingest, "read_input", read_after_upstream_rewrote_it)
    outcome = ingest(spark, settings, source_input(settings, "customers"), RunContext("run-2", DAY))
    assert outcome.status == REJECTED_INPUT
    assert outcome.message == ("Spark read 5 records where an independent parse of the input counts 4; "
                               "the write was undone")
    rows = landed_rows(spark, settings, "customers", source_input(settings, "customers").location)
    assert sorted({row["_run_id"] for row in rows}) == ["run-1"] and len(rows) == 3


def test_an_input_s_unknown_columns_are_its_own_not_every_earlier_file_s(spark, tmp_path, source_dsn):
    """Bronze holds every file's columns; silver reads only the columns of the input it processes."""
    from coretelecoms.quality.cleaning import canonical_columns
    from coretelecoms.quality.stage import read_bronze_batch

    settings = make_settings(tmp_path, source_dsn)
    outcomes = []
    for day, extra in ((DAY, "surveyScore"), (DAY + dt.timedelta(days=1), "npsNote")):
        name = f"call logs/call_logs_day_{day}.csv"
        write_input(tmp_path / "landing", Path(name), csv_text([row + [value] for row, value in zip(CALLS, [extra, "5", "4"])]))
        outcomes.append(ingest(spark, settings, source_input(settings, "call_logs", day), RunContext("run", day)))
    frame, raw_by_column = read_bronze_batch(spark, settings, outcomes[1])
    assert canonical_columns(raw_by_column.values(), "call_logs").unknown == ("npsNote",)
    assert "surveyScore" not in frame.columns and frame.count() == 2
