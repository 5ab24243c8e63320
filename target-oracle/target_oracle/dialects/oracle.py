"""Oracle dialect: python-oracledb thin mode; direct path loads into the shadow tables,
array-bound ``executemany`` with batch errors for the rest and to find a batch's bad rows.

The SQL comes from :mod:`target_oracle.dialects.oracle_sql` (pure, unit tested offline).

Loading a batch: values are converted and checked in Python first (types, decimals beyond the
column's scale, text longer than its NVARCHAR2 column: each a rejected row naming its column),
so what reaches Oracle fits. Into a shadow table (``STG_<X>__LOADING``, private to the load)
the batch then goes by ``Connection.direct_path_load`` when the driver offers it (thin mode,
python-oracledb 3.4+): no INSERT, blocks written above the high-water mark, committed by the
driver. Should that fail, the batch's rows (one SDC_LOADED_AT per batch) are deleted and the
batch goes through ``executemany(batcherrors=True)``, which names every row Oracle refuses; if
no row is refused the failure was the direct path's own, and the rest of the run uses
``executemany``. Parquet batch files are read by DuckDB into Arrow record batches, checked the
same way, and handed to ``direct_path_load`` as they are (python-oracledb ingests Arrow).
"""

from __future__ import annotations

import dataclasses
import functools
import socket
import typing as t
from decimal import Decimal
from pathlib import Path

import oracledb

from marina_common.connection import explain_connect_error, oracle_from_settings
from target_oracle import naming
from target_oracle import types as ty
from target_oracle.dialects import oracle_sql as sql
from target_oracle.dialects.base import DbColumn, Dialect, RowError, RowErrors, Swap
from target_oracle.errors import LoaderError

if t.TYPE_CHECKING:
    import logging

    from target_oracle.types import ColumnSpec

LONG_BIND_BYTES = 32767  # strings up to this size bind as NVARCHAR; larger ones as NCLOB


def connect(config: t.Mapping[str, t.Any]) -> t.Any:
    """A thin-mode connection; a wallet folder that cannot work, an unknown or unreachable host
    and refused credentials raise LoaderError naming the setting to fix."""
    params = oracle_from_settings(config)
    if problem := params.wallet_problem():
        raise LoaderError(problem)
    try:
        return oracledb.connect(**params.connect_kwargs())
    except (socket.gaierror, oracledb.Error) as exc:
        raise LoaderError(explain_connect_error(exc, params)) from exc


def utf16_units(value: str) -> int:
    """Length of a string in NVARCHAR2 characters (UTF-16 code units, AL16UTF16)."""
    return len(value.encode("utf-16-le")) // 2


def max_chars(values: list) -> int:
    """Largest NVARCHAR2 length needed by a column of Python strings."""
    lengths = [len(v) for v in values if v is not None]
    if not lengths:
        return 0
    longest = max(lengths)
    # A character outside the BMP takes two code units: only long values can matter.
    return max(utf16_units(v) for v in values if v is not None and len(v) * 2 > longest)


def input_type(col: DbColumn, values: list) -> t.Any:
    """The bind type of a column for ``setinputsizes``."""
    kind = col.sql_type
    if kind == "NVARCHAR2":
        return oracledb.DB_TYPE_NVARCHAR
    if kind in ("NCLOB", "CLOB"):
        big = any(v is not None and len(v) * 4 > LONG_BIND_BYTES for v in values)
        if big and max_chars(values) * 2 > LONG_BIND_BYTES:
            return oracledb.DB_TYPE_NCLOB
        return oracledb.DB_TYPE_NVARCHAR
    if kind.startswith("NUMBER"):
        return oracledb.DB_TYPE_NUMBER
    if kind == "BINARY_DOUBLE":
        return oracledb.DB_TYPE_BINARY_DOUBLE
    if kind == "DATE":
        return oracledb.DB_TYPE_DATE
    if kind.startswith("TIMESTAMP"):
        return oracledb.DB_TYPE_TIMESTAMP
    return None


PARQUET_BATCH_ROWS = 50000


