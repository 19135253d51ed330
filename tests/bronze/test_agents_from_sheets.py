"""The agents source through gspread and the Sheets HTTP API (served by a local fake), into bronze."""
import datetime as dt
import json

from coretelecoms.bronze.ingest import INGESTED, UNCHANGED, RunContext, ingest
from coretelecoms.platform.storage import spark_path
from coretelecoms.sources.catalog import dimension_inputs
from coretelecoms.platform import lake
from tests.conftest import make_settings
from tests.fakes.sheets_server import FakeSheetsServer

VALUES = [["iD", "NamE", "experience", "state"], ["1000", "Jane Doe", "Senior", "Utah"], ["1001", "Li O'Neil", "intern", ""]]
FIXTURE = {"spreadsheet_id": "sheet-abc", "title": "CoreTelecoms agents", "worksheets": [{"title": "agents", "values": VALUES}]}


def test_agents_sheet_lands_in_bronze_through_gspread(spark, tmp_path, source_dsn, monkeypatch):
    with FakeSheetsServer(FIXTURE) as fake:
        monkeypatch.setenv("CORETELECOMS_SHEETS_SERVICE_ACCOUNT_JSON", json.dumps(fake.service_account_info()))
        settings = make_settings(
            tmp_path, source_dsn,
            **{"agents.reader": "sheets", "agents.spreadsheet_id": "sheet-abc", "agents.api_endpoint": fake.url},
        )
        agents_input = next(i for i in dimension_inputs(settings, dt.date(2025, 6, 1)) if i.source == "agents")
        first = ingest(spark, settings, agents_input, RunContext("run-1", dt.date(2025, 6, 1)))
        again = ingest(spark, settings, agents_input, RunContext("run-2", dt.date(2025, 6, 1)))
    assert (first.status, first.rows, agents_input.location) == (INGESTED, 2, "sheets:sheet-abc/agents")
    assert again.status == UNCHANGED
    rows = spark.read.format("delta").load(spark_path(lake.bronze(settings, "agents"))).orderBy("_source_row")
    assert [tuple(r) for r in rows.select("iD", "NamE", "experience", "state", "_source_row").collect()] == [
        ("1000", "Jane Doe", "Senior", "Utah", 0), ("1001", "Li O'Neil", "intern", "", 1)]
