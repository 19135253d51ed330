"""DataQualityChecker and Transformer on crafted rows: field-level issues, routing, accounting."""
import datetime as dt

import pytest
from chispa import assert_df_equality
from pyspark.sql import Row
from pyspark.sql import functions as F

from coretelecoms.quality.checks import find_issues
from coretelecoms.platform.tables import ENTITIES
from coretelecoms.quality.transform import AccountingError, Accounting, transform_batch

CUSTOMER = "d6966473-6fb0-4045-b33d-1f3b555e2762"
OTHER = "c3431b44-ebcd-4a36-ad0a-11a7cafbd0fd"
CALL_COLUMNS = ["call_ID", "customeR_iD", "COMPLAINT_catego_ry", "agent_ID", "call_start_time", "call_end_time",
                "resolutionstatus", "callLogsGenerationDate"]
RAW_BY_COLUMN = {"unnamed_0": "", "call_ID": "call ID", "customeR_iD": "customeR iD",
                 "COMPLAINT_catego_ry": "COMPLAINT_catego ry", "agent_ID": "agent ID",
                 "call_start_time": "call_start_time", "call_end_time": "call_end_time",
                 "resolutionstatus": "resolutionstatus", "callLogsGenerationDate": "callLogsGenerationDate"}


def call(row, call_id, customer=CUSTOMER, category="Payments", agent="1035", start="2025-03-07 18:40:43",
         end="2025-03-07 18:52:43", status="Resolved", generated="2025-06-01"):
    return ("0", call_id, customer, category, agent, start, end, status, generated, "s3a://x/call.csv", row,
            "sum", dt.date(2025, 6, 1), "bronze-run")


def bronze_calls(spark, rows):
    columns = ["unnamed_0", *CALL_COLUMNS, "_source", "_source_row", "_source_checksum", "_source_date", "_run_id"]
    return spark.createDataFrame(rows, columns)


def call_id(customer=CUSTOMER, suffix="K"):
    return f"Mar0979K{customer.replace('-', '')}1476b1aeb39ce{suffix}"


def test_checker_reports_field_rule_and_original_value_without_changing_values(spark):
    raw = spark.createDataFrame(
        [(call_id(), CUSTOMER, "Payments??", "1035", "2025-03-07 18:40:43", "2025-03-07 18:30:00", "in progress", "2025-06-01"),
         ("", "", "Payments", "10x", "not-a-date", "", "Resolved", "2025-06-01")],
        ["call_id", "customer_id", "complaint_category", "agent_id", "call_start_time", "call_end_time",
         "resolution_status", "call_logs_generation_date"],
    )
    checked = raw.transform(find_issues(ENTITIES["call_logs"]))
    assert_df_equality(checked.drop("_issues"), raw)
    issues = [sorted((i.field, i.rule, i.value, i.severity) for i in row._issues) for row in checked.collect()]
    assert issues[0] == [
        ("call_end_time", "end_before_start", "2025-03-07 18:30:00", "repair"),
        ("complaint_category", "invalid_enumeration", "Payments??", "repair"),
    ]
    assert issues[1] == [
        ("agent_id", "invalid_agent_id", "10x", "reject"),
        ("call_end_time", "missing", "", "repair"),
        ("call_id", "missing", "", "reject"),
        ("call_start_time", "unparseable_timestamp", "not-a-date", "repair"),
        ("customer_id", "missing", "", "reject"),
    ]


def test_transformer_routes_every_row_once_and_accounts_for_it(spark):
    rows = [
        call(0, call_id()),                                                      # clean
        call(1, call_id(OTHER), customer=OTHER, status="Pending??"),            # repaired: status nulled
        call(2, call_id(OTHER, "Q"), customer="not-a-uuid"),                    # rejected: customer id
        call(3, call_id(suffix="D"), status="Backlog", generated="2025-06-01"),  # duplicate, older row...
        call(4, call_id(suffix="D"), status="In-Progress"),                     # ...the later row is kept
        call(5, "", customer=CUSTOMER),                                          # rejected: no key
        call(6, "X" + call_id(OTHER), customer=CUSTOMER),                       # clean, id does not embed customer: warning
    ]
    batch = transform_batch(ENTITIES["call_logs"], bronze_calls(spark, rows), RAW_BY_COLUMN, "run-9", dt.date(2025, 6, 1))
    try:
        assert batch.accounting == Accounting(
            entity="call_logs", rows_in=7, clean=3, repaired=1,
            rejected={"call_id: missing": 1, "customer_id: invalid_uuid": 1}, collapsed=1, warnings=1,
        )
        kept = {r.call_id: r for r in batch.rows.collect()}
        assert set(kept) == {call_id(), call_id(OTHER), call_id(suffix="D"), "X" + call_id(OTHER)}
        assert kept[call_id(OTHER)].resolution_status is None
        assert kept[call_id(suffix="D")].resolution_status == "In-Progress"
        assert kept[call_id()].agent_id == 1035
        assert kept[call_id()].call_start_time == dt.datetime(2025, 3, 7, 18, 40, 43)
        issues = {(r.natural_key, r.field, r.rule, r.outcome, r._source_row) for r in batch.issues.collect()}
        assert issues == {
            (call_id(OTHER), "resolution_status", "invalid_enumeration", "repaired", 1),
            (call_id(OTHER, "Q"), "customer_id", "invalid_uuid", "rejected", 2),
            (call_id(suffix="D"), "call_id", "duplicate_key", "collapsed", 3),
            ("", "call_id", "missing", "rejected", 5),
            ("X" + call_id(OTHER), "call_id", "id_not_embedding_customer", "clean", 6),
        }
        record = batch.issues.where(F.col("_source_row") == 2).first().record
        assert '"customer_id":"not-a-uuid"' in record
    finally:
        batch.release()


