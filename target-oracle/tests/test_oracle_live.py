"""Real load + swap against Oracle. Runs only when ORACLE_USER, ORACLE_PASSWORD and
ORACLE_DSN are set (plus ORACLE_CONFIG_DIR / ORACLE_WALLET_LOCATION / ORACLE_WALLET_PASSWORD
for an Autonomous Database wallet, ORACLE_SCHEMA for another schema)."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import os
import uuid
from decimal import Decimal

import pytest
from conftest import activate, record, schema, singer_lines, state

REQUIRED = ("ORACLE_USER", "ORACLE_PASSWORD", "ORACLE_DSN")
pytestmark = pytest.mark.skipif(
    not all(os.environ.get(v) for v in REQUIRED),
    reason="Oracle not configured: set ORACLE_USER, ORACLE_PASSWORD and ORACLE_DSN",
)

PROPS = {
    "id": {"type": ["integer", "null"], "x-sql-datatype": "NUMBER(10,0)"},
    "rate": {"type": ["number", "null"], "multipleOf": 0.01, "x-sql-datatype": "NUMBER(10,2)"},
    "name": {"type": ["string", "null"], "maxLength": 5},
    "notes": {"type": ["string", "null"]},
    "updated_at": {"type": ["string", "null"], "format": "date-time"},
    "flag": {"type": ["boolean", "null"]},
    "_sdc_extra": {"type": ["object", "null"]},
}


def config() -> dict:
    env = {
        "oracle_user": "ORACLE_USER",
        "oracle_password": "ORACLE_PASSWORD",
        "oracle_dsn": "ORACLE_DSN",
        "oracle_config_dir": "ORACLE_CONFIG_DIR",
        "oracle_wallet_location": "ORACLE_WALLET_LOCATION",
        "oracle_wallet_password": "ORACLE_WALLET_PASSWORD",
        "default_target_schema": "ORACLE_SCHEMA",
    }
    return {key: os.environ[var] for key, var in env.items() if os.environ.get(var)}


@pytest.fixture
def stream():
    import oracledb

    from marina_common.connection import oracle_from_settings

    name = f"test_{uuid.uuid4().hex[:8]}"
    yield name
    with oracledb.connect(**oracle_from_settings(config()).connect_kwargs()) as con, con.cursor() as cur:
        for table in (f"STG_{name.upper()}", f"STG_{name.upper()}__LOADING"):
            with contextlib.suppress(oracledb.DatabaseError):
                cur.execute(f"DROP TABLE {table} PURGE")


def run(messages, **extra):
    from target_oracle.target import TargetOracle

    target = TargetOracle(config={**config(), **extra})
    with contextlib.redirect_stdout(io.StringIO()):
        target.listen(io.BytesIO(singer_lines(messages)))


def rows(stream_name: str, table_suffix: str = "") -> list[tuple]:
    import oracledb

    from marina_common.connection import oracle_from_settings

    oracledb.defaults.fetch_lobs = False
    oracledb.defaults.fetch_decimals = True
    with oracledb.connect(**oracle_from_settings(config()).connect_kwargs()) as con, con.cursor() as cur:
        cur.execute(
            f"SELECT ID, RATE, NAME, NOTES, UPDATED_AT, FLAG, SDC_EXTRA, SDC_TABLE_VERSION "
            f"FROM STG_{stream_name.upper()}{table_suffix} ORDER BY ID"
        )
        return cur.fetchall()


def rec(i: int, **values) -> dict:
    base = dict.fromkeys(PROPS)
    base.update(id=i, **values)
    return base


def test_load_and_swap(stream):
    long_name = "ü" * 2500  # over 2,000: NVARCHAR2(16383) holds it (MAX_STRING_SIZE=EXTENDED, as on ADB)
    first = [
        record(
            stream,
            rec(
                1,
                rate=Decimal("12345678.99"),
                name="abc",
                notes="n" * 40000,
                updated_at="2024-03-01T10:00:00.123456",
                flag=True,
                _sdc_extra={"a": Decimal("0.10")},
            ),
            10,
        ),
        record(stream, rec(2, name="abcdefgh"), 10),
    ]
    run([schema(stream, PROPS, ["id"]), *first, activate(stream, 10), state()], batch_size_rows=1)
    got = rows(stream)
    assert got[0] == (
        1,
        Decimal("12345678.99"),
        "abc",
        "n" * 40000,
        dt.datetime(2024, 3, 1, 10, 0, 0, 123456),
        1,
        '{"a":0.10}',
        10,
    )
    assert got[1][2] == "abcdefgh"  # longer than the maxLength hint: kept whole

    # A version without ACTIVATE_VERSION leaves the snapshot.
    run([schema(stream, PROPS, ["id"]), record(stream, rec(3, name=long_name), 20)])
    assert [r[0] for r in rows(stream)] == [1, 2]
    assert [r[0] for r in rows(stream, "__LOADING")] == [3]

    # The next run discards the shadow; a complete version replaces the snapshot.
    run([schema(stream, PROPS, ["id"]), record(stream, rec(4, name=long_name), 30), activate(stream, 30), state()])
    got = rows(stream)
    assert [(r[0], r[2], r[7]) for r in got] == [(4, long_name, 30)]


def test_appends_without_version(stream):
    for _ in range(2):
        run([schema(stream, PROPS), record(stream, rec(1, rate=Decimal("1.5")))])
    assert [(r[0], r[1], r[7]) for r in rows(stream)] == [(1, Decimal("1.50"), None)] * 2
