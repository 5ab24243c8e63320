"""What a dialect does: the only database operations of the loader.

A dialect owns one database connection. It reads a table's columns, creates/drops a table,
adds columns, inserts a batch of rows (columnar) or the rows of Parquet batch files, and
activates an export: replaces staging tables by their shadow tables' rows, all of them in one
transaction. The sinks call it; it calls nothing back.
"""

from __future__ import annotations

import abc
import logging
import typing as t
from dataclasses import dataclass, field

if t.TYPE_CHECKING:
    from pathlib import Path

    from target_oracle.types import ColumnSpec


@dataclass(frozen=True)
class DbColumn:
    """A column as it exists in the database."""

    name: str
    sql_type: str  # e.g. NVARCHAR2, NCLOB, NUMBER, VARCHAR, DECIMAL(10,2)
    char_length: int | None = None  # for length-limited strings (Oracle NVARCHAR2)


@dataclass(frozen=True)
class Swap:
    """One staging table's part of an activation: its rows become the ``version`` rows of
    ``shadow``, or none when ``shadow`` is None (a version activated without rows)."""

    staging: str
    shadow: str | None
    version: int


@dataclass
class RowError:
    """One row of a batch that could not be written."""

    row_index: int  # index in the batch
    column: str | None
    error: str
    value: object = None


@dataclass
class RowErrors(Exception):  # noqa: N818 - carries the list of failed rows
    """Rows of a batch were rejected by the conversion or by the database."""

    table: str
    errors: list[RowError] = field(default_factory=list)

    def __str__(self) -> str:
        return f"{len(self.errors)} row(s) rejected writing {self.table}"


class Dialect(abc.ABC):
    """Database operations of one target database."""

    name: str

    def __init__(self, config: t.Mapping[str, t.Any], logger: logging.Logger) -> None:
        self.config = config
        self.logger = logger
        self._columns: dict[str, dict[str, DbColumn] | None] = {}

    # -- metadata (cached per table; every DDL method refreshes its table) ------------------
    def table_columns(self, table: str) -> dict[str, DbColumn] | None:
        """Columns of ``table`` by name, or None when the table does not exist."""
        if table not in self._columns:
            self._columns[table] = self._read_columns(table)
        return self._columns[table]

    def _forget(self, table: str) -> None:
        self._columns.pop(table, None)

    @abc.abstractmethod
    def _read_columns(self, table: str) -> dict[str, DbColumn] | None: ...

    # -- DDL -------------------------------------------------------------------------------
    @abc.abstractmethod
    def create_table(self, table: str, specs: t.Sequence[ColumnSpec]) -> None: ...

    @abc.abstractmethod
    def drop_table(self, table: str) -> None:
        """Drop ``table`` if it exists."""

    @abc.abstractmethod
    def add_columns(self, table: str, specs: t.Sequence[ColumnSpec]) -> None: ...

    def ensure_table(self, table: str, specs: t.Sequence[ColumnSpec]) -> None:
        """Create ``table``, or add the spec columns it lacks (a column's type never changes)."""
        existing = self.table_columns(table)
        if existing is None:
            self.create_table(table, specs)
            return
        missing = [spec for spec in specs if spec.name not in existing]
        if missing:
            self.logger.info("Adding columns %s to %s", [s.name for s in missing], table)
            self.add_columns(table, missing)

    # -- data ------------------------------------------------------------------------------
    @abc.abstractmethod
    def insert_batch(self, table: str, specs: t.Sequence[ColumnSpec], columns: t.Sequence[t.Sequence]) -> None:
        """Bulk insert one batch given as columns of raw values (as decoded from JSON), and
        commit. The dialect converts the values (``types.convert_column`` or faster paths).

        Raises:
            ValueConversionError: a value does not fit its column's type.
            RowErrors: rows were rejected (nothing of this batch is committed).
        """

    @abc.abstractmethod
    def insert_parquet(
        self,
        table: str,
        specs: t.Sequence[ColumnSpec],
        paths: t.Sequence[Path],
        version: int | None,
        loaded_at: object,
    ) -> int:
        """Insert and commit the rows of Parquet batch files, with ``version`` and
        ``loaded_at`` in the loader's columns; returns the number of rows. Each value is
        cast to its column's type: a value that does not fit fails the load, it is never cut
        or rounded. A property missing from the files is NULL.

        Raises:
            RowErrors: rows were rejected (row numbers count from the first file's first row).
        """

    @abc.abstractmethod
    def activate(self, swaps: t.Sequence[Swap]) -> list[int]:
        """Apply ``swaps`` in one transaction, so readers see every staging table of the
        export change at once or none, then drop the shadow tables. Returns the number of
        rows each staging table now holds. Only columns may be added before the transaction
        (DDL; a staging table with an extra NULL column still holds its old snapshot)."""

    @abc.abstractmethod
    def close(self) -> None: ...
