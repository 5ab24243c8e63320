"""Stream and property names -> staging table and column names (design.md §3).

Both dialects use the same names so that the dbt models are identical:
``molo_slips`` -> ``STG_MOLO_SLIPS``; ``slip_id`` -> ``SLIP_ID``; ``_sdc_row_hash`` -> ``SDC_ROW_HASH``.
Characters that are not letters, digits, ``_``, ``$`` or ``#`` become ``_``. Names longer
than Oracle's 128-byte limit are shortened with a hash suffix so they stay unique.
"""

from __future__ import annotations

import hashlib
import re

MAX_IDENTIFIER_BYTES = 128
SHADOW_SUFFIX = "__LOADING"
TABLE_PREFIX = "STG_"

_INVALID_CHARS = re.compile(r"[^A-Z0-9_$#]")


def _sanitize(name: str) -> str:
    upper = _INVALID_CHARS.sub("_", name.upper())
    return _shorten(upper, MAX_IDENTIFIER_BYTES)


def _shorten(name: str, limit: int) -> str:
    if len(name.encode()) <= limit:
        return name
    digest = hashlib.md5(name.encode()).hexdigest()[:8].upper()  # noqa: S324 - naming only
    return name[: limit - 9] + "_" + digest


def table_name(stream_name: str) -> str:
    """Staging table of a stream: ``STG_`` + upper(stream)."""
    return _shorten(TABLE_PREFIX + _sanitize(stream_name), MAX_IDENTIFIER_BYTES - len(SHADOW_SUFFIX))


def shadow_name(staging_table: str) -> str:
    """Shadow (loading) table of a staging table: ``STG_<X>__LOADING``."""
    return staging_table + SHADOW_SUFFIX


def column_name(property_name: str) -> str:
    """Column of a property: upper case, leading ``_sdc_`` -> ``SDC_``."""
    if property_name.lower().startswith("_sdc_"):
        property_name = "SDC_" + property_name[5:]
    return _sanitize(property_name)


TABLE_VERSION_COLUMN = "SDC_TABLE_VERSION"
LOADED_AT_COLUMN = "SDC_LOADED_AT"
