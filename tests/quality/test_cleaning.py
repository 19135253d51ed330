"""The Cleaner: every rule on SPEC §2's real values and their edge cases, SQL == Column, properties."""
from __future__ import annotations

import datetime as dt
from contextlib import contextmanager

import pytest
from chispa import assert_column_equality, assert_df_equality
from hypothesis import given, settings
from hypothesis import strategies as st
from py4j.protocol import Py4JJavaError
from pyspark.sql import functions as F
from pyspark.sql.types import BooleanType, DateType, IntegerType, StringType, TimestampType

from coretelecoms.quality.cleaning import (
    CATEGORIES,
    CHANNELS,
    EXPERIENCES,
    GENDERS,
    SQL_FUNCTIONS,
    STATE_CODE_BY_NAME,
    STATE_CODES,
    STATUSES,
    WHITESPACE,
    _match_key,
    _strip,
    address_state_code,
    address_zip,
    canonical_column_name,
    canonical_columns,
    clean_agent_id,
    clean_category,
    clean_channel,
    clean_customer_id,
    clean_email,
    clean_experience,
    clean_gender,
    clean_complaint_id,
    clean_id,
    clean_person_name,
    clean_text,
    out_of_range_datetime,
    clean_status,
    id_embeds_customer,
    is_uuid,
    parse_date,
    parse_timestamp,
    register_sql_functions,
    state_code,
    state_name,
)

CUSTOMER = "65d79202-96c3-49ea-b543-5e5b1aeb39ce"
CALL_ID = "Mar0979K65d7920296c349eab5435e5b1aeb39ce1476b1aeb39ceKak"  # real call id of that customer


@pytest.fixture(scope="module")
def sql_spark(spark):
    register_sql_functions(spark)
    return spark


@contextmanager
def spark_conf(spark, settings: dict[str, str]):
    previous = {key: spark.conf.get(key, None) for key in settings}
    for key, value in settings.items():
        spark.conf.set(key, value)
    try:
        yield spark
    finally:
        for key, value in previous.items():
            spark.conf.unset(key) if value is None else spark.conf.set(key, value)


ANSI_AND_STRICT_PARSER = {"spark.sql.ansi.enabled": "true", "spark.sql.legacy.timeParserPolicy": "EXCEPTION"}


def assert_cleans(spark, cleaner, cases, expected_type: str = "string"):
    """`cleaner(raw)` equals `expected` on every row; chispa prints the rows that differ."""
    df = spark.createDataFrame(cases, f"raw string, expected {expected_type}")
    assert_column_equality(df.withColumn("actual", cleaner("raw")), "actual", "expected")


# --- column names -------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("raw", "entity", "canonical"),
    [
        # SPEC §2 headers, as they arrive
        ("customer_id", "customers", "customer_id"),
        ("Gender", "customers", "gender"),
        ("DATE of biRTH", "customers", "date_of_birth"),
        ("signup_date", "customers", "signup_date"),
        ("iD", "agents", "agent_id"),
        ("NamE", "agents", "name"),
        ("experience", "agents", "experience"),
        ("", "call_logs", "source_index"),
        ("call ID", "call_logs", "call_id"),
        ("customeR iD", "call_logs", "customer_id"),
        ("COMPLAINT_catego ry", "call_logs", "complaint_category"),
        ("agent ID", "call_logs", "agent_id"),
        ("resolutionstatus", "call_logs", "resolution_status"),
        ("callLogsGenerationDate", "call_logs", "call_logs_generation_date"),
        ("MediaComplaintGenerationDate", "sm_complaints", "media_complaint_generation_date"),
        ("media_channel", "sm_complaints", "media_channel"),
        ("Column1", "web_complaints", "source_index"),
        ("webFormGenerationDate", "web_complaints", "web_form_generation_date"),
        # their bronze Delta-safe forms, and the leaked index as pandas and others spell it
        ("customeR_iD", None, "customer_id"),
        ("COMPLAINT_catego_ry", None, "complaint_category"),
        ("DATE_of_biRTH", None, "date_of_birth"),
        ("call_ID", None, "call_id"),
        ("agent_ID", None, "agent_id"),
        ("unnamed_0", None, "source_index"),
        ("Unnamed: 0", None, "source_index"),
        ("UNNAMED__0", None, "source_index"),
        # `iD` only means the agent id in agents
        ("iD", None, "id"),
        ("iD", "customers", "id"),
        # bronze lineage columns pass through
        ("_run_id", None, "_run_id"),
        ("_source_row", "agents", "_source_row"),
        # general rule for headers never seen
        ("newFieldX", None, "new_field_x"),
        ("HTTPStatusCode", None, "http_status_code"),
        ("  Order #  (EUR) ", None, "order_eur"),
        ("1st call", None, "c_1st_call"),
        ("Prénom", None, "pr_nom"),
        ("already_snake", None, "already_snake"),
    ],
)
def test_canonical_column_name(raw, entity, canonical):
    assert canonical_column_name(raw, entity) == canonical
    assert canonical_column_name(canonical, entity) == canonical