def arrow_text_fits(batch: t.Any, db_cols: t.Sequence[DbColumn]) -> bool:
    """Whether every text of an Arrow record batch fits its NVARCHAR2 column (exactly: a
    column whose longest value could need more UTF-16 units is counted in Python)."""
    import pyarrow.compute as pc  # noqa: PLC0415 - loaded with the first Parquet batch

    for i, col in enumerate(db_cols):
        if col.sql_type != "NVARCHAR2" or not col.char_length:
            continue
        longest = pc.max(pc.utf8_length(batch.column(i))).as_py() or 0
        if longest * 2 > col.char_length and text_length_errors(col, batch.column(i).to_pylist()):
            return False
    return True


def text_length_errors(col: DbColumn, values: list) -> list[RowError]:
    """Values longer than their NVARCHAR2 column: rejected with row and column (Oracle would
    refuse them with ORA-12899, and a direct path load would fail the whole batch)."""
    limit = col.char_length
    if col.sql_type != "NVARCHAR2" or not limit or max_chars(values) <= limit:
        return []
    errors = []
    for index, value in enumerate(values):
        if value is not None and (length := utf16_units(value)) > limit:
            error = f"text of {length} characters does not fit NVARCHAR2({limit}) (never cut)"
            errors.append(RowError(index, col.name, error, value))
    return errors


def decimal_scale_errors(spec: ColumnSpec, values: list) -> list[RowError]:
    """Values with more decimals than the column's scale (Oracle would round them silently)."""
    scale = spec.scale or 0
    quantum = Decimal(1).scaleb(-scale)
    errors = []
    for index, value in enumerate(values):
        within_scale = type(value) is not Decimal or value.as_tuple().exponent >= -scale  # type: ignore[operator]
        if not within_scale and value.quantize(quantum) != value:
            errors.append(RowError(index, spec.name, f"more than {scale} decimals for NUMBER", value))
    return errors


