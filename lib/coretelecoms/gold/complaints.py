"""The unified `complaints` table: every channel's current state in one shape (SPEC §3 Gold)."""
from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from coretelecoms.platform.tables import ENTITIES, ROW_HASH, TABLES, UNIFIED_COMPLAINTS

COMPLAINT_COLUMNS = tuple(c.name for c in TABLES[UNIFIED_COMPLAINTS].columns if c.name != ROW_HASH)


def unify(channel: str, complaints: DataFrame) -> DataFrame:
    """A channel's current-state rows as COMPLAINT_COLUMNS, its fields in the roles the registry gives
    them; a call's request is its start, and it reports no resolution time (its lifecycle has one)."""
    entity = ENTITIES[channel]
    return complaints.select(
        F.lit(channel).alias("channel"),
        F.col(entity.key).cast("string").alias("complaint_id"),
        "customer_id",
        "agent_id",
        "complaint_category",
        "resolution_status",
        F.col(entity.request_time).alias("request_date"),
        _role(entity.resolution_time, "timestamp").alias("resolution_date"),
        _role(entity.platform, "string").alias("media_channel"),
        F.col(entity.generation_date).alias("generation_date"),
        "first_seen_date",
        "last_changed_date",
    )


def _role(column: str | None, kind: str):
    return F.col(column) if column else F.lit(None).cast(kind)
