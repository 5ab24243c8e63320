"""RECORD messages through singer-sdk's record path, in any key order or layout: exact values,
versions and batch boundaries, STATE after the rows are committed, key checks.

Lines are written compactly, as a tap writing with msgspec does, and in other layouts.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import logging
from decimal import Decimal

import pytest
import simplejson
from conftest import activate, record, schema, state
from test_duckdb_load import SLIPS, ids, slip

from target_oracle.sinks import LoadError
from target_oracle.target import TargetOracle

STREAM = "molo_slips"


def line(msg: dict) -> bytes:
    return simplejson.dumps(msg, use_decimal=True, separators=(",", ":")).encode() + b"\n"


def schema_line() -> bytes:
    return line(
        {
            "type": "SCHEMA",
            "stream": STREAM,
            "schema": {"type": "object", "properties": SLIPS},
            "key_properties": ["slip_id"],
        }
    )


def tap_record(rec: dict, version: int | None = None) -> bytes:
    """A RECORD line in the tap's key order: type, stream, version, time_extracted, record."""
    msg: dict = {"type": "RECORD", "stream": STREAM}
    if version is not None:
        msg["version"] = version
    msg["time_extracted"] = "2025-01-01T00:00:00+00:00"
    msg["record"] = rec
    return line(msg)


def activate_line(version: int) -> bytes:
    return line({"type": "ACTIVATE_VERSION", "stream": STREAM, "version": version})


def state_line(value: object) -> bytes:
    return line({"type": "STATE", "value": value})


@pytest.fixture
def run_raw(db_path):
    def run(data: bytes, **config: object) -> list[dict]:
        target = TargetOracle(config={"duckdb_path": str(db_path), **config})
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            target.listen(io.BytesIO(data))
        return [json.loads(s) for s in out.getvalue().splitlines() if s.strip()]

    return run


def test_exact_decimals_and_types(run_raw, query):
    recs = [
        slip(
            1,
            rate=Decimal("12345678.91"),
            length_ft=42.5,
            name="a",
            opened_on="2024-02-29",
            updated_at="2024-03-01 23:59:59.123456",
            flag=True,
            is_active=1,
            _sdc_extra={"Unknown Col": "x", "n": 5},
        ),
        slip(2, rate=Decimal("0.10"), updated_at="2024-03-01T10:00:00+02:00", flag=False),
        slip(3, rate=Decimal("99999999.99"), updated_at="2024-03-01T10:00:00Z", opened_on="2024-01-02T00:00:00"),
        slip(4, rate=Decimal("-0.29")),
        slip(5, rate=7),
    ]
    data = (
        schema_line() + b"".join(tap_record(r, 100) for r in recs) + activate_line(100) + state_line({"activated": 100})
    )
    run_raw(data)
    rows = query(
        "SELECT SLIP_ID, RATE, LENGTH_FT, NAME, IS_ACTIVE, OPENED_ON, UPDATED_AT, FLAG, SDC_EXTRA, "
        "SDC_TABLE_VERSION, SDC_ROW_NUMBER, SDC_LOADED_AT IS NOT NULL FROM STG_MOLO_SLIPS ORDER BY SLIP_ID"
    )
    assert [r[1] for r in rows] == [
        Decimal("12345678.91"),
        Decimal("0.10"),
        Decimal("99999999.99"),
        Decimal("-0.29"),
        Decimal("7.00"),
    ]
    assert rows[0][2:9] == (
        42.5,
        "a",
        1,
        dt.date(2024, 2, 29),
        dt.datetime(2024, 3, 1, 23, 59, 59, 123456),
        True,
        '{"Unknown Col":"x","n":5}',
    )
    assert rows[1][6:8] == (dt.datetime(2024, 3, 1, 8, 0, 0), False)  # offset -> UTC
    assert rows[2][5:7] == (dt.date(2024, 1, 2), dt.datetime(2024, 3, 1, 10, 0, 0))
    assert rows[1][8] is None
    assert {r[9] for r in rows} == {100}
    assert [r[10] for r in rows] == [1, 2, 3, 4, 5]
    assert all(r[11] for r in rows)


