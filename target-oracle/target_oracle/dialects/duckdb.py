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
from target_oracle.connector import DbColumn, Dialect, Swap

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


# --- bulk path: NDJSON spool files loaded by DuckDB's JSON reader -------------------------
#
# The spool holds the stream's RECORD lines as the tap wrote them; one INSERT .. SELECT ..
# FROM read_ndjson(..) loads a batch. Every value is checked in SQL to convert exactly as the
# Python path would; a value that does not (wrong JSON type, a decimal with more digits than
# its scale, a number inside a JSON object, ...) raises, nothing of the batch is written, and
# the sink loads the batch through the Python path instead, which converts it or reports
# the failing rows exactly as before.
#
# DuckDB's JSON reader parses numbers as int64 or double, never as exact decimals. A double
# holds any decimal of up to 15 significant digits closely enough to round back to it, so a
# DECIMAL(p,s) value (p <= 15) is accepted only when its cast to DECIMAL(p,s) gives back the
# same double. Streams with wider decimals, or integers beyond BIGINT (a value beyond uint64
# parses as a double), use the Python path.

BULK_MAX_DECIMAL_PRECISION = 15
_TS_OFFSET = r"[T ][0-9:.]+([Zz]|[+-][0-9]{2}(:?[0-9]{2})?)$"
_NUMBER_TYPES = "('BIGINT', 'UBIGINT', 'DOUBLE')"
_INTEGER_TYPES = "('BIGINT', 'UBIGINT')"


def bulk_supported(specs: t.Sequence[ColumnSpec]) -> bool:
    """Whether the bulk path can load every column of ``specs`` exactly."""
    for spec in specs:
        if spec.kind == ty.DECIMAL and (spec.precision or 38) > BULK_MAX_DECIMAL_PRECISION:
            return False
        if spec.kind == ty.INTEGER and spec.precision and spec.precision > BIGINT_MAX_PRECISION:
            return False  # values beyond uint64 would fail the bulk load and be redone in Python
    return True