def test_canonical_columns_reports_unknown_names_and_keeps_names_unique():
    header = ["", "call ID", "customeR iD", "newThing", "new_thing", "_run_id"]

    columns = canonical_columns(header, "call_logs")

    assert columns == {
        "": "source_index", "call ID": "call_id", "customeR iD": "customer_id",
        "newThing": "new_thing", "new_thing": "new_thing_2", "_run_id": "_run_id",
    }
    assert columns.unknown == ("newThing", "new_thing")


def test_canonical_columns_rejects_an_unknown_entity():
    with pytest.raises(ValueError, match="unknown entity 'agent'"):
        canonical_columns(["iD"], "agent")


def test_canonical_column_name_as_a_column_agrees_with_python(spark):
    headers = ["", "iD", "NamE", "customeR iD", "callLogsGenerationDate", "Unnamed: 0", "1st", "HTTPStatus",
               "_run_id", "Prénom", None]
    df = spark.createDataFrame([(h,) for h in headers], "raw string")

    rows = df.select(canonical_column_name(F.col("raw"), "agents").alias("name")).collect()

    assert [row.name for row in rows] == [None if h is None else canonical_column_name(h, "agents") for h in headers]


# --- emails -------------------------------------------------------------------------------------

def test_clean_email(spark):
    assert_cleans(spark, clean_email, [
        ("2772brianna_schultz525@GmaiL.om", "2772brianna_schultz525@gmail.com"),  # SPEC §2
        ("f963brian.wagner016@hotmai.com", "f963brian.wagner016@hotmail.com"),  # SPEC §2
        ("828juan_saunders75b@yahoo.com", "828juan_saunders75b@yahoo.com"),
        ("  John.Omar@GMAIL.COM \n", "john.omar@gmail.com"),
        ("john.omar@gmail.com", "john.omar@gmail.com"),  # `.om` inside the local part is not a domain
        ("x@gmial.com", "x@gmail.com"),
        ("x@gmai.com", "x@gmail.com"),
        ("x@gmal.com", "x@gmail.com"),
        ("x@gmaill.com", "x@gmail.com"),
        ("x@gmail.co", "x@gmail.com"),
        ("x@hotmial.com", "x@hotmail.com"),
        ("x@hotmal.com", "x@hotmail.com"),
        ("x@yaho.com", "x@yahoo.com"),
        ("x@yahooo.com", "x@yahoo.com"),
        ("x@yhoo.om", "x@yahoo.com"),
        ("x@foo.om", "x@foo.com"),
        ("x@foo.co", "x@foo.co"),  # a real TLD behind an unknown provider
        ("x@om.org", "x@om.org"),
        ("gmai@example.com", "gmai@example.com"),  # the local part is never repaired
        ("x@mail.gmial.com", "x@mail.gmial.com"),  # only the provider's own domain is repaired
        ("x@hotmail.co.uk", "x@hotmail.co.uk"),
        ("first.last+tag@sub.example.org", "first.last+tag@sub.example.org"),
        ("no-at-sign.com", None),
        ("a@b@gmail.com", None),
        ("x@gmail", None),
        ("x@gmail.c", None),
        (".x@gmail.com", None),
        ("x..y@gmail.com", None),
        ("x y@gmail.com", None),
        ("x@-gmail.com", None),
        ("x@gmail.com\nx@gmail.com", None),
        ("ü@gmail.com", None),
        ("", None),
        ("   ", None),
        (None, None),
    ])


# --- names --------------------------------------------------------------------------------------

