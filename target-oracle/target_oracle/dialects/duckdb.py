"""DuckDB dialect: columnar inserts of Arrow tables (register + INSERT ... SELECT).

Type mapping (same column names as Oracle):

============================  ==============================================
column kind                   DuckDB type
============================  ==============================================
integer, NUMBER(p,0) p <= 18  BIGINT
integer, NUMBER(p,0) p > 18   DECIMAL(p,0)
integer without precision     BIGINT
decimal NUMBER(p,s)           DECIMAL(p,s)
double (plain number)         DOUBLE
string (any maxLength)        VARCHAR
date / date-time              DATE / TIMESTAMP
boolean                       BOOLEAN
object / array                JSON
============================  ==============================================
"""

from __future__ import annotations

import typing as t
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from target_oracle import types as ty
from target_oracle.connector import DbColumn, Dialect

if t.TYPE_CHECKING:
    import logging

    from target_oracle.types import ColumnSpec

BIGINT_MAX_PRECISION = 18
_CAST_FROM_TEXT = frozenset({ty.DATE, ty.TIMESTAMP})
# date/timestamp columns of Python dates (loader columns) also go directly
_DIRECT = frozenset({ty.INTEGER, ty.DECIMAL, ty.STRING, ty.BOOLEAN, ty.DATE, ty.TIMESTAMP})


def duckdb_type(spec: ColumnSpec) -> str:
    """DDL type of a column spec."""
    kind = spec.kind
    if kind == ty.INTEGER:
        if spec.precision and spec.precision > BIGINT_MAX_PRECISION:
            return f"DECIMAL({spec.precision},0)"
        return "BIGINT"
    if kind == ty.DECIMAL:
        return f"DECIMAL({spec.precision},{spec.scale})"
    return {
        ty.DOUBLE: "DOUBLE",
        ty.STRING: "VARCHAR",
        ty.DATE: "DATE",
        ty.TIMESTAMP: "TIMESTAMP",
        ty.BOOLEAN: "BOOLEAN",
        ty.JSON: "JSON",
    }[kind]


def arrow_type(spec: ColumnSpec) -> pa.DataType:
    """Arrow type used to hand a column to DuckDB."""
    kind = spec.kind
    if kind == ty.INTEGER:
        if spec.precision and spec.precision > BIGINT_MAX_PRECISION:
            return pa.decimal128(spec.precision, 0)
        return pa.int64()
    if kind == ty.DECIMAL:
        return pa.decimal128(spec.precision, spec.scale)
    return {
        ty.DOUBLE: pa.float64(),
        ty.STRING: pa.large_string(),
        ty.DATE: pa.date32(),
        ty.TIMESTAMP: pa.timestamp("us"),
        ty.BOOLEAN: pa.bool_(),
        ty.JSON: pa.large_string(),
    }[kind]


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def duckdb_path_from_config(config: t.Mapping[str, t.Any]) -> str:
    """Database file from ``sqlalchemy_url`` (``duckdb:////abs/file.duckdb``) or ``duckdb_path``."""
    url = config.get("sqlalchemy_url") or ""
    if url:
        path = url.split(":///", 1)[1] if ":///" in url else ":memory:"
        return path.split("?", 1)[0] or ":memory:"
    return str(config["duckdb_path"])


