"""Delta-safe column names for raw headers, and the lineage columns every bronze table carries."""
from __future__ import annotations

import re

SOURCE = "_source"  # file URI, sheet or schema.table
SOURCE_ROW = "_source_row"  # 0-based data row within the input
SOURCE_CHECKSUM = "_source_checksum"
SOURCE_DATE = "_source_date"  # file/table date; for dimensions the run date that read it
RUN_ID = "_run_id"
RUN_DATE = "_run_date"
INGESTED_AT = "_ingested_at"
LINEAGE_COLUMNS = (SOURCE, SOURCE_ROW, SOURCE_CHECKSUM, SOURCE_DATE, RUN_ID, RUN_DATE, INGESTED_AT)

_UNSAFE = re.compile(r"[^0-9A-Za-z_]+")


def delta_safe_name(raw: str, position: int) -> str:
    """Keep the raw spelling where Delta allows it; anything else becomes `_`.

    Bronze keeps the source's casing (`customeR iD` -> `customeR_iD`); canonical snake_case names
    belong to the silver cleaning step. A header with nothing usable (the leaked, empty index
    header) becomes `unnamed_<position>`.
    """
    safe = _UNSAFE.sub("_", raw).strip("_")
    safe = re.sub(r"_+", "_", safe)
    if not safe:
        return f"unnamed_{position}"
    return safe if not safe[0].isdigit() else f"c_{safe}"


def delta_safe_names(raw_names: list[str]) -> list[str]:
    """Safe names for a header, unique case-insensitively (Delta column names are)."""
    names, seen = [], set()
    for position, raw in enumerate(raw_names):
        candidate = delta_safe_name(raw, position)
        unique, suffix = candidate, 2
        while unique.lower() in seen:
            unique, suffix = f"{candidate}_{suffix}", suffix + 1
        seen.add(unique.lower())
        names.append(unique)
    return names
