"""Great Expectations suites on small silver frames: clean batches pass, broken ones stop the load."""
import datetime as dt
import json
import subprocess
import sys
import textwrap

import pytest
from pyspark.sql import functions as F

from coretelecoms.quality import cleaning
from coretelecoms.quality.expectations import (
    CRITICAL,
    EXPECTATIONS_DIR,
    WARNING,
    CriticalExpectationFailed,
    build_data_docs,
    load_suite,
    require_critical,
    validate,
)

ENTITIES = ("customers", "agents", "call_logs", "sm_complaints", "web_complaints")
KEYS = {"customers": "customer_id", "agents": "agent_id", "call_logs": "call_id",
        "sm_complaints": "complaint_id", "web_complaints": "request_id"}
TABLE_GUARDS = {"expect_table_columns_to_match_set", "expect_table_row_count_to_be_between",
                "expect_column_values_to_be_of_type"}
KEY_GUARDS = {"expect_column_values_to_not_be_null", "expect_column_values_to_be_unique"}
SET_COLUMNS = {"gender", "experience", "complaint_category", "resolution_status", "media_channel"}
RUN_ID = "2025-06-01-test"
DAY = dt.date(2025, 6, 1)
ALICE, BOB = "d6966473-6fb0-4045-b33d-1f3b555e2762", "c3431b44-ebcd-4a36-ad0a-11a7cafbd0fd"
LINEAGE = "_source string, _source_row long, _run_id string, _run_date date"
SCHEMAS = {
    "customers": "customer_id string, name string, gender string, date_of_birth date, signup_date date, "
                 "email string, address string, state_code string, state_name string, zip_code string",
    "agents": "agent_id int, name string, experience string, state string",
    "call_logs": "call_id string, customer_id string, agent_id int, complaint_category string, "
                 "call_start_time timestamp, call_end_time timestamp, resolution_status string, "
                 "call_logs_generation_date date",
    "sm_complaints": "complaint_id string, customer_id string, agent_id int, complaint_category string, "
                     "resolution_status string, request_date timestamp, resolution_date timestamp, "
                     "media_channel string, media_complaint_generation_date date",
    "web_complaints": "request_id string, customer_id string, agent_id int, complaint_category string, "
                      "resolution_status string, request_date timestamp, resolution_date timestamp, "
                      "web_form_generation_date date",
}


def complaint_id(prefix: str, customer_id: str, serial: int) -> str:
    """55 characters embedding the customer's UUID, the shape of the real ids."""
    return f"{prefix}0979K{customer_id.replace('-', '')}{serial:015d}"