class DuckDBDialect(Dialect):
    name = "duckdb"

    def __init__(self, config: t.Mapping[str, t.Any], logger: logging.Logger) -> None:
        super().__init__(config, logger)
        path = duckdb_path_from_config(config)
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.con = duckdb.connect(path)
        self.schema = config.get("default_target_schema") or "main"
        self.con.execute(f"CREATE SCHEMA IF NOT EXISTS {quote(self.schema)}")

    def qualified(self, table: str) -> str:
        return f"{quote(self.schema)}.{quote(table)}"

    def _read_columns(self, table: str) -> dict[str, DbColumn] | None:
        rows = self.con.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
            [self.schema, table],
        ).fetchall()
        if not rows:
            return None
        return {name: DbColumn(name, data_type) for name, data_type in rows}

    def create_table(self, table: str, specs: t.Sequence[ColumnSpec]) -> None:
        cols = ", ".join(f"{quote(s.name)} {duckdb_type(s)}" for s in specs)
        self.con.execute(f"CREATE TABLE IF NOT EXISTS {self.qualified(table)} ({cols})")
        self._forget(table)

    def drop_table(self, table: str) -> None:
        self.con.execute(f"DROP TABLE IF EXISTS {self.qualified(table)}")
        self._forget(table)

    def add_columns(self, table: str, specs: t.Sequence[ColumnSpec]) -> None:
        for spec in specs:
            self.con.execute(
                f"ALTER TABLE {self.qualified(table)} ADD COLUMN {quote(spec.name)} {duckdb_type(spec)}"
            )
        self._forget(table)

    def _arrow_column(self, spec: ColumnSpec, values: t.Sequence) -> pa.Array:
        """Arrow array of a raw column: Arrow converts and checks in C (decimals that would
        lose digits, wrong types, ISO strings to dates/timestamps); values it rejects go
        through the Python converters, which handle the rest (offsets, Decimal doubles, JSON)
        or name the failing row."""
        arrow = arrow_type(spec)
        if spec.kind in _CAST_FROM_TEXT:
            try:
                return pc.cast(pa.array(values, type=pa.large_string()), arrow)
            except (pa.ArrowException, TypeError, ValueError, OverflowError):
                pass
        if spec.kind in _DIRECT:
            try:
                return pa.array(values, type=arrow)
            except (pa.ArrowException, TypeError, ValueError, OverflowError):
                pass
        converted = ty.convert_column(spec, list(values))
        try:
            return pa.array(converted, type=arrow)
        except (pa.ArrowException, TypeError, ValueError, OverflowError):
            ty.locate_conversion_error(spec.name, converted, lambda v: pa.array([v], type=arrow))
            raise

    def insert_batch(
        self, table: str, specs: t.Sequence[ColumnSpec], columns: t.Sequence[t.Sequence]
    ) -> None:
        arrays = [self._arrow_column(s, v) for s, v in zip(specs, columns, strict=True)]
        batch = pa.Table.from_arrays(arrays, names=[s.name for s in specs])
        col_list = ", ".join(quote(s.name) for s in specs)
        self.con.register("__target_oracle_batch", batch)
        try:
            self.con.execute(
                f"INSERT INTO {self.qualified(table)} ({col_list}) "
                f"SELECT {col_list} FROM __target_oracle_batch"
            )
        finally:
            self.con.unregister("__target_oracle_batch")

    def replace_from_shadow(self, staging: str, shadow: str, version: int) -> int:
        from target_oracle.naming import TABLE_VERSION_COLUMN  # noqa: PLC0415

        shadow_cols = self.table_columns(shadow) or {}
        staging_cols = self.table_columns(staging) or {}
        for name, col in shadow_cols.items():
            if name not in staging_cols:
                self.logger.info("Adding column %s %s to %s", name, col.sql_type, staging)
                self.con.execute(
                    f"ALTER TABLE {self.qualified(staging)} ADD COLUMN {quote(name)} {col.sql_type}"
                )
        self._forget(staging)
        col_list = ", ".join(quote(name) for name in shadow_cols)
        self.con.execute("BEGIN TRANSACTION")
        try:
            self.con.execute(f"DELETE FROM {self.qualified(staging)}")
            self.con.execute(
                f"INSERT INTO {self.qualified(staging)} ({col_list}) SELECT {col_list} "
                f"FROM {self.qualified(shadow)} WHERE {quote(TABLE_VERSION_COLUMN)} = ?",
                [version],
            )
            rows = self.con.execute(f"SELECT count(*) FROM {self.qualified(staging)}").fetchone()[0]
            self.con.execute("COMMIT")
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        self.drop_table(shadow)
        return int(rows)

    def replace_with_empty(self, staging: str) -> None:
        self.con.execute(f"DELETE FROM {self.qualified(staging)}")

    def close(self) -> None:
        self.con.close()