def test_a_hostile_row_costs_that_row_only(spark):
    """Ids of the wrong shape are rejected, far years and NULs are repaired; the rest of the batch loads."""
    long_id = "x" * 100_000
    rows = [
        call(0, call_id()),
        call(1, "'); DROP TABLE customers;--"),
        call(2, long_id),
        call(3, call_id(OTHER)[:-1] + "\U0001F600", customer=OTHER),
        call(4, call_id(suffix="Q"), start="0001-01-01 00:00:00", end="9999-12-31 23:59:59"),
        call(5, call_id(suffix="X"), status="Resolved\x00"),
    ]
    batch = transform_batch(ENTITIES["call_logs"], bronze_calls(spark, rows), RAW_BY_COLUMN, "r", dt.date(2025, 6, 1))
    try:
        assert batch.accounting == Accounting(
            entity="call_logs", rows_in=6, clean=1, repaired=2, rejected={"call_id: invalid_id": 3},
            unknown_columns=(),
        )
        kept = {r.call_id: r for r in batch.rows.collect()}
        assert set(kept) == {call_id(), call_id(suffix="Q"), call_id(suffix="X")}
        assert (kept[call_id(suffix="Q")].call_start_time, kept[call_id(suffix="Q")].call_end_time) == (None, None)
        found = {(r._source_row, r.field, r.rule, r.outcome, len(r.original_value)) for r in batch.issues.collect()}
        assert found == {
            (1, "call_id", "invalid_id", "rejected", 27), (2, "call_id", "invalid_id", "rejected", 200),
            (3, "call_id", "invalid_id", "rejected", 54),
            (4, "call_start_time", "out_of_range", "repaired", 19), (4, "call_end_time", "out_of_range", "repaired", 19),
            (5, "resolution_status", "invalid_enumeration", "repaired", 9),
        }
        record = batch.issues.where("_source_row = 2").first().record
        assert len(record) < 600 and '"call_id":"' + "x" * 200 + '"' in record
    finally:
        batch.release()


def test_accounting_that_loses_a_row_fails_loudly():
    with pytest.raises(AccountingError, match="10 rows in but 8 kept"):
        Accounting(entity="x", rows_in=10, clean=8, repaired=0).check()


def test_customer_address_gives_state_and_zip(spark):
    bronze = spark.createDataFrame([Row(
        customer_id=CUSTOMER, name="brianna  schultz", Gender="f", DATE_of_biRTH="1930-09-10", signup_date="2017-08-22",
        email="2772brianna_schultz525@GmaiL.om", address="PSC 2383, Box 3666\nAPO AA 12094", _source="c.csv",
        _source_row=0, _source_checksum="s", _source_date=dt.date(2025, 6, 1), _run_id="b")])
    mapping = {"customer_id": "customer_id", "name": "name", "Gender": "Gender", "DATE_of_biRTH": "DATE of biRTH",
               "signup_date": "signup_date", "email": "email", "address": "address"}
    batch = transform_batch(ENTITIES["customers"], bronze, mapping, "r", dt.date(2025, 6, 1))
    try:
        row = batch.rows.first()
        assert (row.name, row.gender, row.email, row.state_code, row.state_name, row.zip_code) == (
            "Brianna Schultz", "F", "2772brianna_schultz525@gmail.com", "AA", "Armed Forces Americas", "12094")
        assert row.date_of_birth == dt.date(1930, 9, 10)
        assert batch.accounting.clean == 1
    finally:
        batch.release()
