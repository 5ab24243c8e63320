"""Oracle SQL produced by the loader, compiled offline with SQLAlchemy's Oracle dialect, and
the order of statements/commits of the Oracle dialect (against a recording DB-API stand-in,
since no Oracle server runs here; see test_oracle_live.py for the real thing)."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from decimal import Decimal

import oracledb
import pytest

from target_oracle import types as ty
from target_oracle.dialects import oracle_sql as sql
from target_oracle.dialects.base import DbColumn, RowErrors, Swap
from target_oracle.dialects.oracle import OracleDialect, input_type, max_chars
from target_oracle.types import column_specs

SCHEMA = {
    "properties": {
        "id": {"type": ["integer", "null"], "x-sql-datatype": "NUMBER(10,0)"},
        "rate": {"type": ["number", "null"], "multipleOf": 0.01, "x-sql-datatype": "NUMBER(10,2)"},
        "ratio": {"type": ["number", "null"]},
        "name": {"type": ["string", "null"], "maxLength": 191},
        "notes": {"type": ["string", "null"]},
        "huge": {"type": ["string", "null"], "maxLength": 4000},
        "opened_on": {"type": ["string", "null"], "format": "date"},
        "updated_at": {"type": ["string", "null"], "format": "date-time"},
        "flag": {"type": ["boolean", "null"]},
        "comment": {"type": ["string", "null"], "maxLength": 10},
        "_sdc_row_number": {"type": ["integer", "null"]},
        "_sdc_extra": {"type": ["object", "null"]},
    }
}


def test_create_table_types_and_identifiers():
    """Text with a maxLength is NVARCHAR2 at the database's limit (EXTENDED: 16,383), free
    text and JSON NCLOB; reserved words quoted; no HCC."""
    ddl = sql.create_table_sql(None, "STG_MOLO_SLIPS", column_specs(SCHEMA), sql.EXTENDED_TEXT_CHARS)
    assert ddl == (
        "CREATE TABLE STG_MOLO_SLIPS (\n"
        "\tID NUMBER(10, 0), \n"
        "\tRATE NUMBER(10, 2), \n"
        "\tRATIO BINARY_DOUBLE, \n"
        "\tNAME NVARCHAR2(16383), \n"
        "\tNOTES NCLOB, \n"
        "\tHUGE NVARCHAR2(16383), \n"
        "\tOPENED_ON DATE, \n"
        "\tUPDATED_AT TIMESTAMP, \n"
        "\tFLAG NUMBER(1, 0), \n"
        '\t"COMMENT" NVARCHAR2(16383), \n'
        "\tSDC_ROW_NUMBER NUMBER(19, 0), \n"
        "\tSDC_EXTRA NCLOB, \n"
        "\tSDC_TABLE_VERSION NUMBER(19, 0), \n"
        "\tSDC_LOADED_AT TIMESTAMP\n"
        ") NOCOMPRESS"
    )


def test_text_types_under_max_string_size_standard():
    """2,000 characters with MAX_STRING_SIZE=STANDARD; a maxLength beyond it is NCLOB."""
    specs = {s.name: s for s in column_specs(SCHEMA)}
    assert sql.type_sql(specs["NAME"], sql.STANDARD_TEXT_CHARS) == "NVARCHAR2(2000)"
    assert sql.type_sql(specs["HUGE"], sql.STANDARD_TEXT_CHARS) == "NCLOB"
    assert sql.type_sql(specs["NOTES"], sql.STANDARD_TEXT_CHARS) == "NCLOB"


def test_create_table_in_schema():
    ddl = sql.create_table_sql("MARINA", "STG_X__LOADING", column_specs({"properties": {}}), 2000)
    assert ddl.startswith("CREATE TABLE MARINA.STG_X__LOADING (\n\tSDC_TABLE_VERSION NUMBER(19, 0)")


def test_identifier_quoting_only_when_needed():
    assert sql.ident("STG_MOLO_SLIPS") == "STG_MOLO_SLIPS"
    assert sql.ident("SDC_ROW_HASH") == "SDC_ROW_HASH"
    assert sql.ident("LEVEL") == '"LEVEL"'
    # reserved words SQLAlchemy's list lacks
    assert [sql.ident(n) for n in ("ROWS", "ROW", "ACCESS", "SESSION")] == ['"ROWS"', '"ROW"', '"ACCESS"', '"SESSION"']
    assert sql.ident("_ID") == '"_ID"'
    assert sql.qualified("MARINA", "DATE") == 'MARINA."DATE"'


def test_insert_statement_for_executemany():
    statement = sql.insert_sql(None, "STG_MOLO_SLIPS__LOADING", ["ID", "RATE", "SDC_TABLE_VERSION"])
    assert statement == ("INSERT INTO STG_MOLO_SLIPS__LOADING (ID, RATE, SDC_TABLE_VERSION) VALUES (:1, :2, :3)")


def test_swap_statements():
    assert sql.swap_sql("MARINA", "STG_MOLO_SLIPS", "STG_MOLO_SLIPS__LOADING", ["ID", "SDC_TABLE_VERSION"]) == [
        "DELETE FROM MARINA.STG_MOLO_SLIPS",
        "INSERT INTO MARINA.STG_MOLO_SLIPS (ID, SDC_TABLE_VERSION) SELECT ID, SDC_TABLE_VERSION "
        "FROM MARINA.STG_MOLO_SLIPS__LOADING WHERE SDC_TABLE_VERSION = :version",
    ]


def test_add_column_ddl():
    assert sql.add_columns_sql(None, "STG_X", [("BERTH", "NVARCHAR2(20)"), ("N", "NUMBER(10,0)")]) == (
        "ALTER TABLE STG_X ADD (BERTH NVARCHAR2(20), N NUMBER(10,0))"
    )


def test_align_staging_to_shadow_only_adds_columns():
    """Types are fixed when a column is created: aligning adds the missing columns and never
    modifies, widens or converts one."""
    staging = {
        "ID": DbColumn("ID", "NUMBER(10,0)"),
        "NAME": DbColumn("NAME", "NVARCHAR2", 16383),
    }
    shadow = {
        "ID": DbColumn("ID", "NUMBER(10,0)"),
        "NAME": DbColumn("NAME", "NVARCHAR2", 16383),
        "NOTE": DbColumn("NOTE", "NCLOB"),
        "ROWS": DbColumn("ROWS", "NVARCHAR2", 16383),
    }
    assert sql.align_sql(None, "STG_X", staging, shadow) == [
        'ALTER TABLE STG_X ADD (NOTE NCLOB, "ROWS" NVARCHAR2(16383))',
    ]
    assert sql.align_sql(None, "STG_X", shadow, shadow) == []


def test_column_named_in_oracle_errors():
    msg = 'ORA-12899: value too large for column "MARINA"."STG_X__LOADING"."NAME" (actual: 3, maximum: 2)'
    assert sql.column_from_error(msg) == "NAME"
    assert sql.column_from_error("ORA-01722: invalid number") is None


def test_bind_types():
    assert input_type(DbColumn("A", "NVARCHAR2", 10), ["x"]) is oracledb.DB_TYPE_NVARCHAR
    assert input_type(DbColumn("A", "NCLOB"), ["x" * 100, None]) is oracledb.DB_TYPE_NVARCHAR
    assert input_type(DbColumn("A", "NCLOB"), ["x" * 20000]) is oracledb.DB_TYPE_NCLOB
    assert input_type(DbColumn("A", "NUMBER(10,2)"), [Decimal("1.5")]) is oracledb.DB_TYPE_NUMBER
    assert input_type(DbColumn("A", "TIMESTAMP(6)"), []) is oracledb.DB_TYPE_TIMESTAMP
    assert input_type(DbColumn("A", "BINARY_DOUBLE"), []) is oracledb.DB_TYPE_BINARY_DOUBLE


def test_nvarchar2_length_counts_utf16_units():
    assert max_chars(["abc", None, "é"]) == 3
    assert max_chars(["🚤🚤"]) == 4  # outside the BMP: two UTF-16 code units each


# --- statement order against a recording stand-in of the DB-API connection -------------


@dataclass
class FakeError:
    code: int
    message: str


@dataclass
class BatchError:
    offset: int
    message: str


class RecordingCursor:
    def __init__(self, con):
        self.con = con
        self.rowcount = 0
        self._rows = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def execute(self, statement, params=None, **kwargs):
        if statement == sql.COLUMNS_QUERY:
            self._rows = self.con.tables.get(kwargs["table_name"], [])
            return
        self.con.log.append(("execute", statement, params or kwargs))
        self.rowcount = 2

    def fetchall(self):
        return self._rows

    def setinputsizes(self, *types):
        self.con.log.append(("setinputsizes", types))

    def executemany(self, statement, rows, batcherrors=False):
        self.con.log.append(("executemany", statement, list(rows), batcherrors))

    def getbatcherrors(self):
        return self.con.batch_errors


class RecordingConnection:
    def __init__(self, tables):
        self.tables = tables
        self.log = []
        self.batch_errors = []
        self.autocommit = True

    def cursor(self):
        return RecordingCursor(self)

    def commit(self):
        self.log.append(("commit",))

    def rollback(self):
        self.log.append(("rollback",))


def dialect(tables, **config):
    con = RecordingConnection(tables)
    return OracleDialect(config, logging.getLogger("test"), connection=con), con


def test_an_export_is_activated_in_one_transaction_then_the_shadows_are_dropped():
    """Every staging table of the export changes in the same transaction (no DDL inside
    it: DDL would commit); columns are added before it, shadows dropped after it."""
    tables = {
        "STG_X": [("ID", "NUMBER", None, 10, 0), ("NAME", "NVARCHAR2", 50, None, None)],
        "STG_X__LOADING": [
            ("ID", "NUMBER", None, 10, 0),
            ("NAME", "NVARCHAR2", 50, None, None),
            ("SDC_TABLE_VERSION", "NUMBER", None, 19, 0),
        ],
        "STG_Y": [("ID", "NUMBER", None, 10, 0)],
    }
    ora, con = dialect(tables)
    swaps = [Swap("STG_X", "STG_X__LOADING", 7), Swap("STG_Y", None, 7)]
    assert ora.activate(swaps) == [2, 0]
    assert con.log == [
        ("execute", "ALTER TABLE STG_X ADD (SDC_TABLE_VERSION NUMBER(19,0))", {}),
        ("execute", "DELETE FROM STG_X", {}),
        (
            "execute",
            "INSERT INTO STG_X (ID, NAME, SDC_TABLE_VERSION) SELECT ID, NAME, SDC_TABLE_VERSION "
            "FROM STG_X__LOADING WHERE SDC_TABLE_VERSION = :version",
            {"version": 7},
        ),
        ("execute", "DELETE FROM STG_Y", {}),
        ("commit",),
        ("execute", "DROP TABLE STG_X__LOADING PURGE", {}),
    ]
    assert con.autocommit is False


def test_a_failed_activation_rolls_every_table_back(monkeypatch):
    tables = {
        "STG_X": [("ID", "NUMBER", None, 10, 0)],
        "STG_X__LOADING": [("ID", "NUMBER", None, 10, 0)],
        "STG_Y": [("ID", "NUMBER", None, 10, 0)],
        "STG_Y__LOADING": [("ID", "NUMBER", None, 10, 0)],
    }
    ora, con = dialect(tables)
    original = RecordingCursor.execute

    def execute(self, statement, params=None, **kwargs):
        if statement.startswith("INSERT INTO STG_Y"):
            raise RuntimeError("ORA-01653: unable to extend table")
        return original(self, statement, params, **kwargs)

    monkeypatch.setattr(RecordingCursor, "execute", execute)
    with pytest.raises(RuntimeError, match="ORA-01653"):
        ora.activate([Swap("STG_X", "STG_X__LOADING", 7), Swap("STG_Y", "STG_Y__LOADING", 7)])
    assert ("commit",) not in con.log
    assert con.log[-1] == ("rollback",)
    assert not any("DROP TABLE" in str(entry) for entry in con.log)


def test_batch_insert_is_one_array_bound_executemany():
    props = {k: SCHEMA["properties"][k] for k in ("id", "rate", "name", "updated_at", "flag")}
    specs = column_specs({"properties": props})
    tables = {
        "STG_X__LOADING": [
            ("ID", "NUMBER", None, 10, 0),
            ("RATE", "NUMBER", None, 10, 2),
            ("NAME", "NVARCHAR2", 191, None, None),
            ("UPDATED_AT", "TIMESTAMP(6)", None, None, None),
            ("FLAG", "NUMBER", None, 1, 0),
            ("SDC_TABLE_VERSION", "NUMBER", None, 19, 0),
            ("SDC_LOADED_AT", "TIMESTAMP(6)", None, None, None),
        ]
    }
    ora, con = dialect(tables, oracle_array_size=2)
    loaded = dt.datetime(2024, 1, 1)
    columns = [
        (1, 2, 3),
        (Decimal("1.50"), None, 3),
        ("a", None, "c"),
        ("2024-03-01T10:00:00", None, "2024-03-01T10:00:00.5"),
        (True, False, None),
        (9, 9, 9),
        (loaded, loaded, loaded),
    ]
    ora.insert_batch("STG_X__LOADING", specs, columns)
    statement = (
        "INSERT INTO STG_X__LOADING (ID, RATE, NAME, UPDATED_AT, FLAG, SDC_TABLE_VERSION, SDC_LOADED_AT) "
        "VALUES (:1, :2, :3, :4, :5, :6, :7)"
    )
    types = (
        oracledb.DB_TYPE_NUMBER,
        oracledb.DB_TYPE_NUMBER,
        oracledb.DB_TYPE_NVARCHAR,
        oracledb.DB_TYPE_TIMESTAMP,
        oracledb.DB_TYPE_NUMBER,
        oracledb.DB_TYPE_NUMBER,
        oracledb.DB_TYPE_TIMESTAMP,
    )
    assert con.log == [
        ("setinputsizes", types),
        (
            "executemany",
            statement,
            [
                (1, Decimal("1.50"), "a", dt.datetime(2024, 3, 1, 10), 1, 9, loaded),
                (2, None, None, None, 0, 9, loaded),
            ],
            True,
        ),
        ("setinputsizes", types),
        ("executemany", statement, [(3, 3, "c", dt.datetime(2024, 3, 1, 10, 0, 0, 500000), None, 9, loaded)], True),
        ("commit",),
    ]


def test_batch_errors_are_reported_per_row_and_rolled_back():
    specs = [ty.ColumnSpec("NAME", "name", ty.STRING, max_length=191)]
    ora, con = dialect({"T": [("NAME", "NVARCHAR2", 191, None, None)]})
    con.batch_errors = [BatchError(1, 'ORA-12899: value too large for column "U"."T"."NAME" (actual: 9, maximum: 2)')]
    with pytest.raises(RowErrors) as info:
        ora.insert_batch("T", specs, [("a", "b")])
    assert [(e.row_index, e.column) for e in info.value.errors] == [(1, "NAME")]
    assert con.log[-1] == ("rollback",)


def test_text_longer_than_its_column_is_rejected_never_cut_nor_widened():
    specs = [ty.ColumnSpec("NAME", "name", ty.STRING, max_length=10)]
    ora, con = dialect({"T": [("NAME", "NVARCHAR2", 2000, None, None)]})
    with pytest.raises(RowErrors) as info:
        ora.insert_batch("T", specs, [("x" * 30, "é" * 2000, "🚤" * 1001, None)])
    assert [(e.row_index, e.column) for e in info.value.errors] == [(2, "NAME")]
    assert "2002 characters does not fit NVARCHAR2(2000)" in info.value.errors[0].error
    assert con.log == []  # nothing sent: no DDL, no insert


def test_max_string_size_decides_the_text_type(monkeypatch):
    """The NVARCHAR2 limit is asked once per connection; ORA-00910 means STANDARD."""
    specs = [ty.ColumnSpec("NAME", "name", ty.STRING, max_length=10)]
    ora, con = dialect({})
    ora.create_table("T", specs)
    ora.add_columns("T", [ty.ColumnSpec("CODE", "code", ty.STRING, max_length=3)])
    assert [entry[1] for entry in con.log] == [
        sql.EXTENDED_TEXT_PROBE,
        "CREATE TABLE T (\n\tNAME NVARCHAR2(16383)\n) NOCOMPRESS",
        "ALTER TABLE T ADD (CODE NVARCHAR2(16383))",
    ]
    original = RecordingCursor.execute

    def standard(self, statement, params=None, **kwargs):
        if statement == sql.EXTENDED_TEXT_PROBE:
            raise oracledb.DatabaseError(FakeError(910, "ORA-00910: specified length too long for its datatype"))
        return original(self, statement, params, **kwargs)

    monkeypatch.setattr(RecordingCursor, "execute", standard)
    ora, con = dialect({})
    ora.create_table("T", specs)
    assert [entry[1] for entry in con.log] == ["CREATE TABLE T (\n\tNAME NVARCHAR2(2000)\n) NOCOMPRESS"]


def test_decimal_with_too_many_decimals_is_rejected_not_rounded():
    specs = [ty.ColumnSpec("RATE", "rate", ty.DECIMAL, precision=10, scale=2)]
    ora, con = dialect({"T": [("RATE", "NUMBER", None, 10, 2)]})
    with pytest.raises(RowErrors) as info:
        ora.insert_batch("T", specs, [(Decimal("1.50"), Decimal("1.500"), Decimal("1.505"))])
    assert [(e.row_index, e.column) for e in info.value.errors] == [(2, "RATE")]
    assert not any(entry[0] == "executemany" for entry in con.log)