class OracleDialect(Dialect):
    name = "oracle"

    def __init__(
        self,
        config: t.Mapping[str, t.Any],
        logger: logging.Logger,
        connection: t.Any = None,
    ) -> None:
        """Connect in thin mode (or use ``connection``, any DB-API connection)."""
        super().__init__(config, logger)
        self.schema: str | None = (config.get("default_target_schema") or "").upper() or None
        self.array_size = int(config.get("oracle_array_size") or 10000)
        self.con = connection if connection is not None else connect(config)
        self.con.autocommit = False

    # -- helpers ---------------------------------------------------------------------------
    def _execute(self, statement: str, params: t.Any = None) -> None:
        self.logger.debug("Oracle: %s", statement)
        with self.con.cursor() as cur:
            cur.execute(statement, params or {})

    def _read_columns(self, table: str) -> dict[str, DbColumn] | None:
        with self.con.cursor() as cur:
            cur.execute(sql.COLUMNS_QUERY, owner=self.schema, table_name=table)
            rows = cur.fetchall()
        if not rows:
            return None
        return {row[0]: sql.db_column_from_row(*row) for row in rows}

    # -- DDL -------------------------------------------------------------------------------
    @functools.cached_property
    def text_chars(self) -> int:
        """The database's NVARCHAR2 limit in characters (MAX_STRING_SIZE), asked once."""
        try:
            self._execute(sql.EXTENDED_TEXT_PROBE)
        except oracledb.DatabaseError as exc:
            if getattr(exc.args[0], "code", None) != sql.LENGTH_TOO_LONG:
                raise
            self.logger.info("MAX_STRING_SIZE=STANDARD: text columns are NVARCHAR2(%d)", sql.STANDARD_TEXT_CHARS)
            return sql.STANDARD_TEXT_CHARS
        return sql.EXTENDED_TEXT_CHARS

    @functools.cached_property
    def current_schema(self) -> str:
        """The schema of the tables (``direct_path_load`` needs it named)."""
        if self.schema:
            return self.schema
        with self.con.cursor() as cur:
            cur.execute(sql.CURRENT_SCHEMA_QUERY)
            return cur.fetchone()[0]

    @functools.cached_property
    def direct_path(self) -> bool:
        """Whether the driver offers direct path loads (python-oracledb 3.4+ in thin mode);
        turned off for the rest of the run when one fails on rows Oracle accepts."""
        return callable(getattr(self.con, "direct_path_load", None)) and bool(getattr(self.con, "thin", False))

    def create_table(self, table: str, specs: t.Sequence[ColumnSpec]) -> None:
        self._execute(sql.create_table_sql(self.schema, table, specs, self.text_chars))
        self._forget(table)

    def drop_table(self, table: str) -> None:
        if self.table_columns(table) is not None:
            self._execute(sql.drop_table_sql(self.schema, table))
        self._forget(table)

    def add_columns(self, table: str, specs: t.Sequence[ColumnSpec]) -> None:
        self._execute(
            sql.add_columns_sql(self.schema, table, [(s.name, sql.type_sql(s, self.text_chars)) for s in specs])
        )
        self._forget(table)

    # -- data ------------------------------------------------------------------------------
    def _prepare(self, specs: t.Sequence[ColumnSpec], columns: t.Sequence[t.Sequence]) -> list[list]:
        prepared = []
        errors: list[RowError] = []
        for spec, raw in zip(specs, columns, strict=True):
            values = ty.convert_column(spec, list(raw))
            if spec.kind == ty.BOOLEAN:
                values = [None if v is None else int(v) for v in values]
            elif spec.kind == ty.DECIMAL:
                errors.extend(decimal_scale_errors(spec, values))
            prepared.append(values)
        if errors:
            raise RowErrors("", errors)
        return prepared

    def insert_batch(self, table: str, specs: t.Sequence[ColumnSpec], columns: t.Sequence[t.Sequence]) -> None:
        existing = self.table_columns(table) or {}
        db_cols = [existing[s.name] for s in specs]
        try:
            columns = self._prepare(specs, columns)
            errors = [e for col, values in zip(db_cols, columns, strict=True) for e in text_length_errors(col, values)]
            if errors:
                raise RowErrors(table, sorted(errors, key=lambda e: e.row_index))
        except RowErrors as exc:
            exc.table = table
            raise
        rows = list(zip(*columns, strict=True))
        if not self._use_direct_path(table):
            self._executemany(table, db_cols, columns, rows)
        elif not self._direct_path_load(table, specs, rows):
            self._executemany(table, db_cols, columns, rows)  # raises when rows are bad
            # the rows were fine: the direct path itself fails, so stop trying it
            self.logger.warning(
                "Direct path loads fail on rows Oracle accepts: the rest of this run loads by executemany"
            )
            self.direct_path = False

    def _use_direct_path(self, table: str) -> bool:
        """Direct path only into a shadow table: the load locks the table it writes, which
        no one else reads, and commits its rows itself, which only the activation makes
        visible."""
        return self.direct_path and table.endswith(naming.SHADOW_SUFFIX)

    def _direct_path_load(self, table: str, specs: t.Sequence[ColumnSpec], data: t.Any) -> bool:
        """Load ``data`` (row tuples or an Arrow table) by direct path; False when the load
        failed, after removing whatever part of the batch it committed."""
        try:
            self.con.direct_path_load(
                schema_name=self.current_schema,
                table_name=table,
                column_names=[s.name for s in specs],
                data=data,
            )
        except oracledb.Error as exc:
            self.logger.info(
                "Direct path load into %s failed (%s): the batch goes through executemany",
                table,
                " ".join(str(exc).split())[:300],
            )
            self.con.rollback()
            self._delete_batch(table, specs, data)
            return False
        return True

    def _delete_batch(self, table: str, specs: t.Sequence[ColumnSpec], data: t.Any) -> None:
        """Remove the rows of one batch (they share one SDC_LOADED_AT) from ``table``."""
        index = [s.name for s in specs].index(naming.LOADED_AT_COLUMN)
        first = data.column(index)[0].as_py() if hasattr(data, "column") else data[0][index]
        self._execute(sql.delete_batch_sql(self.schema, table), {"loaded_at": first})
        self.con.commit()

    def _executemany(
        self,
        table: str,
        db_cols: t.Sequence[DbColumn],
        columns: t.Sequence[list],
        rows: list[tuple],
    ) -> None:
        """Insert by array-bound ``executemany`` with batch errors: every row Oracle refuses
        is reported, and nothing of the batch is committed then."""
        statement = sql.insert_sql(self.schema, table, [c.name for c in db_cols])
        errors: list[RowError] = []
        with self.con.cursor() as cur:
            for start in range(0, len(rows), self.array_size):
                chunk = rows[start : start + self.array_size]
                cur.setinputsizes(
                    *[
                        input_type(col, values[start : start + self.array_size])
                        for col, values in zip(db_cols, columns, strict=True)
                    ]
                )
                cur.executemany(statement, chunk, batcherrors=True)
                for err in cur.getbatcherrors():
                    errors.append(RowError(start + err.offset, sql.column_from_error(err.message), err.message))
        if errors:
            self.con.rollback()
            raise RowErrors(table, errors)
        self.con.commit()

    def insert_parquet(
        self,
        table: str,
        specs: t.Sequence[ColumnSpec],
        paths: t.Sequence[Path],
        version: int | None,
        loaded_at: object,
    ) -> int:
        """Insert the rows of Parquet batch files; returns the number of rows. DuckDB reads
        the files into Arrow record batches with each value cast to its column's type (a
        value the cast would change fails the load, as on DuckDB); a record batch whose text
        fits its columns goes to ``direct_path_load`` as Arrow, any other (or every batch
        without direct path) through :meth:`insert_batch` as rows, which reports bad rows.

        Raises:
            RowErrors: rows were rejected (row numbers count from the first file's first row).
        """
        import duckdb  # noqa: PLC0415 - DuckDB reads Parquet; loaded only when BATCH files come

        from target_oracle.dialects.duckdb import parquet_columns, parquet_select_sql  # noqa: PLC0415 - as above

        existing = self.table_columns(table) or {}
        db_cols = [existing[s.name] for s in specs]
        # rows as the record path has them, but JSON stays the text DuckDB made of it
        row_specs = [dataclasses.replace(s, kind=ty.STRING) if s.kind == ty.JSON else s for s in specs]
        con = duckdb.connect()
        count = 0
        try:
            files = [str(p) for p in paths]
            query = parquet_select_sql(specs, parquet_columns(con, files), for_oracle=True)
            reader = con.sql(query, params=[version, loaded_at, files]).to_arrow_reader(PARQUET_BATCH_ROWS)
            for batch in reader:
                if not (
                    self._use_direct_path(table)
                    and arrow_text_fits(batch, db_cols)
                    and self._direct_path_load(table, specs, batch)
                ):
                    columns = [batch.column(i).to_pylist() for i in range(batch.num_columns)]
                    try:
                        self.insert_batch(table, row_specs, columns)
                    except RowErrors as exc:
                        for err in exc.errors:
                            err.row_index += count
                        raise
                count += batch.num_rows
        finally:
            con.close()
        return count

    def activate(self, swaps: t.Sequence[Swap]) -> list[int]:
        for swap in swaps:
            if swap.shadow is None:
                continue
            staging_cols = self.table_columns(swap.staging) or {}
            shadow_cols = self.table_columns(swap.shadow) or {}
            for statement in sql.align_sql(self.schema, swap.staging, staging_cols, shadow_cols):
                self.logger.info("Aligning %s: %s", swap.staging, statement)
                self._execute(statement)
            self._forget(swap.staging)
        counts = []
        try:
            with self.con.cursor() as cur:
                for swap in swaps:
                    columns = list(self.table_columns(swap.shadow) or {}) if swap.shadow else []
                    for statement in sql.swap_sql(self.schema, swap.staging, swap.shadow, columns):
                        if ":version" in statement:
                            cur.execute(statement, version=swap.version)
                        else:
                            cur.execute(statement)
                    counts.append(int(cur.rowcount) if swap.shadow else 0)
            self.con.commit()
        except BaseException:
            self.con.rollback()
            raise
        for swap in swaps:
            if swap.shadow is not None:
                self.drop_table(swap.shadow)
        return counts

    def close(self) -> None:
        self.con.close()