def test_decimals_inside_json_and_integral_decimals_stay_exact(run_raw, query):
    recs = [slip(1, _sdc_extra={"amount": Decimal("0.10")}), slip(2, is_active=Decimal("1.0"))]
    run_raw(
        schema_line() + b"".join(tap_record(r, 100) for r in recs) + activate_line(100) + state_line({"activated": 100})
    )
    assert query("SELECT SDC_EXTRA, IS_ACTIVE FROM STG_MOLO_SLIPS ORDER BY SLIP_ID") == [
        ('{"amount":0.10}', None),
        (None, 1),
    ]


def test_decimal_with_too_many_digits_fails_naming_the_row(run_raw, query, caplog):
    run_raw(schema_line() + tap_record(slip(1), 100) + activate_line(100) + state_line({"activated": 100}))
    data = schema_line() + tap_record(slip(2), 200) + tap_record(slip(3, rate=Decimal("1.234")), 200)
    data += activate_line(200) + state_line({"activated": 200})
    with caplog.at_level(logging.ERROR), pytest.raises(LoadError, match="RATE"):
        run_raw(data)
    assert ids(query) == [1]
    message = next(r.getMessage() for r in caplog.records if "Rejected row" in r.getMessage())
    assert "stream=molo_slips" in message and "row=2 " in message and "'slip_id': 3" in message


def test_any_key_order_and_layout(run_raw, query):
    data = schema_line()
    data += tap_record(slip(1, rate=Decimal("1.10")), 100)
    data += line({"stream": STREAM, "type": "RECORD", "record": slip(2, rate=Decimal("2.20")), "version": 100})
    data += line({"type": "RECORD", "stream": STREAM, "record": slip(3), "version": 100})  # version last
    data += (
        simplejson.dumps(
            {"type": "RECORD", "stream": STREAM, "version": 100, "record": slip(4)}, use_decimal=True
        ).encode()
        + b"\n"
    )  # with spaces
    data += line({"version": 100, "record": slip(5, name="v"), "type": "RECORD", "stream": STREAM})
    data += tap_record(slip(6), 100)
    data += activate_line(100) + state_line({"activated": 100})
    run_raw(data, batch_size_rows=4)
    rows = query("SELECT SLIP_ID, RATE, NAME, SDC_TABLE_VERSION FROM STG_MOLO_SLIPS ORDER BY SLIP_ID")
    assert rows == [
        (1, Decimal("1.10"), None, 100),
        (2, Decimal("2.20"), None, 100),
        (3, None, None, 100),
        (4, None, None, 100),
        (5, None, "v", 100),
        (6, None, None, 100),
    ]


def test_version_change_and_batch_boundaries(run_raw, query):
    data = schema_line() + b"".join(tap_record(slip(i), 100) for i in range(1, 8))
    data += (
        b"".join(tap_record(slip(i), 200) for i in range(10, 21)) + activate_line(200) + state_line({"activated": 200})
    )
    run_raw(data, batch_size_rows=3)
    assert ids(query) == list(range(10, 21))
    assert query("SELECT DISTINCT SDC_TABLE_VERSION FROM STG_MOLO_SLIPS") == [(200,)]
    assert "STG_MOLO_SLIPS__LOADING" not in {r[0] for r in query("SELECT table_name FROM information_schema.tables")}


def test_truncated_last_line_fails_without_activation(run_raw, query):
    run_raw(schema_line() + tap_record(slip(1), 100) + activate_line(100) + state_line({"v": 1}))
    good = schema_line() + b"".join(tap_record(slip(i), 200) for i in range(2, 6))
    truncated = tap_record(slip(6), 200)[:40]
    for data in (good + truncated, good + truncated + b"\n" + activate_line(200) + state_line({"v": 2})):
        states = []
        with pytest.raises(Exception):  # noqa: B017
            states = run_raw(data)
        assert states == []
        assert ids(query) == [1]


