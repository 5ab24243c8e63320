"""Which path an Oracle batch takes (direct path load into a shadow table, executemany
otherwise and to find bad rows) and what the driver receives, against a recording stand-in of
python-oracledb's connection (no Oracle server runs here; a live run is test_oracle_live.py).
The Arrow batches handed to ``direct_path_load`` are also read by python-oracledb's own Arrow
importer (``oracledb.from_arrow``), which refuses types it cannot ingest."""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal

import duckdb
import oracledb
import pyarrow as pa
import pytest
from test_oracle_sql import BatchError, RecordingConnection

from target_oracle.dialects.base import RowErrors
from target_oracle.dialects.oracle import OracleDialect
from target_oracle.types import column_specs

LOADED = dt.datetime(2024, 1, 2, 3, 4, 5, 123456)
SHADOW = "STG_X__LOADING"
PROPS = {
    "id": {"type": ["integer", "null"], "x-sql-datatype": "NUMBER(10,0)"},
    "rate": {"type": ["number", "null"], "x-sql-datatype": "NUMBER(10,2)"},
    "name": {"type": ["string", "null"], "maxLength": 10},
    "flag": {"type": ["boolean", "null"]},
    "opened_on": {"type": ["string", "null"], "format": "date"},
    "extra": {"type": ["object", "null"]},
    "missing": {"type": ["string", "null"]},
}
COLUMNS = [
    ("ID", "NUMBER", None, 10, 0),
    ("RATE", "NUMBER", None, 10, 2),
    ("NAME", "NVARCHAR2", 20, None, None),
    ("FLAG", "NUMBER", None, 1, 0),
    ("OPENED_ON", "DATE", None, None, None),
    ("EXTRA", "NCLOB", None, None, None),
    ("MISSING", "NCLOB", None, None, None),
    ("SDC_TABLE_VERSION", "NUMBER", None, 19, 0),
    ("SDC_LOADED_AT", "TIMESTAMP(6)", None, None, None),
]


class DirectPathConnection(RecordingConnection):
    """A thin-mode connection of python-oracledb 3.4+ (it has ``direct_path_load``)."""

    thin = True

    def __init__(self, tables, fail_with=None):
        super().__init__(tables)
        self.fail_with = fail_with

    def direct_path_load(self, schema_name, table_name, column_names, data, batch_size=2**32 - 1):
        self.log.append(("direct_path_load", schema_name, table_name, list(column_names), data))
        if self.fail_with is not None:
            raise oracledb.DatabaseError(self.fail_with)


def dialect(con):
    return OracleDialect({"default_target_schema": "marina"}, logging.getLogger("test"), connection=con)


def specs():
    return column_specs({"properties": PROPS})


def batch_columns(n=2):
    rows = [(1, Decimal("1.50"), "a", True, "2024-03-01", {"k": 1}, None), (2, None, None, False, None, None, "free")][
        :n
    ]
    columns = [list(c) for c in zip(*rows)]
    return [*columns, [7] * n, [LOADED] * n]


def kinds(con):
    return [entry[0] for entry in con.log]


def test_a_shadow_batch_goes_by_direct_path_with_converted_values():
    con = DirectPathConnection({SHADOW: COLUMNS})
    dialect(con).insert_batch(SHADOW, specs(), batch_columns())
    assert kinds(con) == ["direct_path_load"]
    _, schema, table, names, rows = con.log[0]
    assert (schema, table) == ("MARINA", SHADOW)
    assert names == [s.name for s in specs()]
    assert rows == [
        (1, Decimal("1.50"), "a", 1, dt.date(2024, 3, 1), '{"k":1}', None, 7, LOADED),
        (2, None, None, 0, None, None, "free", 7, LOADED),
    ]


def test_other_tables_and_old_drivers_use_executemany():
    con = DirectPathConnection({"STG_X": COLUMNS})
    dialect(con).insert_batch("STG_X", specs(), batch_columns())  # appended to: readers see it
    assert kinds(con) == ["setinputsizes", "executemany", "commit"]
    old = RecordingConnection({SHADOW: COLUMNS})  # no direct_path_load (python-oracledb < 3.4)
    dialect(old).insert_batch(SHADOW, specs(), batch_columns())
    assert kinds(old) == ["setinputsizes", "executemany", "commit"]


def test_a_failed_direct_path_load_is_undone_and_retried_by_executemany():
    """The batch's rows (one SDC_LOADED_AT) are deleted and executemany loads them; as it
    accepted every row, the direct path failed on its own and is not tried again."""
    con = DirectPathConnection({SHADOW: COLUMNS}, fail_with="DPY-3000: not supported")
    ora = dialect(con)
    ora.insert_batch(SHADOW, specs(), batch_columns())
    delete = "DELETE FROM MARINA.STG_X__LOADING WHERE SDC_LOADED_AT = :loaded_at"
    assert kinds(con) == ["direct_path_load", "rollback", "execute", "commit", "setinputsizes", "executemany", "commit"]
    assert con.log[2][1:] == (delete, {"loaded_at": LOADED})
    con.log.clear()
    ora.insert_batch(SHADOW, specs(), batch_columns())
    assert kinds(con) == ["setinputsizes", "executemany", "commit"]


