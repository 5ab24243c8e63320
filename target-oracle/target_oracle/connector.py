"""Dialect-neutral database operations used by the sinks, and the dialect factory.

A dialect owns one database connection. Its methods are the only database operations the
loader does: read a table's columns, create/drop a table, add columns, bulk insert a
batch (columnar), and activate an export: replace staging tables by their shadow tables' rows,
all of them in one transaction.
"""

from __future__ import annotations

import abc
import logging
import typing as t
from dataclasses import dataclass, field

if t.TYPE_CHECKING:
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
    def activate(self, swaps: t.Sequence[Swap]) -> list[int]:
        """Apply ``swaps`` in one transaction, so readers see every staging table of the
        export change at once or none, then drop the shadow tables. Returns the number of
        rows each staging table now holds. Only columns may be added before the transaction
        (DDL; a staging table with an extra NULL column still holds its old snapshot)."""

    @abc.abstractmethod
    def close(self) -> None: ...


def make_dialect(config: t.Mapping[str, t.Any], logger: logging.Logger) -> Dialect:
    """The dialect selected by the settings (``sqlalchemy_url``, ``duckdb_path`` or ``oracle_*``)."""
    url = config.get("sqlalchemy_url") or ""
    if url.startswith("duckdb:") or (not url and config.get("duckdb_path")):
        from target_oracle.dialects.duckdb import DuckDBDialect  # noqa: PLC0415

        return DuckDBDialect(config, logger)
    if url.startswith("oracle") or (not url and config.get("oracle_dsn")):
        from target_oracle.dialects.oracle import OracleDialect  # noqa: PLC0415

        return OracleDialect(config, logger)
    msg = (
        "No target database configured: set sqlalchemy_url (duckdb:///... or "
        "oracle+oracledb://...), duckdb_path, or oracle_user/oracle_password/oracle_dsn"
    )
    raise ValueError(msg)