def test_clean_person_name(spark):
    assert_cleans(spark, clean_person_name, [
        ("o'brien-smith", "O'Brien-Smith"),
        ("MARY  ann", "Mary Ann"),
        ("  jean-luc\tPICARD\n", "Jean-Luc Picard"),
        ("d\u2019angelo", "D\u2019Angelo"),
        ("McDonald", "Mcdonald"),  # Mc/Mac rules are out of scope
        ("o' brien", "O' Brien"),
        ("anne-", "Anne-"),
        ("", None),
        (" \t\n ", None),
        ("jo\x00hn", None),  # PostgreSQL cannot store a NUL
        ("ann\x1b[31m", None),
        (None, None),
    ])


def test_clean_text_keeps_line_breaks_and_refuses_control_characters(spark):
    assert_cleans(spark, clean_text, [
        ("  12 Main St\nAlbany, NY 12207 ", "12 Main St\nAlbany, NY 12207"),
        ("12 Main St\r\n\tAlbany", "12 Main St\r\n\tAlbany"),
        ("12 Main\x00 St", None),
        ("\x7f", None),
        ("   ", None),
        (None, None),
    ])


def test_whitespace_is_what_javas_unicode_regex_calls_whitespace(spark):
    """The cleaners trim and delete WHITESPACE natively where they used `(?U)\\s` regexes: the set
    must be exactly the characters Java's regex engine matches, over every BMP code point."""
    code_points = [c for c in range(0x10000) if not 0xD800 <= c <= 0xDFFF]
    frame = spark.createDataFrame([(chr(c),) for c in code_points], "c string")
    matched = {row.c for row in frame.where(F.col("c").rlike(r"(?U)\A\s\z")).collect()}
    assert matched == set(WHITESPACE)
    padded = frame.select(F.concat("c", F.lit("a"), "c", F.lit("b"), "c").alias("raw"))
    differing = padded.where(
        ~_strip("raw").eqNullSafe(F.regexp_replace("raw", r"(?U)\A\s+|\s+\z", ""))
        | ~_match_key("raw").eqNullSafe(
            F.lower(F.regexp_replace("raw", r"(?U)[\s._-]+", "")))
    )
    assert differing.count() == 0


# --- enumerations -------------------------------------------------------------------------------

ENUMERATION_CASES = {
    clean_status: [("Resolved", "Resolved"), ("in progress", "In-Progress"), ("IN-PROGRESS", "In-Progress"),
                   ("inprogress", "In-Progress"), (" in_Progress ", "In-Progress"), ("BACKLOG", "Backlog"),
                   ("blocked\n", "Blocked"), ("Closed", None), ("In-Progress!", None), ("", None), (None, None)],
    clean_category: [("technician  support", "Technician Support"), ("PAYMENTS", "Payments"),
                     ("router-delivery", "Router Delivery"), ("NetworkFailure", "Network Failure"),
                     ("Billing", None), (None, None)],
    clean_channel: [("facebook", "Facebook"), ("TWITTER", "Twitter"), ("insta gram", "Instagram"),
                    ("linkedin", "LinkedIn"), ("Linked In", "LinkedIn"), ("TikTok", None), (None, None)],
    clean_experience: [("INTERN", "intern"), ("intern", "intern"), ("junior", "Junior"), ("mid level", "Mid-level"),
                       ("MID-LEVEL", "Mid-level"), ("Senior ", "Senior"), ("Lead", None), (None, None)],
    clean_gender: [("F", "F"), ("f", "F"), ("female", "F"), (" FEMALE ", "F"), ("m", "M"), ("Male", "M"),
                   ("X", None), ("", None), (None, None)],
}


@pytest.mark.parametrize("cleaner", ENUMERATION_CASES, ids=lambda cleaner: cleaner.__name__)
def test_enumerations_ignore_case_and_spacing(spark, cleaner):
    assert_cleans(spark, cleaner, ENUMERATION_CASES[cleaner])


def test_enumerations_map_every_canonical_value_to_itself(spark):
    values = [*STATUSES, *CATEGORIES, *CHANNELS, *EXPERIENCES, *GENDERS]
    df = spark.createDataFrame([(v,) for v in values], "raw string")
    cleaned = df.select(F.coalesce(*(cleaner("raw") for cleaner in ENUMERATION_CASES)).alias("value"))
    assert [row.value for row in cleaned.collect()] == values
    assert EXPERIENCES == ("intern", "Junior", "Mid-level", "Senior")


