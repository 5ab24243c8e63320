"""BATCH messages with Parquet files (tap-marina-s3's batch mode) against a real DuckDB file.

The Parquet files are written by DuckDB with typed columns, as the tap writes them. The same
rows sent as RECORD messages must give the same staging table, and the generic row path (the one
the Oracle dialect takes) must hand the sink the values the RECORD path would.
"""

from __future__ import annotations

import json
from decimal import Decimal

import duckdb
import pytest
from conftest import activate, record, schema, state
from test_duckdb_load import SLIPS, slip

from target_oracle.sinks import LoadError

ROWS = [
    slip(
        1,
        rate=Decimal("12.50"),
        length_ft=31.5,
        name="A-1",
        notes="x" * 5000,
        is_active=1,
        opened_on="2024-02-29",
        updated_at="2025-01-02 13:04:05.123456",
        flag=True,
        _sdc_extra={"Color": "blue", "Depth": "1.10"},
    ),
    slip(
        2, rate=Decimal("-0.01"), name="ümlaut ✓", is_active=0, opened_on="1999-12-31", updated_at="2025-12-31 23:59:59"
    ),
    slip(3),  # every other value NULL
]
PARQUET_TYPES = {  # as the tap's DuckDB types them
    "slip_id": "BIGINT",
    "rate": "DECIMAL(10,2)",
    "length_ft": "DOUBLE",
    "name": "VARCHAR",
    "notes": "VARCHAR",
    "is_active": "BIGINT",
    "opened_on": "DATE",
    "updated_at": "TIMESTAMP",
    "flag": "BOOLEAN",
    "_sdc_row_number": "BIGINT",
    "_sdc_extra": "VARCHAR",
}


def write_parquet(path, rows: list[dict], columns: dict[str, str] = PARQUET_TYPES) -> str:
    """A Parquet file of `rows` with typed columns, written by DuckDB; returns its file:// URI."""
    con = duckdb.connect()
    cols = ", ".join(f'"{c}" {t}' for c, t in columns.items())
    con.execute(f"CREATE TABLE t ({cols})")
    for row in rows:
        extra = row.get("_sdc_extra")
        typed = dict(row, _sdc_extra=None if extra is None else json.dumps(extra))  # JSON text, not minified
        values = [typed.get(c) for c in columns]
        con.execute(f"INSERT INTO t VALUES ({', '.join('?' for _ in columns)})", values)
    con.execute(f"COPY t TO '{path}' (FORMAT parquet)")
    con.close()
    return path.as_uri()


def batch(stream: str, uris: list[str], version: int | None) -> dict:
    msg = {"type": "BATCH", "stream": stream, "encoding": {"format": "parquet", "compression": None}, "manifest": uris}
    if version is not None:
        msg["version"] = version
    return msg


def staged(query, table: str = "STG_MOLO_SLIPS") -> list[tuple]:
    cols = ", ".join(c.upper().lstrip("_") for c in SLIPS)  # _sdc_* land as SDC_*
    return query(f"SELECT {cols} FROM {table} ORDER BY SLIP_ID")


def test_batch_file_lands_like_records(run_target, query, tmp_path, db_path):
    run_target(
        [
            schema("molo_slips", SLIPS, ["slip_id"]),
            *[record("molo_slips", r, 5) for r in ROWS],
            activate("molo_slips", 5),
            state(),
        ]
    )
    from_records = staged(query)
    db_path.unlink()
    uri = write_parquet(tmp_path / "slips.parquet", ROWS)
    run_target(
        [schema("molo_slips", SLIPS, ["slip_id"]), batch("molo_slips", [uri], 5), activate("molo_slips", 5), state()]
    )
    assert staged(query) == from_records
    assert len(from_records) == 3
    assert query("SELECT DISTINCT SDC_TABLE_VERSION FROM STG_MOLO_SLIPS") == [(5,)]
    assert not (tmp_path / "slips.parquet").exists()  # deleted once loaded


def test_batch_goes_through_the_shadow_table(run_target, query, tmp_path):
    """Version 2 arrives as a batch file but is never activated: version 1 stays visible."""
    run_target(
        [
            schema("molo_slips", SLIPS, ["slip_id"]),
            batch("molo_slips", [write_parquet(tmp_path / "v1.parquet", ROWS)], 1),
            activate("molo_slips", 1),
            state(),
        ]
    )
    run_target(
        [
            schema("molo_slips", SLIPS, ["slip_id"]),
            batch("molo_slips", [write_parquet(tmp_path / "v2.parquet", ROWS[:1])], 2),
        ]
    )
    assert [r[0] for r in staged(query)] == [1, 2, 3]
    run_target(
        [
            schema("molo_slips", SLIPS, ["slip_id"]),
            batch("molo_slips", [write_parquet(tmp_path / "v3.parquet", ROWS[:1])], 3),
            activate("molo_slips", 3),
            state(),
        ]
    )
    assert [r[0] for r in staged(query)] == [1]


def test_records_and_batches_of_one_version_add_up(run_target, query, tmp_path):
    run_target(
        [
            schema("molo_slips", SLIPS, ["slip_id"]),
            record("molo_slips", ROWS[0], 7),
            batch("molo_slips", [write_parquet(tmp_path / "b.parquet", ROWS[1:])], 7),
            activate("molo_slips", 7),
            state(),
        ]
    )
    assert [r[0] for r in staged(query)] == [1, 2, 3]


def test_a_value_that_does_not_fit_fails_the_load(run_target, query, tmp_path):
    too_wide = dict(PARQUET_TYPES, rate="DECIMAL(12,4)")
    rows = [slip(1, rate=Decimal("1.2345"))]
    with pytest.raises(Exception, match=r"(?i)rate|decimal|cast"):
        run_target(
            [
                schema("molo_slips", SLIPS, ["slip_id"]),
                batch("molo_slips", [write_parquet(tmp_path / "w.parquet", rows, too_wide)], 1),
                activate("molo_slips", 1),
                state(),
            ]
        )


def test_missing_and_non_parquet_files_are_errors(run_target, tmp_path):
    with pytest.raises(LoadError, match="does not exist"):
        run_target(
            [schema("molo_slips", SLIPS, ["slip_id"]), batch("molo_slips", [(tmp_path / "gone.parquet").as_uri()], 1)]
        )
    msg = batch("molo_slips", [(tmp_path / "x.jsonl").as_uri()], 1)
    msg["encoding"] = {"format": "jsonl", "compression": None}
    with pytest.raises(LoadError, match="Parquet"):
        run_target([schema("molo_slips", SLIPS, ["slip_id"]), msg])
