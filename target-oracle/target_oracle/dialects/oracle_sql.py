"""Pure functions producing the Oracle SQL of the loader (no connection needed).

Identifiers are unquoted upper case (``STG_MOLO_SLIPS``, ``SDC_ROW_HASH``); only a name that
is an Oracle reserved word or not a valid unquoted identifier is double-quoted (its quoted
upper-case form is the same identifier). CREATE TABLE is compiled with SQLAlchemy's Oracle
dialect; the other statements are plain text built from the same identifier rules.

Type mapping:

=============================  =======================================================
column kind                    Oracle type
=============================  =======================================================
integer NUMBER(p,0)            NUMBER(p,0)    (integer without precision: NUMBER(19,0))
decimal NUMBER(p,s)            NUMBER(p,s)
double (plain number)          BINARY_DOUBLE
string maxLength n <= 2000     NVARCHAR2(n), widened / converted to NCLOB when needed
string maxLength > 2000 / none NCLOB
date / date-time               DATE / TIMESTAMP
boolean                        NUMBER(1,0)    (1 / 0)
object / array                 NCLOB          (JSON text)
=============================  =======================================================
"""

from __future__ import annotations

import re
import typing as t

from sqlalchemy import Column, MetaData, Table
from sqlalchemy.dialects import oracle
from sqlalchemy.dialects.oracle.base import RESERVED_WORDS
from sqlalchemy.schema import CreateTable
from sqlalchemy.sql import quoted_name

from target_oracle import naming
from target_oracle import types as ty

if t.TYPE_CHECKING:
    from sqlalchemy.types import TypeEngine

    from target_oracle.connector import DbColumn
    from target_oracle.types import ColumnSpec

NVARCHAR2_MAX_CHARS = 2000  # 4000 bytes in AL16UTF16 with MAX_STRING_SIZE=STANDARD
ORACLE_DIALECT = oracle.dialect()
NCLOB_TEMP_SUFFIX = "__NCLOB"
PLAIN_INTEGER_PRECISION = 19  # same range as DuckDB BIGINT

_UNQUOTED = re.compile(r"^[A-Z][A-Z0-9_$#]*$")


def needs_quotes(name: str) -> bool:
    return not _UNQUOTED.match(name) or name.upper() in RESERVED_WORDS


def ident(name: str) -> str:
    """An identifier as written in SQL: unquoted upper case unless it must be quoted."""
    return '"' + name.replace('"', '""') + '"' if needs_quotes(name) else name


def qualified(schema: str | None, table: str) -> str:
    return f"{ident(schema)}.{ident(table)}" if schema else ident(table)


def _sa_name(name: str) -> quoted_name:
    return quoted_name(name, quote=needs_quotes(name))


def sa_type(spec: ColumnSpec) -> TypeEngine:
    """SQLAlchemy Oracle type of a column spec."""
    kind = spec.kind
    if kind == ty.INTEGER:
        return oracle.NUMBER(spec.precision or PLAIN_INTEGER_PRECISION, 0)
    if kind == ty.DECIMAL:
        return oracle.NUMBER(spec.precision, spec.scale)
    if kind == ty.STRING and spec.max_length and spec.max_length <= NVARCHAR2_MAX_CHARS:
        return oracle.NVARCHAR2(spec.max_length)
    return {
        ty.DOUBLE: oracle.BINARY_DOUBLE(),
        ty.STRING: oracle.NCLOB(),
        ty.DATE: oracle.DATE(),
        ty.TIMESTAMP: oracle.TIMESTAMP(),
        ty.BOOLEAN: oracle.NUMBER(1, 0),
        ty.JSON: oracle.NCLOB(),
    }[kind]


def type_sql(spec: ColumnSpec) -> str:
    return sa_type(spec).compile(dialect=ORACLE_DIALECT).replace(", ", ",")


def db_column_type_sql(col: DbColumn) -> str:
    """DDL type of an existing column (as read from ALL_TAB_COLUMNS)."""
    if col.sql_type == "NVARCHAR2":
        return f"NVARCHAR2({col.char_length})"
    return col.sql_type


def create_table_sql(schema: str | None, table: str, specs: t.Sequence[ColumnSpec]) -> str:
    columns = [Column(_sa_name(s.name), sa_type(s)) for s in specs]
    sa_table = Table(
        _sa_name(table), MetaData(), *columns, schema=_sa_name(schema) if schema else None
    )
    return str(CreateTable(sa_table).compile(dialect=ORACLE_DIALECT)).strip()


