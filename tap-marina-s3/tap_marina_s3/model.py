"""What a table read produces and shares between its steps: rejects, counts, lineage."""

from __future__ import annotations

from dataclasses import dataclass, field

BLOCK = 1 << 20  # members are read, copied and walked a megabyte at a time
MAX_FIELD_BYTES = 64 << 20  # default of the setting max_field_bytes
# Fields beyond the header that a row with too many fields is read with: enough to report
# "N fields, expected M" exactly for the usual slip (a stray comma or two), and to keep them.
EXTRA_FIELDS = 16


@dataclass(frozen=True)
class Lineage:
    """Where the rows of a table read come from: one member of one export."""

    source_key: str
    member: str
    exported_at: str  # ISO timestamp


@dataclass
class ReadStats:
    rows_read: int = 0
    rows_counted: int = 0  # records counted while the member was copied (not by DuckDB)
    rows_emitted: int = 0
    rows_rejected: int = 0
    lines_decoded_fallback: int = 0
    bytes_read: int = 0
    missing_columns: list[str] = field(default_factory=list)
    extra_columns: list[str] = field(default_factory=list)


@dataclass
class Reject:
    row_number: int  # data row in the file, 1 = first row after the header
    raw_values: dict
    errors: list[dict]
    record_key: str | None
