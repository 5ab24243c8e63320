"""Pure functions producing the Oracle SQL of the loader (no connection needed).

Identifiers are unquoted upper case (``STG_MOLO_SLIPS``, ``SDC_ROW_HASH``); only a name that
is an Oracle reserved word (:mod:`marina_common.oracle_names`) or not a valid unquoted
identifier is double-quoted (its quoted upper-case form is the same identifier). CREATE TABLE
is compiled with SQLAlchemy's Oracle dialect; the other statements are plain text built from
the same identifier rules.

Types are decided once, from the stream schema and the database's NVARCHAR2 limit
(``text_chars``: 16,383 characters with MAX_STRING_SIZE=EXTENDED, as on Autonomous Database,
2,000 with STANDARD), when a table or column is created, and never changed afterwards: a value
that does not fit its column is rejected with its row and column, never cut, and no column is
ever widened or converted (dbt builds the DW tables from these types; see README "Oracle").

=============================  =======================================================
column kind                    Oracle type
=============================  =======================================================
integer NUMBER(p,0)            NUMBER(p,0)    (integer without precision: NUMBER(19,0))
decimal NUMBER(p,s)            NUMBER(p,s)
double (plain number)          BINARY_DOUBLE
string, maxLength n            NVARCHAR2(text_chars) when n <= text_chars, else NCLOB
string without maxLength       NCLOB          (the catalog's free-text NCLOB columns)
date / date-time               DATE / TIMESTAMP
boolean                        NUMBER(1,0)    (1 / 0)
object / array                 NCLOB          (JSON text)
=============================  =======================================================

Tables are created NOCOMPRESS: staging tables are emptied and refilled by conventional DML on
every run, which Autonomous Database's default (Hybrid Columnar Compression) is not made for.
"""

from __future__ import annotations

import re
import typing as t

from sqlalchemy import Column, MetaData, Table
from sqlalchemy.dialects import oracle
from sqlalchemy.schema import CreateTable
from sqlalchemy.sql import quoted_name

from marina_common.oracle_names import needs_quotes
from marina_common.oracle_names import quote as ident
from target_oracle import naming
from target_oracle import types as ty
from target_oracle.dialects.base import DbColumn

if t.TYPE_CHECKING:
    from sqlalchemy.types import TypeEngine

    from target_oracle.types import ColumnSpec

# NVARCHAR2's limit in characters (AL16UTF16, two bytes each): 4000 / 32767 bytes.
STANDARD_TEXT_CHARS = 2000
EXTENDED_TEXT_CHARS = 16383
ORACLE_DIALECT = oracle.dialect()
PLAIN_INTEGER_PRECISION = 19  # same range as DuckDB BIGINT


def qualified(schema: str | None, table: str) -> str:
    return f"{ident(schema)}.{ident(table)}" if schema else ident(table)


def _sa_name(name: str) -> quoted_name:
    return quoted_name(name, quote=needs_quotes(name))


def sa_type(spec: ColumnSpec, text_chars: int) -> TypeEngine:
    """SQLAlchemy Oracle type of a column spec, strings sized by the database's NVARCHAR2
    limit ``text_chars`` (see the module docstring)."""
    kind = spec.kind
    if kind == ty.INTEGER:
        return oracle.NUMBER(spec.precision or PLAIN_INTEGER_PRECISION, 0)
    if kind == ty.DECIMAL:
        return oracle.NUMBER(spec.precision, spec.scale)
    if kind == ty.STRING and spec.max_length and spec.max_length <= text_chars:
        return oracle.NVARCHAR2(text_chars)
    return {
        ty.DOUBLE: oracle.BINARY_DOUBLE(),
        ty.STRING: oracle.NCLOB(),
        ty.DATE: oracle.DATE(),
        ty.TIMESTAMP: oracle.TIMESTAMP(),
        ty.BOOLEAN: oracle.NUMBER(1, 0),
        ty.JSON: oracle.NCLOB(),
    }[kind]


def type_sql(spec: ColumnSpec, text_chars: int) -> str:
    return sa_type(spec, text_chars).compile(dialect=ORACLE_DIALECT).replace(", ", ",")


def db_column_type_sql(col: DbColumn) -> str:
    """DDL type of an existing column (as read from ALL_TAB_COLUMNS)."""
    if col.sql_type == "NVARCHAR2":
        return f"NVARCHAR2({col.char_length})"
    return col.sql_type


def create_table_sql(schema: str | None, table: str, specs: t.Sequence[ColumnSpec], text_chars: int) -> str:
    columns = [Column(_sa_name(s.name), sa_type(s, text_chars)) for s in specs]
    sa_table = Table(_sa_name(table), MetaData(), *columns, schema=_sa_name(schema) if schema else None)
    return str(CreateTable(sa_table).compile(dialect=ORACLE_DIALECT)).strip() + " NOCOMPRESS"