# --- dates and timestamps -----------------------------------------------------------------------

TIMESTAMP_CASES = [
    ("2025-03-07 18:40:43", "2025-03-07 18:40:43"),
    ("2025-03-07T18:40:43", "2025-03-07 18:40:43"),
    ("2025-03-07T18:40:43.5", "2025-03-07 18:40:43.5"),
    ("2025-03-07T18:40:43.123456", "2025-03-07 18:40:43.123456"),
    ("2025-03-07", "2025-03-07 00:00:00"),
    ("  2025-03-07 18:40:43\n", "2025-03-07 18:40:43"),
    ("2024-02-29", "2024-02-29 00:00:00"),
    ("2025-02-29", None),
    ("2025-13-45 99:00:00", None),
    ("2025-03-07 24:00:00", None),
    ("2025-3-7", None),
    ("07/03/2025", None),
    ("2025-03-07 18:40", None),
    ("2025-03-07 18:40:43 UTC", None),
    ("0000-01-01", None),
    ("0001-01-01 00:00:00", None),  # Delta cannot write it (WRITE_ANCIENT_DATETIME)
    ("1899-12-31 23:59:59", None),
    ("1900-01-01", "1900-01-01 00:00:00"),
    ("2100-12-31 23:59:59", "2100-12-31 23:59:59"),
    ("2101-01-01", None),
    ("9999-12-31", None),
    ("not-a-date", None),
    ("", None),
    ("   ", None),
    (None, None),
]


def test_parse_timestamp(spark):
    df = spark.createDataFrame(TIMESTAMP_CASES, "raw string, expected string")
    parsed = df.withColumn("parsed", parse_timestamp("raw"))

    assert parsed.schema["parsed"].dataType == TimestampType()
    # Compared as text: a collected timestamp would be shifted into the Python process's zone.
    assert_column_equality(parsed.withColumn("actual", F.col("parsed").cast("string")), "actual", "expected")


def test_parse_date(spark):
    assert_cleans(spark, parse_date, [
        ("2025-03-07", dt.date(2025, 3, 7)),
        ("1990-12-31", dt.date(1990, 12, 31)),
        ("2025-03-07 23:59:59", dt.date(2025, 3, 7)),  # a timestamp string gives its date
        ("2025-03-07T00:00:00.000001", dt.date(2025, 3, 7)),
        ("2025-02-30", None),
        ("not-a-date", None),
        ("", None),
        (None, None),
    ], expected_type="date")
    assert spark.range(1).select(parse_date(F.lit("2025-03-07"))).schema[0].dataType == DateType()


def test_dates_never_raise_under_ansi_and_the_strict_time_parser(spark):
    with spark_conf(spark, ANSI_AND_STRICT_PARSER):
        df = spark.createDataFrame(TIMESTAMP_CASES, "raw string, expected string")
        actual = df.select(parse_timestamp("raw").cast("string").alias("ts"), parse_date("raw").cast("string").alias("d"))
        rows = actual.collect()
    assert [row.ts for row in rows] == [expected for _, expected in TIMESTAMP_CASES]
    assert [row.d for row in rows] == [expected and expected[:10] for _, expected in TIMESTAMP_CASES]


# --- addresses and states -----------------------------------------------------------------------

ADDRESS_CASES = [
    ("317 Paul Turnpike\nDarrenland, NY 13297", "NY", "13297"),  # SPEC §2
    ("PSC 2383, Box 3666\nAPO AA 12094", "AA", "12094"),  # SPEC §2
    ("Unit 1234 Box 5678\nDPO AE 12345-6789", "AE", "12345"),
    ("USNS Smith\nFPO AP 12345", "AP", "12345"),
    ("63925 Matthew Crescent Suite 075\nNew Tylerbury, UT 46642", "UT", "46642"),
    ("26059 Carol Highway\nSmithhaven, MP 56739", "MP", "56739"),
    ("1 Main St\r\nWashington,   dc   20001  \n", "DC", "20001"),
    ("1 Main St, Springfield, ZZ 12345", None, "12345"),  # not a state: no code, the ZIP is still a ZIP
    ("1 Main St, Springfield NY", None, None),
    ("1 Main St, Springfield, NY 1234", None, None),
    ("1 Main St, Springfield, XNY 12345", None, None),
    ("", None, None),
    (None, None, None),
]