def _sql_str(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


_READ_TYPE = {
    ty.INTEGER: "JSON",
    ty.DECIMAL: "JSON",
    ty.DOUBLE: "JSON",
    ty.STRING: "VARCHAR",
    ty.DATE: "VARCHAR",
    ty.TIMESTAMP: "VARCHAR",
    ty.BOOLEAN: "JSON",
    ty.JSON: "JSON",
}


def _ts_expr(x: str) -> str:
    """Naive timestamp of an ISO text; an offset (Z, +hh:mm) is converted to UTC."""
    return (
        f"CASE WHEN length({x}) <= 19 OR NOT regexp_matches({x}, '{_TS_OFFSET}') "
        f"THEN CAST({x} AS TIMESTAMP) ELSE timezone('UTC', CAST({x} AS TIMESTAMPTZ)) END"
    )


def bulk_value_sql(spec: ColumnSpec, x: str) -> str:
    """SQL converting the value ``x`` read from the spool (see ``_READ_TYPE``) to the column
    type, or raising (``error()`` / a failing cast) when the Python path could differ."""
    value = _bulk_value_sql(spec, x)
    if value == x:
        return x
    if _READ_TYPE[spec.kind] == "JSON":  # a JSON null is SQL NULL, as in the Python path
        return f"CASE WHEN {x} IS NULL OR json_type({x}) = 'NULL' THEN NULL ELSE {value} END"
    return f"CASE WHEN {x} IS NULL THEN NULL ELSE {value} END"


def _bulk_value_sql(spec: ColumnSpec, x: str) -> str:
    kind = spec.kind
    fail = f"error('column {spec.name}: value needs the exact path')"
    if kind == ty.INTEGER:
        if spec.precision and spec.precision > BIGINT_MAX_PRECISION:  # exact digits of the JSON text
            cast = f"CAST(CAST({x} AS VARCHAR) AS {duckdb_type(spec)})"
        else:
            cast = f"CAST({x} AS BIGINT)"
        return f"CASE WHEN json_type({x}) IN {_INTEGER_TYPES} THEN {cast} ELSE {fail} END"
    if kind == ty.DOUBLE:
        return f"CASE WHEN json_type({x}) IN {_NUMBER_TYPES} THEN CAST({x} AS DOUBLE) ELSE {fail} END"
    if kind == ty.DECIMAL:
        dec = f"DECIMAL({spec.precision},{spec.scale})"
        dbl = f"CAST({x} AS DOUBLE)"
        return (
            f"CASE WHEN json_type({x}) IN {_NUMBER_TYPES} AND CAST(CAST({dbl} AS {dec}) AS DOUBLE) = {dbl} "
            f"THEN CAST({dbl} AS {dec}) ELSE {fail} END"
        )
    if kind == ty.BOOLEAN:
        return f"CASE WHEN json_type({x}) = 'BOOLEAN' THEN CAST({x} AS BOOLEAN) ELSE {fail} END"
    if kind == ty.TIMESTAMP:
        return _ts_expr(x)
    if kind == ty.DATE:
        ts = _ts_expr(x)
        return (
            f"CASE WHEN length({x}) = 10 THEN CAST({x} AS DATE) "
            f"WHEN {ts} = date_trunc('day', {ts}) THEN CAST({ts} AS DATE) ELSE {fail} END"
        )
    if kind == ty.JSON:
        # DuckDB rewrites non-integer numbers (0.10 -> 0.1): those values take the exact path
        return f"CASE WHEN contains(CAST(json_structure({x}) AS VARCHAR), '\"DOUBLE\"') THEN {fail} ELSE {x} END"
    return x


class DuckDBBulkMixin:
    """Loads a spool file of Singer RECORD lines (``{"record": {...}, ...}``) with one
    ``INSERT .. SELECT .. FROM read_ndjson(..)``."""

    con: duckdb.DuckDBPyConnection

    @staticmethod
    def _spool_source(path: str, record_type: str) -> str:
        columns = "{'record': " + _sql_str(record_type) + "}"
        return f"read_ndjson({_sql_str(path)}, columns={columns}, format='newline_delimited')"

    def insert_spool(
        self,
        table: str,
        specs: t.Sequence[ColumnSpec],
        path: str,
        version: int | None,
        loaded_at: object,
    ) -> int:
        """Insert the records of the spool file ``path`` in one statement (all or nothing,
        auto-committed); returns the number of rows inserted.

        Raises:
            duckdb.Error: a line is not valid JSON or a value needs the Python path.
        """
        data = [s for s in specs if s.prop is not None]
        fields = ", ".join(f"{quote(s.prop)} {_READ_TYPE[s.kind]}" for s in data)  # type: ignore[arg-type]
        exprs = [bulk_value_sql(s, "r." + quote(s.prop)) for s in data]  # type: ignore[arg-type]
        exprs += ["CAST(? AS BIGINT)", "CAST(? AS TIMESTAMP)"]
        col_list = ", ".join(quote(s.name) for s in specs)
        source = self._spool_source(path, f"STRUCT({fields})" if fields else "JSON")
        sql = (
            f"INSERT INTO {self.qualified(table)} ({col_list}) "  # type: ignore[attr-defined]
            f"SELECT {', '.join(exprs)} FROM (SELECT record AS r FROM {source})"
        )
        return int(self.con.execute(sql, [version, loaded_at]).fetchone()[0])


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


class DuckDBParquetMixin:
    """Loads BATCH Parquet files (typed rows) with one ``INSERT .. SELECT .. FROM read_parquet``."""

    con: duckdb.DuckDBPyConnection

    def insert_parquet(
        self,
        table: str,
        specs: t.Sequence[ColumnSpec],
        paths: t.Sequence[Path],
        version: int | None,
        loaded_at: object,
    ) -> int:
        """Insert the rows of the files (all or nothing); returns the number of rows. Each
        value is cast to its column's type: a value that does not fit fails the load, it is
        never cut or rounded. A property missing from the files is NULL."""
        files = [str(p) for p in paths]
        select = parquet_select_sql(specs, parquet_columns(self.con, files))
        col_list = ", ".join(quote(s.name) for s in specs)
        sql = f"INSERT INTO {self.qualified(table)} ({col_list}) {select}"  # type: ignore[attr-defined]
        return int(self.con.execute(sql, [version, loaded_at, files]).fetchone()[0])


class DuckDBDialect(DuckDBParquetMixin, DuckDBBulkMixin, Dialect):
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
        from target_oracle.naming import TABLE_VERSION_COLUMN  # noqa: PLC0415

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
