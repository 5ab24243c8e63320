"""DuckDB's memory for one table read: a limit sized by the table's width, raised only when a
query needs more.

DuckDB keeps the CSV buffers it has read in its buffer pool until its memory limit presses, so
under one generous limit the tap's memory would grow with the size of the export. A table is
therefore typed under a limit sized by its width (what typing needs per column, room for a few
read buffers and a Parquet row group); a table that needs more (long values) is read again
under the full limit. The figures behind the sizes are in docs/design.md, Performance notes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

import duckdb

logger = logging.getLogger("tap-marina-s3")
T = TypeVar("T")

# One DuckDB thread per table: the run reads the next tables in other threads meanwhile, and
# a single thread keeps the rows in file order without buffering them. Freed memory goes back
# to the system at once rather than staying cached in the allocator.
DUCKDB_CONFIG = {
    "threads": 1,
    "memory_limit": "320MB",
    "preserve_insertion_order": True,
    "allocator_flush_threshold": "8MB",
    "allocator_bulk_deallocation_flush_threshold": "8MB",
}
TYPING_LIMIT_MB = (16, 1.3)  # base, per column
ROW_GROUP_MB = 64  # a Parquet COPY buffers a row group: without room for it, it spills
# DuckDB memory per byte of the longest row, for a file with a row over LONG_ROW: its read
# buffers, and the JSON of its values, for which DuckDB reserves several times their length
LONG_ROW_MEMORY = 12


def typing_limit_mb(columns: int) -> int:
    base, per_column = TYPING_LIMIT_MB
    return int(base + per_column * columns)


def full_limit_mb(line_bytes: int) -> int:
    """The full limit: DuckDB's default, more for a file with a row of `line_bytes`."""
    return int(DUCKDB_CONFIG["memory_limit"].removesuffix("MB")) + LONG_ROW_MEMORY * (line_bytes >> 20)


class SizedConnection:
    """A DuckDB connection for one table. It starts under the table's own limit (a file with a
    long row starts under the full one): every SET memory_limit makes DuckDB trim the whole
    process's malloc arenas, so the limit is set once at connect and raised at most once."""

    def __init__(self, stream: str, columns: int, line_bytes: int) -> None:
        self._stream = stream
        self._full = full_limit_mb(line_bytes)
        limit = self._full if line_bytes else typing_limit_mb(columns) + ROW_GROUP_MB
        self.raised = bool(line_bytes)
        self.con = duckdb.connect(config={**DUCKDB_CONFIG, "memory_limit": f"{limit}MB"})

    def raise_limit(self) -> None:
        """Go to the full limit for the rest of this read."""
        if not self.raised:
            self.con.execute(f"SET memory_limit = '{self._full}MB'")
            self.raised = True

    def run(self, query: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
        """Run `query` under the table's limit; if it needs more, again under the full limit."""
        try:
            return query(self.con)
        except duckdb.OutOfMemoryException:
            if self.raised:
                raise
            logger.info("%s: read again under DuckDB's full memory limit", self._stream)
            self.raise_limit()
            return query(self.con)

    def close(self) -> None:
        self.con.close()