def test_address_state_code_and_zip(spark):
    df = spark.createDataFrame(ADDRESS_CASES, "raw string, code string, zip string")
    actual = df.withColumn("actual_code", address_state_code("raw")).withColumn("actual_zip", address_zip("raw"))
    assert_column_equality(actual, "actual_code", "code")
    assert_column_equality(actual, "actual_zip", "zip")


def test_state_name(spark):
    assert_cleans(spark, state_name, [
        ("NY", "New York"), ("ny ", "New York"), ("DC", "District of Columbia"), ("PR", "Puerto Rico"),
        ("AA", "Armed Forces Americas"), ("AE", "Armed Forces Europe"), ("AP", "Armed Forces Pacific"),
        ("ZZ", None), ("New York", None), ("", None), (None, None),
    ])


def test_state_code_reads_full_names_and_codes(spark):
    assert_cleans(spark, state_code, [
        ("New York", "NY"), ("new  york", "NY"), ("NEW-YORK", "NY"), ("ny", "NY"), ("District of Columbia", "DC"),
        ("u.s. virgin islands", "VI"), ("Armed Forces Europe", "AE"), ("Atlantis", None), (None, None),
    ])


def test_every_state_code_round_trips_through_its_name(spark):
    df = spark.createDataFrame([(code,) for code in STATE_CODES], "raw string")
    rows = df.select(state_code(state_name("raw")).alias("code")).collect()
    assert [row.code for row in rows] == list(STATE_CODES)
    assert len(STATE_CODES) == 62 and STATE_CODE_BY_NAME["New York"] == "NY"


# --- ids ----------------------------------------------------------------------------------------

def test_clean_id(spark):
    assert_cleans(spark, clean_id, [(f"  {CALL_ID}\n", CALL_ID), ("1035", "1035"), ("", None), ("  ", None),
                                    (None, None)])


def test_clean_complaint_id_takes_only_the_sources_shape(spark):
    assert_cleans(spark, clean_complaint_id, [
        (f"  {CALL_ID}\n", CALL_ID),
        (CALL_ID[:50], CALL_ID[:50]),
        (CALL_ID[:49], None),
        (CALL_ID + "X", None),  # 57 characters
        ("'); DROP TABLE customers;--", None),
        ("x" * 5000, None),
        (CALL_ID[:54] + "\U0001F600", None),
        (CALL_ID[:54] + "\x00", None),
        (CALL_ID[:54] + "\ufffd", None),  # an invalid UTF-8 byte, as the CSV reader decodes it
        ("", None),
        (None, None),
    ])


def test_out_of_range_datetime_tells_a_far_year_from_garbage(spark):
    assert_cleans(spark, out_of_range_datetime, [
        ("0001-01-01 00:00:00", True),
        ("2101-01-01", True),
        ("2025-03-07", False),
        ("not-a-date", None),
        ("2025-02-30", None),
        (None, None),
    ], expected_type="boolean")


def test_is_uuid(spark):
    assert_cleans(spark, is_uuid, [
        (CUSTOMER, True), (CUSTOMER.upper(), True), (f" {CUSTOMER}", False), (f"{CUSTOMER}\n", False),
        (CUSTOMER.replace("-", ""), False), (CUSTOMER[:-1] + "g", False), ("", False), (None, None),
    ], expected_type="boolean")


def test_clean_customer_id(spark):
    assert_cleans(spark, clean_customer_id, [
        (CUSTOMER, CUSTOMER), (f"  {CUSTOMER.upper()}\t", CUSTOMER), (CUSTOMER.replace("-", ""), None),
        ("not-a-uuid", None), ("", None), (None, None),
    ])


def test_clean_agent_id(spark):
    # `1035.0` is how a spreadsheet or pandas renders a whole number: accepted; any other decimal is not.
    assert_cleans(spark, clean_agent_id, [
        ("1035", 1035), (" 1035 ", 1035), ("1035.0", 1035), ("01035", 1035), ("0", 0), ("999999999", 999999999),
        ("1035.5", None), ("10x", None), ("-1035", None), ("+1035", None), ("1e3", None), ("10 35", None),
        ("99999999999", None), ("١٠٣٥", None), ("", None), (None, None),
    ], expected_type="int")
    assert spark.range(1).select(clean_agent_id(F.lit("1"))).schema[0].dataType == IntegerType()


