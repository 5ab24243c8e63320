"""Helpers: run the real target on a list of Singer messages."""

from __future__ import annotations

import contextlib
import io
import json
import typing as t
from decimal import Decimal

import pytest
import simplejson

from target_oracle.target import TargetOracle


def singer_lines(messages: t.Iterable[dict]) -> bytes:
    """Singer JSON lines; Decimals are written with their exact digits."""
    return b"".join(simplejson.dumps(m, use_decimal=True).encode() + b"\n" for m in messages)


def schema(stream: str, properties: dict, key_properties: list[str] | None = None) -> dict:
    return {
        "type": "SCHEMA",
        "stream": stream,
        "schema": {"type": "object", "properties": properties},
        "key_properties": key_properties or [],
    }


def record(stream: str, rec: dict, version: int | None = None) -> dict:
    msg = {"type": "RECORD", "stream": stream, "record": rec}
    if version is not None:
        msg["version"] = version
    return msg


def activate(stream: str, version: int) -> dict:
    return {"type": "ACTIVATE_VERSION", "stream": stream, "version": version}


def state(value: dict | None = None) -> dict:
    """The STATE message that follows a tap's ACTIVATE_VERSIONs: the loader applies the
    activations received before it, together."""
    return {"type": "STATE", "value": value or {"activated": True}}


@pytest.fixture
def db_path(tmp_path):
    return tmp_path / "marina.duckdb"


@pytest.fixture
def run_target(db_path):
    """Run the target on messages; returns the STATE values it printed."""

    def run(messages: t.Iterable[dict], **config: t.Any) -> list[dict]:
        target = TargetOracle(config={"sqlalchemy_url": f"duckdb:///{db_path}", **config})
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            target.listen(io.BytesIO(singer_lines(messages)))
        return [json.loads(line) for line in out.getvalue().splitlines() if line.strip()]

    return run


@pytest.fixture
def query(db_path):
    """Run a query on the DuckDB file (opened read-only, after the target closed it)."""
    import duckdb

    def q(sql: str) -> list[tuple]:
        with duckdb.connect(str(db_path), read_only=True) as con:
            return con.execute(sql).fetchall()

    return q


D = Decimal