def drop_table_sql(schema: str | None, table: str) -> str:
    return f"DROP TABLE {qualified(schema, table)} PURGE"


def add_columns_sql(schema: str | None, table: str, columns: t.Sequence[tuple[str, str]]) -> str:
    """``ALTER TABLE t ADD (c1 type1, c2 type2)`` for (name, type SQL) pairs."""
    body = ", ".join(f"{ident(name)} {type_sql_}" for name, type_sql_ in columns)
    return f"ALTER TABLE {qualified(schema, table)} ADD ({body})"


def insert_sql(schema: str | None, table: str, columns: t.Sequence[str]) -> str:
    """The array-bound INSERT used with ``executemany`` (positional binds)."""
    col_list = ", ".join(ident(c) for c in columns)
    binds = ", ".join(f":{i}" for i in range(1, len(columns) + 1))
    return f"INSERT INTO {qualified(schema, table)} ({col_list}) VALUES ({binds})"


def delete_batch_sql(schema: str | None, table: str) -> str:
    """Removes one batch's rows (bind ``:loaded_at``; the loader stamps a batch with one
    SDC_LOADED_AT) after a failed direct path load, which may have committed part of them."""
    return f"DELETE FROM {qualified(schema, table)} WHERE {ident(naming.LOADED_AT_COLUMN)} = :loaded_at"


def align_sql(
    schema: str | None,
    staging: str,
    staging_cols: t.Mapping[str, DbColumn],
    shadow_cols: t.Mapping[str, DbColumn],
) -> list[str]:
    """DDL that makes ``staging`` able to take every column of the shadow table: the columns
    it lacks, added with the shadow's types. Existing columns are never changed (both tables
    get their types from the same schema; see the module docstring)."""
    missing = [(n, db_column_type_sql(c)) for n, c in shadow_cols.items() if n not in staging_cols]
    return [add_columns_sql(schema, staging, missing)] if missing else []


def swap_sql(schema: str | None, staging: str, shadow: str | None, columns: t.Sequence[str]) -> list[str]:
    """One staging table's statements in the activation transaction (bind ``:version``): its
    rows become the shadow's rows of that version, or none without a shadow. No DDL, so many
    tables' swaps commit together."""
    statements = [f"DELETE FROM {qualified(schema, staging)}"]
    if shadow is not None:
        col_list = ", ".join(ident(c) for c in columns)
        statements.append(
            f"INSERT INTO {qualified(schema, staging)} ({col_list}) "
            f"SELECT {col_list} FROM {qualified(schema, shadow)} "
            f"WHERE {ident(naming.TABLE_VERSION_COLUMN)} = :version"
        )
    return statements


# The database's NVARCHAR2 limit, asked once per connection: this cast is valid only with
# MAX_STRING_SIZE=EXTENDED and fails with ORA-00910 under STANDARD. Unlike V$PARAMETER it needs
# no privilege (an Autonomous Database user cannot read V$PARAMETER by default).
EXTENDED_TEXT_PROBE = f"SELECT CAST(NULL AS NVARCHAR2({EXTENDED_TEXT_CHARS})) FROM DUAL"
LENGTH_TOO_LONG = 910  # ORA-00910: specified length too long for its datatype

CURRENT_SCHEMA_QUERY = "SELECT SYS_CONTEXT('USERENV', 'CURRENT_SCHEMA') FROM DUAL"

COLUMNS_QUERY = (
    "SELECT column_name, data_type, char_length, data_precision, data_scale "
    "FROM all_tab_columns "
    "WHERE owner = COALESCE(:owner, SYS_CONTEXT('USERENV', 'CURRENT_SCHEMA')) "
    "AND table_name = :table_name ORDER BY column_id"
)


def db_column_from_row(
    name: str, data_type: str, char_length: int | None, precision: int | None, scale: int | None
) -> DbColumn:
    """A :class:`DbColumn` from one ALL_TAB_COLUMNS row."""
    if data_type == "NUMBER" and precision is not None:
        return DbColumn(name, f"NUMBER({precision},{scale or 0})")
    if data_type == "NUMBER":
        return DbColumn(name, "NUMBER")
    if data_type == "NVARCHAR2":
        return DbColumn(name, "NVARCHAR2", char_length)
    return DbColumn(name, data_type)


_ERROR_COLUMN = re.compile(r'"[^"]*"\."[^"]*"\."([^"]+)"')


def column_from_error(message: str) -> str | None:
    """The column named in an Oracle error (ORA-12899, ORA-01400, ...), if any."""
    match = _ERROR_COLUMN.search(message)
    return match.group(1) if match else None