def ts(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


CLEAN_ROWS = {
    "customers": [
        dict(customer_id=ALICE, name="Brianna Schultz", gender="F", date_of_birth=dt.date(1930, 9, 10),
             signup_date=dt.date(2017, 8, 22), email="brianna_schultz525@gmail.com",
             address="317 Paul Turnpike\nDarrenland, NY 13297", state_code="NY", state_name="New York",
             zip_code="13297"),
        dict(customer_id=BOB, name="April Morgan", gender="F", date_of_birth=dt.date(1969, 12, 5),
             signup_date=dt.date(2017, 12, 8), email=None, address="PSC 2383, Box 3666\nAPO AA 12094",
             state_code="AA", state_name="Armed Forces Americas", zip_code="12094"),
    ],
    "agents": [
        dict(agent_id=1035, name="Ada Lovelace", experience="Senior", state="New York"),
        dict(agent_id=1021, name="Grace Hopper", experience="intern", state="District of Columbia"),
    ],
    "call_logs": [
        dict(call_id=complaint_id("Mar", ALICE, 1), customer_id=ALICE, agent_id=1035, complaint_category="Payments",
             call_start_time=ts("2025-03-07 18:40:43"), call_end_time=ts("2025-03-07 18:52:43"),
             resolution_status="Blocked", call_logs_generation_date=DAY),
        dict(call_id=complaint_id("Cor", BOB, 2), customer_id=BOB, agent_id=1021,
             complaint_category="Router Delivery", call_start_time=ts("2025-01-29 02:58:12"), call_end_time=None,
             resolution_status="In-Progress", call_logs_generation_date=DAY),
    ],
    "sm_complaints": [
        dict(complaint_id=complaint_id("dan", ALICE, 3), customer_id=ALICE, agent_id=1010,
             complaint_category="Payments", resolution_status="Resolved", request_date=ts("2025-05-30 13:09:37"),
             resolution_date=ts("2025-06-01 10:00:00"), media_channel="Instagram",
             media_complaint_generation_date=DAY),
        dict(complaint_id=complaint_id("jar", BOB, 4), customer_id=BOB, agent_id=1018,
             complaint_category="Network Failure", resolution_status="Backlog", request_date=ts("2025-04-19 00:59:00"),
             resolution_date=None, media_channel="LinkedIn", media_complaint_generation_date=DAY),
    ],
    "web_complaints": [
        dict(request_id=complaint_id("nnc", ALICE, 5), customer_id=ALICE, agent_id=1071, complaint_category="Payments",
             resolution_status="In-Progress", request_date=ts("2025-02-10 12:22:54"), resolution_date=None,
             web_form_generation_date=DAY),
        dict(request_id=complaint_id("ond", BOB, 6), customer_id=BOB, agent_id=1004,
             complaint_category="Technician Support", resolution_status="Resolved",
             request_date=ts("2025-03-30 22:14:24"), resolution_date=ts("2025-04-12 12:52:24"),
             web_form_generation_date=DAY),
    ],
}


def silver_frame(spark, entity: str, rows: list[dict]):
    """A typed silver batch with its lineage columns, in the column order of SCHEMAS."""
    columns = [field.split()[0] for field in SCHEMAS[entity].split(", ")]
    records = [(*(row[column] for column in columns), f"landing/{entity}", index, RUN_ID, DAY)
               for index, row in enumerate(rows)]
    return spark.createDataFrame(records, f"{SCHEMAS[entity]}, {LINEAGE}")


def with_changes(entity: str, index: int, **changes) -> list[dict]:
    rows = [dict(row) for row in CLEAN_ROWS[entity]]
    rows[index].update(changes)
    return rows


@pytest.fixture(scope="module")
def results_dir(tmp_path_factory):
    return str(tmp_path_factory.mktemp("gx-results"))


@pytest.fixture(scope="module")
def clean_outcomes(spark, results_dir):
    """Every entity's clean batch validated once; the Data Docs test reuses the kept results."""
    return {entity: validate(silver_frame(spark, entity, CLEAN_ROWS[entity]), entity, RUN_ID, results_dir)
            for entity in ENTITIES}


# --- The suites as files ---------------------------------------------------------------------------

@pytest.mark.parametrize("entity", ENTITIES)
def test_suite_file_is_what_gx_itself_serialises(entity):
    stored = json.loads((EXPECTATIONS_DIR / f"{entity}.json").read_text())
    suite = load_suite(entity)
    assert suite.name == entity
    assert suite.to_json_dict() == stored


@pytest.mark.parametrize("entity", ENTITIES)
def test_every_expectation_has_a_severity_and_keys_are_critical(entity):
    expectations = load_suite(entity).expectations
    assert all(e.meta.get("severity") in (CRITICAL, WARNING) for e in expectations)
    assert all(e.meta["severity"] == e.severity.value for e in expectations)  # GX's own field agrees
    critical = {(e.expectation_type, getattr(e, "column", None)) for e in expectations if e.severity.value == CRITICAL}
    key = KEYS[entity]
    assert {("expect_table_row_count_to_be_between", None), ("expect_column_values_to_not_be_null", key),
            ("expect_column_values_to_be_unique", key)} <= critical
    # Only the table is guarded critically (its columns, types, row count, one row per key, lineage):
    # a value one bad row can carry is the transform's to reject or repair, never the run's to stop on.
    for kind, column in critical:
        assert (kind in TABLE_GUARDS or (column == key and kind in KEY_GUARDS)
                or (column.startswith("_") and kind == "expect_column_values_to_not_be_null")), (kind, column)
    # Data Docs show the severity: it is the first words of every expectation's notes.
    assert all(e.notes.startswith(f"Severity: {e.severity.value}.") for e in expectations)


def value_sets(entity: str) -> dict[str, set]:
    return {e.column: set(e.value_set) for e in load_suite(entity).expectations
            if e.expectation_type == "expect_column_values_to_be_in_set" and e.column in SET_COLUMNS}


def test_value_sets_are_the_cleaners_canonical_values():
    complaint_sets = {"complaint_category": set(cleaning.CATEGORIES), "resolution_status": set(cleaning.STATUSES)}
    assert value_sets("customers") == {"gender": set(cleaning.GENDERS)}
    assert value_sets("agents") == {"experience": set(cleaning.EXPERIENCES)}
    assert value_sets("call_logs") == complaint_sets
    assert value_sets("web_complaints") == complaint_sets
    assert value_sets("sm_complaints") == {**complaint_sets, "media_channel": set(cleaning.CHANNELS)}


# --- Validation on Spark ---------------------------------------------------------------------------

@pytest.mark.parametrize("entity", ENTITIES)
def test_clean_batch_passes_every_expectation(clean_outcomes, results_dir, entity):
    outcome = clean_outcomes[entity]
    assert outcome.failures == []
    assert outcome.success_critical
    assert outcome.statistics["unsuccessful_expectations"] == 0
    assert outcome.tally["critical"]["failed"] == outcome.tally["warning"]["failed"] == 0
    assert outcome.tally["critical"]["passed"] + outcome.tally["warning"]["passed"] == outcome.statistics["evaluated_expectations"]
    assert outcome.tally["critical"]["passed"] > 0 and outcome.tally["warning"]["passed"] > 0
    require_critical(outcome)
    kept = json.loads(open(outcome.result_location).read())
    assert outcome.result_location == f"{results_dir}/{RUN_ID}/{entity}.json"
    assert kept["suite_name"] == entity and kept["meta"]["run_id"]["run_name"] == RUN_ID


def test_critical_failures_stop_the_load_naming_each_expectation_with_examples(spark, tmp_path):
    first_id = CLEAN_ROWS["call_logs"][0]["call_id"]
    rows = with_changes("call_logs", 1, call_id=None) + with_changes("call_logs", 0, resolution_status="Pending??")
    outcome = validate(silver_frame(spark, "call_logs", rows), "call_logs", RUN_ID, str(tmp_path))

    with pytest.raises(CriticalExpectationFailed) as raised:
        require_critical(outcome)

    assert not outcome.success_critical
    found = {(f.expectation_type, f.column, f.severity): (f.unexpected_count, f.examples) for f in outcome.failures}
    assert found == {
        ("expect_column_values_to_not_be_null", "call_id", CRITICAL): (1, [None]),  # the null key
        ("expect_column_values_to_be_unique", "call_id", CRITICAL): (2, [first_id, first_id]),  # the duplicate key
        ("expect_column_values_to_be_in_set", "resolution_status", WARNING): (1, ["Pending??"]),  # a row's value
    }
    message = str(raised.value)
    assert "2 critical expectation(s) failed" in message
    for expected in ("expect_column_values_to_not_be_null(call_id): 1 unexpected, e.g. [None]",
                     f"expect_column_values_to_be_unique(call_id): 2 unexpected, e.g. ['{first_id}', '{first_id}']"):
        assert expected in message
    assert "resolution_status" not in message
    assert raised.value.outcome is outcome
    assert (outcome.tally["critical"]["failed"], outcome.tally["warning"]["failed"]) == (2, 1)


def test_empty_batch_and_schema_drift_are_critical(spark, tmp_path):
    drifted = silver_frame(spark, "agents", []).drop("state").withColumn("agent_id", F.col("agent_id").cast("string"))
    outcome = validate(drifted, "agents", RUN_ID, str(tmp_path))

    with pytest.raises(CriticalExpectationFailed) as raised:
        require_critical(outcome)

    found = {(f.expectation_type, f.column): f.examples for f in outcome.critical_failures}
    assert found[("expect_table_row_count_to_be_between", "")] == [0]
    assert found[("expect_table_columns_to_match_set", "")] == [{"missing": ["state"]}]
    assert found[("expect_column_values_to_be_of_type", "agent_id")] == ["StringType"]
    assert "expect_table_row_count_to_be_between(): e.g. [0]" in str(raised.value)


def test_warning_only_failures_are_reported_but_do_not_raise(spark, tmp_path):
    rows = with_changes("call_logs", 0, call_end_time=ts("2025-03-07 18:12:43"), agent_id=0)
    outcome = validate(silver_frame(spark, "call_logs", rows), "call_logs", RUN_ID, str(tmp_path))

    require_critical(outcome)

    assert outcome.success_critical
    found = {(f.expectation_type, f.column, f.severity): f.examples for f in outcome.failures}
    assert found == {
        ("expect_column_pair_values_a_to_be_greater_than_b", "call_end_time, call_start_time", WARNING):
            [["2025-03-07T18:12:43", "2025-03-07T18:40:43"]],
        ("expect_column_values_to_be_between", "agent_id", WARNING): [0],
    }


# --- Data Docs -------------------------------------------------------------------------------------

def test_data_docs_list_every_suite_and_the_kept_results(clean_outcomes, results_dir, tmp_path):
    index = build_data_docs(results_dir, str(tmp_path / "data_docs"))

    html = open(index).read()
    site = tmp_path / "data_docs"
    assert index == str(site / "index.html")
    for entity in ENTITIES:
        assert f'href="expectations/{entity}.html"' in html
        assert (site / "expectations" / f"{entity}.html").is_file()
        [page] = (site / "validations" / entity / RUN_ID).glob("*/*.html")
        assert page.relative_to(site).as_posix() in html


def test_validation_leaves_nothing_cached(spark, tmp_path):
    """GX persists each frame it validates unless told not to, and never releases it: every run's silver
    rows stayed in the driver's heap. The failing expectation makes GX fetch examples too."""
    frame = silver_frame(spark, "call_logs", with_changes("call_logs", 0, agent_id=0))
    outcome = validate(frame, "call_logs", RUN_ID, str(tmp_path))
    assert [failure.column for failure in outcome.failures] == ["agent_id"]
    level = frame.storageLevel
    assert not (level.useMemory or level.useDisk or level.useOffHeap)


def test_start_importing_imports_great_expectations_on_a_thread_and_only_when_it_is_not_imported():
    """In a new interpreter (this one has imported it already): the import runs on its own thread,
    which ends with the module complete; a second call starts no thread."""
    program = textwrap.dedent("""
        import sys, threading
        from coretelecoms.quality.expectations import start_importing
        assert "great_expectations" not in sys.modules
        start_importing()
        [importing] = [t for t in threading.enumerate() if t.name == "import great_expectations"]
        importing.join()
        import great_expectations
        start_importing()
        print(callable(great_expectations.get_context),
              [t.name for t in threading.enumerate() if t is not threading.main_thread()])
    """)
    completed = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=True)
    assert completed.stdout.split("\n")[0] == "True []"