def test_id_embeds_customer(spark):
    df = spark.createDataFrame([
        (CALL_ID, CUSTOMER, True),
        (CALL_ID.upper(), f" {CUSTOMER.upper()} ", True),
        ("Cor" + CALL_ID[3:], "af3aacc5-1007-4bd3-9f0e-e5f0ca1bc9f4", False),
        (CALL_ID, "", None),
        (None, CUSTOMER, None),
        (CALL_ID, None, None),
    ], "id string, customer string, expected boolean")
    assert_column_equality(df.withColumn("actual", id_embeds_customer("id", "customer")), "actual", "expected")


# --- composition --------------------------------------------------------------------------------

def test_cleaners_compose_in_transform_pipelines(spark):
    raw = spark.createDataFrame(
        [(" 1035 ", "INTERN", "new york")], "`iD` string, experience string, state string")

    def with_clean_agents(df):
        return df.select(
            clean_agent_id("iD").alias(canonical_column_name("iD", "agents")),
            clean_experience("experience").alias("experience"),
            state_name(state_code("state")).alias("state"),
        )

    expected = spark.createDataFrame([(1035, "intern", "New York")], "agent_id int, experience string, state string")
    assert_df_equality(raw.transform(with_clean_agents), expected, ignore_nullable=True)


# --- the SQL surface ----------------------------------------------------------------------------

SQL_INPUTS = [
    CUSTOMER, CALL_ID, "2772brianna_schultz525@GmaiL.om", "o'brien-smith", "IN-PROGRESS", "technician  support",
    "linkedin", "INTERN", "female", "2025-03-07T18:40:43.5", "2025-13-45 99:00:00",
    "317 Paul Turnpike\nDarrenland, NY 13297", "NY", "New York", " 1035 ", "customeR iD", "", None,
]


def test_register_sql_functions_registers_every_public_name(sql_spark):
    names = register_sql_functions(sql_spark)  # registering again replaces, it does not fail

    assert set(names) == {f.__name__ for f in SQL_FUNCTIONS}
    assert all(sql_spark.catalog.functionExists(name) for name in names)
    usage = sql_spark.sql("DESCRIBE FUNCTION clean_email").collect()
    assert any("clean_email(column)" in row.function_desc for row in usage)


def test_every_sql_function_equals_its_column_function(sql_spark):
    sql_spark.createDataFrame([(v, CALL_ID) for v in SQL_INPUTS], "raw string, id string").createOrReplaceTempView(
        "cleaning_inputs")
    single = [f for f in SQL_FUNCTIONS if f not in (canonical_column_name, id_embeds_customer)]

    via_sql = sql_spark.sql(
        "SELECT " + ", ".join(f"{f.__name__}(raw) AS {f.__name__}" for f in single)
        + ", canonical_column_name(raw) AS canonical_column_name"
        + ", canonical_column_name(raw, 'agents') AS canonical_agents_column_name"
        + ", id_embeds_customer(id, raw) AS id_embeds_customer FROM cleaning_inputs")
    via_columns = sql_spark.table("cleaning_inputs").select(
        *(f("raw").alias(f.__name__) for f in single),
        canonical_column_name(F.col("raw")).alias("canonical_column_name"),
        canonical_column_name(F.col("raw"), "agents").alias("canonical_agents_column_name"),
        id_embeds_customer("id", "raw").alias("id_embeds_customer"),
    )

    assert_df_equality(via_sql, via_columns)
    assert dict(via_sql.dtypes)["parse_timestamp"] == "timestamp"
    assert dict(via_sql.dtypes)["clean_agent_id"] == "int"


def test_sql_calls_are_named_like_builtin_calls_and_nest(sql_spark):
    df = sql_spark.sql("SELECT clean_status(clean_id(' in progress ')), clean_email(upper('x@gmial.com')), "
                       "is_uuid(NULL)")

    assert df.columns == ["clean_status(clean_id( in progress ))", "clean_email(upper(x@gmial.com))",
                          "is_uuid(NULL)"]
    assert df.schema[2].dataType == BooleanType() and df.schema[0].dataType == StringType()
    assert tuple(df.first()) == ("In-Progress", "x@gmail.com", None)