def test_state_only_after_the_rows_before_it_are_committed(run_raw, query, monkeypatch):
    seen = []
    original = TargetOracle._write_state_message

    def write_state(self, state):
        con = self.dialect.con
        loaded = con.execute("SELECT count(*) FROM STG_MOLO_SLIPS").fetchone()[0]
        if self.dialect.table_columns("STG_MOLO_SLIPS__LOADING") is not None:
            loaded += con.execute("SELECT count(*) FROM STG_MOLO_SLIPS__LOADING").fetchone()[0]
        seen.append((state, loaded))
        original(self, state)

    monkeypatch.setattr(TargetOracle, "_write_state_message", write_state)
    data = schema_line() + b"".join(tap_record(slip(i), 100) for i in range(1, 6)) + state_line({"n": 5})
    data += b"".join(tap_record(slip(i), 100) for i in range(6, 9)) + activate_line(100) + state_line({"n": 8})
    states = run_raw(data, batch_size_rows=2)
    assert states[-1] == {"n": 8}
    assert ids(query) == list(range(1, 9))
    # every STATE written saw all rows before it in the database (shadow, or swapped)
    for value, loaded in seen:
        assert loaded >= value["n"]
    assert seen[-1] == ({"n": 8}, 8)


def test_unknown_property_and_missing_key(run_raw, query, caplog):
    with caplog.at_level(logging.WARNING):
        run_raw(
            schema_line()
            + tap_record({**slip(1), "surprise": 1}, 100)
            + activate_line(100)
            + state_line({"activated": 100})
        )
    assert any("'surprise'" in r.getMessage() for r in caplog.records)
    rec = slip(2)
    del rec["slip_id"]
    with pytest.raises(Exception, match="key_properties"):
        run_raw(schema_line() + tap_record(rec, 200) + activate_line(200) + state_line({"activated": 200}))
    assert ids(query) == [1]


def test_wide_integers_stay_exact(run_raw, query):
    props = {"id": {"type": ["integer", "null"], "x-sql-datatype": "NUMBER(20,0)"}}
    data = line(
        {
            "type": "SCHEMA",
            "stream": "molo_big",
            "schema": {"type": "object", "properties": props},
            "key_properties": [],
        }
    )
    for n in (1, 18446744073709551615, 99999999999999999999, 12345678901234567891):
        data += line({"type": "RECORD", "stream": "molo_big", "version": 5, "record": {"id": n}})
    run_raw(
        data + line({"type": "ACTIVATE_VERSION", "stream": "molo_big", "version": 5}) + state_line({"activated": 5})
    )
    assert [r[0] for r in query("SELECT ID FROM STG_MOLO_BIG ORDER BY ID")] == [
        1,
        12345678901234567891,
        18446744073709551615,
        99999999999999999999,
    ]


def test_stream_maps_and_flattening(run_target, query):
    """RECORDs of any tap: a stream map renames the stream, drops and computes properties, and
    flattening spreads an object into columns; the version still picks the shadow table."""
    props = {
        "id": {"type": ["integer", "null"]},
        "name": {"type": ["string", "null"]},
        "dims": {"type": ["object", "null"], "properties": {"w": {"type": ["integer", "null"]}}},
    }
    boat = {"id": 1, "name": "Ada", "dims": {"w": 3}}
    msgs = [schema("molo_boats", props, ["id"]), record("molo_boats", boat, 7), activate("molo_boats", 7), state()]
    maps = {"molo_boats": {"__alias__": "molo_vessels", "label": "name + '!'", "name": None}}
    run_target(msgs, stream_maps=maps, flattening_enabled=True, flattening_max_depth=1)
    assert query("SELECT ID, LABEL, DIMS__W, SDC_TABLE_VERSION FROM STG_MOLO_VESSELS") == [(1, "Ada!", 3, 7)]
    assert "NAME" not in {row[0] for row in query("DESCRIBE STG_MOLO_VESSELS")}
