"""Row numbering of the readers: positions in input order, whatever the partitioning."""
from __future__ import annotations

from coretelecoms.sources.readers import with_row_numbers


def test_rows_are_numbered_in_input_order_across_partitions(spark):
    frame = spark.createDataFrame([(f"v{i}",) for i in range(10)], "value string").repartition(1).coalesce(1)
    spread = spark.createDataFrame([(f"v{i}",) for i in range(10)], "value string").coalesce(1).rdd.repartition(3).toDF()
    expected_spread = [(row["value"], i) for i, row in enumerate(spread.collect())]  # collect keeps partition order

    numbered, cached = with_row_numbers(spread, "n")
    assert cached is not None and spread.rdd.getNumPartitions() == 3
    assert [(row["value"], row["n"]) for row in numbered.orderBy("n").collect()] == expected_spread
    cached.unpersist()

    single, none = with_row_numbers(frame, "n")
    assert none is None  # one partition: the ids are the positions, nothing to count or cache
    assert [(row["value"], row["n"]) for row in single.orderBy("n").collect()] == [(f"v{i}", i) for i in range(10)]
