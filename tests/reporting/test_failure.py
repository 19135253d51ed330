"""A failure told in one line: the root cause under Spark's and Python's wrappers, masked and bounded."""
import pytest

from coretelecoms.platform.postgres import mask_dsns_in_text
from coretelecoms.reporting.failure import LINE_LIMIT, root_cause, trace_text


def test_the_root_cause_of_a_failed_delta_write_names_the_path(spark):
    with pytest.raises(Exception) as raised:  # /proc takes no new folders, even for root
        spark.range(3).write.format("delta").save("/proc/coretelecoms/lake/bronze/customers")
    assert len(str(raised.value)) > 2_000  # the JVM's whole trace
    line = root_cause(raised.value)
    assert "\n" not in line and len(line) < 300
    assert "/proc/coretelecoms/lake/bronze/customers" in line


def test_the_root_cause_is_the_innermost_of_an_explicit_chain():
    try:
        try:
            raise OSError("Mkdirs failed to create /lake/bronze/customers\n  at a.b.C")
        except OSError as inner:
            raise RuntimeError("stage bronze failed") from inner
    except RuntimeError as outer:
        assert root_cause(outer) == "OSError: Mkdirs failed to create /lake/bronze/customers"


def test_the_line_and_the_trace_are_masked_and_the_line_is_bounded():
    error = ValueError("cannot reach postgresql://etl:p@ssw0rd@db:5432/x for jane.doe@example.com " + "v" * 5_000)
    line = root_cause(error)
    assert len(line) == LINE_LIMIT + 3 and line.endswith("...")
    assert "ssw0rd" not in line and "jane.doe" not in line and "postgresql://etl:***@db:5432/x" in line
    trace = trace_text(error)
    assert trace.startswith("ValueError: ") and "ssw0rd" not in trace and "jane.doe" not in trace


@pytest.mark.parametrize(("text", "masked"), [
    ("connect postgresql://etl:p@ss:w0rd@db:5432/x failed", "connect postgresql://etl:***@db:5432/x failed"),
    ("host=db user=etl password=s3cret dbname=x", "host=db user=etl password=*** dbname=x"),
    ("host=db password='s3 cret' dbname=x", "host=db password=*** dbname=x"),
    ("no secret here: s3a://bucket/lake", "no secret here: s3a://bucket/lake"),
])
def test_dsns_in_free_text_are_masked(text, masked):
    assert mask_dsns_in_text(text) == masked