def test_sql_functions_work_in_where_group_by_and_lambdas(sql_spark):
    rows = sql_spark.sql("""
        SELECT clean_status(s) AS status, count(*) AS n, collect_list(transform(array(e), v -> clean_email(v))[0]) AS e
        FROM VALUES ('in progress', 'a@gmial.com'), ('IN-PROGRESS', 'b@x.om'), ('nope', 'c@d.com') AS t(s, e)
        WHERE clean_status(s) IS NOT NULL
        GROUP BY clean_status(s)
    """).collect()
    assert [tuple(row) for row in rows] == [("In-Progress", 2, ["a@gmail.com", "b@x.com"])]


def test_sql_call_with_the_wrong_arguments_names_the_function(sql_spark):
    with pytest.raises(Py4JJavaError, match=r"clean_email\(column\): too many positional arguments"):
        sql_spark.sql("SELECT clean_email('a', 'b')").collect()


# --- properties: never raise, idempotent, Python == Spark for column names -------------------

SPEC_VALUES = [v for v in SQL_INPUTS if v] + ["f963brian.wagner016@hotmai.com", "john.omar@gmail.com", "MARY  ann",
                                             "PSC 2383, Box 3666\nAPO AA 12094", "1035.0", "Column1", "DATE of biRTH"]
DENSE = "aAbcdegilmnoprstuyBCDEGIMNOPRSTY0123456789@.-_'’ \t\n:T,é"
strings = st.one_of(
    st.none(),
    st.text(),  # any Unicode (newlines, combining marks, astral planes)
    st.text(alphabet=DENSE, max_size=60),  # dense in the characters the rules look at
    st.tuples(st.text(DENSE, max_size=4), st.sampled_from(SPEC_VALUES), st.text(DENSE, max_size=4)).map("".join),
    st.tuples(st.text(min_size=1, max_size=4), st.integers(1_000, 5_000)).map(lambda t: t[0] * t[1]),  # very long
)
STRING_CLEANERS = (clean_email, clean_person_name, clean_status, clean_category, clean_channel, clean_experience,
                   clean_gender, state_code, clean_id, clean_customer_id)
OTHER_CLEANERS = (parse_date, parse_timestamp, address_state_code, address_zip, state_name, is_uuid, clean_agent_id)


@pytest.fixture(scope="module")
def property_checks():
    """Every cleaner once, every string cleaner twice; built once, as each Column costs JVM round trips."""
    return [
        *(c("raw").alias(c.__name__) for c in STRING_CLEANERS),
        *(c(c("raw")).alias(f"{c.__name__}_twice") for c in STRING_CLEANERS),
        *(c("raw").cast("string").alias(c.__name__) for c in OTHER_CLEANERS),
        id_embeds_customer("raw", "raw").cast("string").alias("id_embeds_customer"),
        canonical_column_name(F.col("raw"), "agents").alias("canonical_column_name"),
    ]


def values_frame(spark, values):
    """One batch as an inline table: no Spark job, the optimizer evaluates the cleaners on the driver."""
    rows = ", ".join(f"(:v{i})" for i in range(len(values)))
    return spark.sql(f"SELECT CAST(raw AS STRING) AS raw FROM VALUES {rows} AS t(raw)",
                     args={f"v{i}": value for i, value in enumerate(values)})


@settings(max_examples=25, deadline=None)
@given(values=st.lists(strings, min_size=1, max_size=25))
def test_no_cleaner_raises_and_string_cleaners_are_idempotent(spark, property_checks, values):
    with spark_conf(spark, ANSI_AND_STRICT_PARSER):  # the strictest settings a job could run with
        rows = values_frame(spark, values).select("raw", *property_checks).collect()

    assert [row.raw for row in rows] == values
    for row in rows:
        for cleaner in STRING_CLEANERS:
            assert row[f"{cleaner.__name__}_twice"] == row[cleaner.__name__], (cleaner.__name__, row.raw)
        expected_name = None if row.raw is None else canonical_column_name(row.raw, "agents")
        assert row.canonical_column_name == expected_name, row.raw


@settings(max_examples=300, deadline=None)
@given(name=st.one_of(st.text(), st.text(alphabet=DENSE + "ABCDEFGHIJKLMNOPQRSTUVWXYZ#()/"), st.sampled_from(SPEC_VALUES)),
       entity=st.sampled_from([None, "agents", "call_logs"]))
def test_canonical_column_name_is_idempotent_and_never_empty(name, entity):
    canonical = canonical_column_name(name, entity)
    assert canonical and canonical_column_name(canonical, entity) == canonical
