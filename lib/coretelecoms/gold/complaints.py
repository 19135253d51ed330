"""The unified `complaints` table: every channel's current state in one shape (SPEC §3 Gold)."""
from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from coretelecoms.quality.entities import ENTITIES
from coretelecoms.sources.catalog import CALL_LOGS

COMPLAINT_COLUMNS = (
    "channel", "complaint_id", "customer_id", "agent_id", "complaint_category", "resolution_status",
    "request_date", "resolution_date", "media_channel", "generation_date", "first_seen_date", "last_changed_date",
)


def unify(channel: str, complaints: DataFrame) -> DataFrame:
    """A channel's current-state rows as COMPLAINT_COLUMNS; a call's request is its start, and it
    reports no resolution time (its lifecycle has one: see lifecycle.py)."""
    is_call = channel == CALL_LOGS
    media_channel = F.col("media_channel") if "media_channel" in complaints.columns else F.lit(None).cast("string")
    return complaints.select(
        F.lit(channel).alias("channel"),
        F.col(ENTITIES[channel].key).cast("string").alias("complaint_id"),
        "customer_id",
        "agent_id",
        "complaint_category",
        "resolution_status",
        F.col("call_start_time" if is_call else "request_date").alias("request_date"),
        (F.lit(None).cast("timestamp") if is_call else F.col("resolution_date")).alias("resolution_date"),
        media_channel.alias("media_channel"),
        F.col(ENTITIES[channel].generation_date).alias("generation_date"),
        "first_seen_date",
        "last_changed_date",
    )
