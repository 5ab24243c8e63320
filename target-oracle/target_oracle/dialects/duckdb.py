"""DuckDB dialect: Parquet batch files by ``INSERT .. SELECT .. FROM read_parquet``, record
batches as Arrow tables (register + ``INSERT .. SELECT``).

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

from marina_common.connection import MEMORY, duckdb_path_from_settings
from target_oracle import types as ty
from target_oracle.dialects.base import DbColumn, Dialect, Swap
from target_oracle.naming import TABLE_VERSION_COLUMN

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


def _parquet_value_sql(spec: ColumnSpec) -> str:
    """A Parquet column as the staging column's type. A number that the cast would change
    (rounding decimals, a fraction into an integer) fails the load instead."""
    col, sql_type = quote(spec.prop), duckdb_type(spec)  # type: ignore[arg-type]
    if spec.kind == ty.JSON:
        return f"json({col})"  # minified, as from RECORDs
    if spec.kind in (ty.INTEGER, ty.DECIMAL):
        return (
            f"CASE WHEN {col} IS NULL OR CAST({col} AS {sql_type}) = {col} THEN CAST({col} AS {sql_type}) "
            f"ELSE error('column {spec.name}: ' || CAST({col} AS VARCHAR) || ' does not fit {sql_type}') END"
        )
    return f"CAST({col} AS {sql_type})"


# Types of the Arrow columns handed to Oracle where the staging type differs: JSON as its text,
# flags as NUMBER(1,0)'s 0/1.
_ORACLE_ARROW_TYPES = {ty.JSON: "VARCHAR", ty.BOOLEAN: "TINYINT"}


def parquet_columns(con: duckdb.DuckDBPyConnection, files: list[str]) -> set[str]:
    """Column names of Parquet files."""
    return {row[0] for row in con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [files]).fetchall()}


def parquet_select_sql(specs: t.Sequence[ColumnSpec], present: set[str], *, for_oracle: bool = False) -> str:
    """The staging columns of Parquet files, in the specs' order (parameters: version,
    loaded_at, the list of files): each value cast to its column's type (a value the cast
    would change fails the query); a property missing from the files is NULL. ``for_oracle``:
    as Arrow types python-oracledb ingests into the Oracle columns."""
    exprs = []
    for spec in (s for s in specs if s.prop is not None):
        cast = _ORACLE_ARROW_TYPES.get(spec.kind) if for_oracle else None
        if spec.prop not in present:
            exprs.append(f"CAST(NULL AS {cast or duckdb_type(spec)})" if for_oracle else "NULL")
        elif cast:
            value = f"json({quote(spec.prop)})" if spec.kind == ty.JSON else quote(spec.prop)  # type: ignore[arg-type]
            exprs.append(f"CAST({value} AS {cast})")
        else:
            exprs.append(_parquet_value_sql(spec))
    exprs += ["CAST(? AS BIGINT)", "CAST(? AS TIMESTAMP)"]
    return f"SELECT {', '.join(exprs)} FROM read_parquet(?)"


class DuckDBDialect(Dialect):
    name = "duckdb"

    def __init__(self, config: t.Mapping[str, t.Any], logger: logging.Logger) -> None:
        super().__init__(config, logger)
        path = duckdb_path_from_settings(config) or MEMORY
        if path != MEMORY:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.con = duckdb.connect(path)
        self.schema = config.get("default_target_schema") or "main"
        self.con.execute(f"CREATE SCHEMA IF NOT EXISTS {quote(self.schema)}")

    def insert_parquet(
        self,
        table: str,
        specs: t.Sequence[ColumnSpec],
        paths: t.Sequence[Path],
        version: int | None,
        loaded_at: object,
    ) -> int:
        """One ``INSERT .. SELECT .. FROM read_parquet``: all rows or none."""
        files = [str(p) for p in paths]
        select = parquet_select_sql(specs, parquet_columns(self.con, files))
        col_list = ", ".join(quote(s.name) for s in specs)
        sql = f"INSERT INTO {self.qualified(table)} ({col_list}) {select}"
        return int(self.con.execute(sql, [version, loaded_at, files]).fetchone()[0])

    def qualified(self, table: str) -> str:
        return f"{quote(self.schema)}.{quote(table)}"

    def _read_columns(self, table: str) -> dict[str, DbColumn] | None:
        # the result description of an empty SELECT: much cheaper than information_schema
        try:
            description = self.con.execute(f"SELECT * FROM {self.qualified(table)} LIMIT 0").description
        except duckdb.CatalogException:
            return None
        return {name: DbColumn(name, str(data_type)) for name, data_type, *_ in description}

    def create_table(self, table: str, specs: t.Sequence[ColumnSpec]) -> None:
        cols = ", ".join(f"{quote(s.name)} {duckdb_type(s)}" for s in specs)
        self.con.execute(f"CREATE TABLE IF NOT EXISTS {self.qualified(table)} ({cols})")
        self._forget(table)

    def drop_table(self, table: str) -> None:
        self.con.execute(f"DROP TABLE IF EXISTS {self.qualified(table)}")
        self._forget(table)

    def add_columns(self, table: str, specs: t.Sequence[ColumnSpec]) -> None:
        for spec in specs:
            self.con.execute(f"ALTER TABLE {self.qualified(table)} ADD COLUMN {quote(spec.name)} {duckdb_type(spec)}")
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

    def insert_batch(self, table: str, specs: t.Sequence[ColumnSpec], columns: t.Sequence[t.Sequence]) -> None:
        arrays = [self._arrow_column(s, v) for s, v in zip(specs, columns, strict=True)]
        batch = pa.Table.from_arrays(arrays, names=[s.name for s in specs])
        col_list = ", ".join(quote(s.name) for s in specs)
        self.con.register("__target_oracle_batch", batch)
        try:
            self.con.execute(
                f"INSERT INTO {self.qualified(table)} ({col_list}) SELECT {col_list} FROM __target_oracle_batch"
            )
        finally:
            self.con.unregister("__target_oracle_batch")

    def activate(self, swaps: t.Sequence[Swap]) -> list[int]:
        version_col = quote(TABLE_VERSION_COLUMN)
        counts = []
        self.con.execute("BEGIN TRANSACTION")
        try:
            for swap in swaps:
                staging = self.qualified(swap.staging)
                if swap.shadow is None:
                    self.con.execute(f"DELETE FROM {staging}")
                    counts.append(0)
                    continue
                shadow = self.qualified(swap.shadow)
                shadow_cols = self.table_columns(swap.shadow) or {}
                staging_cols = self.table_columns(swap.staging) or {}
                if list(staging_cols.values()) == list(shadow_cols.values()):
                    # Same columns: the shadow becomes the staging table (no row copy).
                    self.con.execute(f"DELETE FROM {shadow} WHERE {version_col} IS DISTINCT FROM ?", [swap.version])
                    self.con.execute(f"DROP TABLE {staging}")
                    self.con.execute(f"ALTER TABLE {shadow} RENAME TO {quote(swap.staging)}")
                else:
                    for name, col in shadow_cols.items():
                        if name not in staging_cols:
                            self.logger.info("Adding column %s %s to %s", name, col.sql_type, swap.staging)
                            self.con.execute(f"ALTER TABLE {staging} ADD COLUMN {quote(name)} {col.sql_type}")
                    col_list = ", ".join(quote(name) for name in shadow_cols)
                    self.con.execute(f"DELETE FROM {staging}")
                    self.con.execute(
                        f"INSERT INTO {staging} ({col_list}) SELECT {col_list} FROM {shadow} WHERE {version_col} = ?",
                        [swap.version],
                    )
                    self.con.execute(f"DROP TABLE {shadow}")
                counts.append(self.con.execute(f"SELECT count(*) FROM {staging}").fetchone()[0])
            self.con.execute("COMMIT")
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        finally:
            for swap in swaps:
                self._forget(swap.staging)
                if swap.shadow is not None:
                    self._forget(swap.shadow)
        return counts

    def close(self) -> None:
        self.con.close()