def drop_table_sql(schema: str | None, table: str) -> str:
    return f"DROP TABLE {qualified(schema, table)} PURGE"


def add_columns_sql(schema: str | None, table: str, columns: t.Sequence[tuple[str, str]]) -> str:
    """``ALTER TABLE t ADD (c1 type1, c2 type2)`` for (name, type SQL) pairs."""
    body = ", ".join(f"{ident(name)} {type_sql_}" for name, type_sql_ in columns)
    return f"ALTER TABLE {qualified(schema, table)} ADD ({body})"


def widen_sql(schema: str | None, table: str, column: str, chars: int) -> str:
    return f"ALTER TABLE {qualified(schema, table)} MODIFY ({ident(column)} NVARCHAR2({chars}))"


def nclob_temp_column(column: str) -> str:
    return naming._shorten(column + NCLOB_TEMP_SUFFIX, naming.MAX_IDENTIFIER_BYTES)  # noqa: SLF001


def to_nclob_sql(schema: str | None, table: str, column: str) -> list[str]:
    """Convert an NVARCHAR2 column to NCLOB (Oracle cannot MODIFY it in place, ORA-22858):
    add an NCLOB column, copy, drop the old column, rename the new one."""
    tbl = qualified(schema, table)
    tmp = nclob_temp_column(column)
    return [
        f"ALTER TABLE {tbl} ADD ({ident(tmp)} NCLOB)",
        f"UPDATE {tbl} SET {ident(tmp)} = {ident(column)}",
        f"ALTER TABLE {tbl} DROP COLUMN {ident(column)}",
        f"ALTER TABLE {tbl} RENAME COLUMN {ident(tmp)} TO {ident(column)}",
    ]


def string_growth_sql(
    schema: str | None, table: str, col: DbColumn, needed_chars: int
) -> list[str]:
    """Statements that let ``col`` hold ``needed_chars`` characters (none if it already can)."""
    if col.sql_type != "NVARCHAR2" or needed_chars <= (col.char_length or 0):
        return []
    if needed_chars <= NVARCHAR2_MAX_CHARS:
        return [widen_sql(schema, table, col.name, needed_chars)]
    return to_nclob_sql(schema, table, col.name)


def insert_sql(schema: str | None, table: str, columns: t.Sequence[str]) -> str:
    """The array-bound INSERT used with ``executemany`` (positional binds)."""
    col_list = ", ".join(ident(c) for c in columns)
    binds = ", ".join(f":{i}" for i in range(1, len(columns) + 1))
    return f"INSERT INTO {qualified(schema, table)} ({col_list}) VALUES ({binds})"


def align_sql(
    schema: str | None,
    staging: str,
    staging_cols: t.Mapping[str, DbColumn],
    shadow_cols: t.Mapping[str, DbColumn],
) -> list[str]:
    """DDL that makes ``staging`` able to take every column of the shadow table:
    add missing columns, widen NVARCHAR2 columns, convert to NCLOB."""
    statements: list[str] = []
    missing = [(n, db_column_type_sql(c)) for n, c in shadow_cols.items() if n not in staging_cols]
    if missing:
        statements.append(add_columns_sql(schema, staging, missing))
    for name, shadow_col in shadow_cols.items():
        current = staging_cols.get(name)
        if current is None or current.sql_type != "NVARCHAR2":
            continue
        if shadow_col.sql_type == "NCLOB":
            statements.extend(to_nclob_sql(schema, staging, name))
        elif shadow_col.sql_type == "NVARCHAR2":
            statements.extend(
                string_growth_sql(schema, staging, current, shadow_col.char_length or 0)
            )
    return statements


def swap_sql(
    schema: str | None, staging: str, shadow: str, columns: t.Sequence[str]
) -> list[str]:
    """The statements of the swap transaction, in order; the caller commits after the last
    one (bind ``:version``), and drops the shadow only after the commit."""
    col_list = ", ".join(ident(c) for c in columns)
    return [
        f"DELETE FROM {qualified(schema, staging)}",
        f"INSERT INTO {qualified(schema, staging)} ({col_list}) "
        f"SELECT {col_list} FROM {qualified(schema, shadow)} "
        f"WHERE {ident(naming.TABLE_VERSION_COLUMN)} = :version",
    ]


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
    from target_oracle.connector import DbColumn  # noqa: PLC0415

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