def test_bad_rows_are_found_by_executemany_after_a_failed_direct_path_load():
    con = DirectPathConnection({SHADOW: COLUMNS}, fail_with="ORA-01400: cannot insert NULL")
    con.batch_errors = [BatchError(1, 'ORA-01400: cannot insert NULL into ("MARINA"."STG_X__LOADING"."RATE")')]
    ora = dialect(con)
    with pytest.raises(RowErrors) as info:
        ora.insert_batch(SHADOW, specs(), batch_columns())
    assert [(e.row_index, e.column) for e in info.value.errors] == [(1, "RATE")]
    assert con.log[-1] == ("rollback",)
    assert ora.direct_path  # the rows were bad, not the direct path


def test_text_too_long_is_rejected_before_any_path():
    con = DirectPathConnection({SHADOW: COLUMNS})
    columns = batch_columns()
    columns[2] = ["b" * 21, "ok"]
    with pytest.raises(RowErrors) as info:
        dialect(con).insert_batch(SHADOW, specs(), columns)
    assert [(e.row_index, e.column) for e in info.value.errors] == [(0, "NAME")]
    assert con.log == []


def write_parquet(path, names):
    con = duckdb.connect()
    n = len(names)
    con.execute(
        "COPY (SELECT CAST(i AS BIGINT) AS id, CAST(i AS DECIMAL(10,2)) / 4 AS rate, "
        "CAST(? AS VARCHAR[])[i + 1] AS name, i % 2 = 0 AS flag, DATE '2024-01-01' + CAST(i AS INTEGER) AS opened_on, "
        "CASE WHEN i = 0 THEN '{\"k\": [1, 2]}' END AS extra "
        "FROM range(?) t(i)) TO ? (FORMAT parquet)",
        [names, n, str(path)],
    )
    con.close()


def test_parquet_batches_go_to_the_driver_as_arrow(tmp_path):
    path = tmp_path / "part.parquet"
    write_parquet(path, ["a", "é" * 20, None])
    con = DirectPathConnection({SHADOW: COLUMNS})
    assert dialect(con).insert_parquet(SHADOW, specs(), [path], 7, LOADED) == 3
    assert kinds(con) == ["direct_path_load"]
    batch = con.log[0][4]
    assert isinstance(batch, pa.RecordBatch)
    assert batch.schema.names == [s.name for s in specs()] or batch.num_columns == len(specs())
    assert [f.type for f in batch.schema] == [
        pa.int64(),
        pa.decimal128(10, 2),
        pa.string(),
        pa.int8(),
        pa.date32(),
        pa.string(),
        pa.string(),
        pa.int64(),
        pa.timestamp("us"),
    ]
    assert batch.to_pylist()[0] == {
        **dict.fromkeys(batch.schema.names),
        **dict(
            zip(batch.schema.names, [0, Decimal("0.00"), "a", 1, dt.date(2024, 1, 1), '{"k":[1,2]}', None, 7, LOADED])
        ),
    }
    assert oracledb.from_arrow(batch).num_rows() == 3  # python-oracledb ingests these types


def test_a_parquet_batch_with_too_long_text_goes_through_the_rows_path(tmp_path):
    path = tmp_path / "part.parquet"
    write_parquet(path, ["a", "b" * 21])
    con = DirectPathConnection({SHADOW: COLUMNS})
    with pytest.raises(RowErrors) as info:
        dialect(con).insert_parquet(SHADOW, specs(), [path], 7, LOADED)
    assert [(e.row_index, e.column) for e in info.value.errors] == [(1, "NAME")]
    assert "direct_path_load" not in kinds(con)


def test_parquet_without_direct_path_inserts_rows_by_executemany(tmp_path):
    path = tmp_path / "part.parquet"
    write_parquet(path, ["a", None])
    con = RecordingConnection({SHADOW: COLUMNS})
    assert dialect(con).insert_parquet(SHADOW, specs(), [path], 7, LOADED) == 2
    assert kinds(con) == ["setinputsizes", "executemany", "commit"]
    assert con.log[1][2] == [
        (0, Decimal("0.00"), "a", 1, dt.date(2024, 1, 1), '{"k":[1,2]}', None, 7, LOADED),
        (1, Decimal("0.25"), None, 0, dt.date(2024, 1, 2), None, None, 7, LOADED),
    ]
