"""Helpers shared by the tap's tests: tiny exports built in the test, and an in-process tap run."""

from __future__ import annotations

import csv
import io
import json
import os
import tarfile
import zipfile
from contextlib import redirect_stdout
from decimal import Decimal
from pathlib import Path

import pytest

from marina_common.catalog import load_catalog
from tap_marina_s3.tap import TapMarinaS3

TABLES = {t.stream: t for t in load_catalog()}


def csv_bytes(header: list[str], rows: list[list[str]], newline: str = "\n") -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator=newline)
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue().encode("utf-8")


def header_of(stream: str) -> list[str]:
    """The file header a vendor writes for a table: the catalog source header, else the name."""
    return [c.source or c.name for c in TABLES[stream].columns]


def write_zip(path: Path, members: dict[str, bytes], mtime: float | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


def write_targz(path: Path, members: dict[str, bytes], mtime: float | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


class TapRun:
    def __init__(self, messages: list[dict], lines: list[str] | None = None) -> None:
        self.messages = messages
        self.lines = lines or []  # the raw output lines (numbers as written)

    def records(self, stream: str) -> list[dict]:
        return [m["record"] for m in self.messages if m["type"] == "RECORD" and m["stream"] == stream]

    def of_type(self, kind: str, stream: str | None = None) -> list[dict]:
        return [m for m in self.messages if m["type"] == kind and (stream is None or m["stream"] == stream)]

    @property
    def state(self) -> dict | None:
        states = self.of_type("STATE")
        return states[-1]["value"] if states else None

    def audit(self, stream: str) -> list[dict]:
        return [a for a in self.records("marina_load_audit") if a["table_name"] == stream]


def _stdout() -> io.TextIOWrapper:
    """A captured stdout with a byte buffer, as the tap's message writer writes bytes."""
    return io.TextIOWrapper(io.BytesIO(), encoding="utf-8")


def _written(out: io.TextIOWrapper) -> list[str]:
    out.flush()
    return [line for line in out.buffer.getvalue().decode("utf-8").splitlines() if line.strip()]


def run_tap(config: dict, state: dict | None = None, catalog: dict | None = None) -> TapRun:
    tap = TapMarinaS3(config=config, state=state, catalog=catalog, parse_env_config=False)
    out = _stdout()
    with redirect_stdout(out):
        tap.sync_all()
    lines = _written(out)
    # Decimal: numbers are compared exactly as the tap wrote them (never through a binary float)
    return TapRun([json.loads(line, parse_float=Decimal) for line in lines], lines)


def run_tap_failing(
    config: dict, state: dict | None = None, catalog: dict | None = None
) -> tuple[BaseException, TapRun]:
    """Run a tap that is expected to fail: (the exception, what it wrote before failing)."""
    tap = TapMarinaS3(config=config, state=state, catalog=catalog, parse_env_config=False)
    out = _stdout()
    with redirect_stdout(out):
        try:
            tap.sync_all()
        except Exception as exc:
            error = exc
        else:
            raise AssertionError("the tap run did not fail")
    lines = _written(out)
    return error, TapRun([json.loads(line, parse_float=Decimal) for line in lines], lines)


def loaded_keys(state: dict | None, system: str) -> list[str]:
    """Keys of the exports the state records as loaded for a system."""
    bookmarks = (state or {}).get("bookmarks", {}).get("marina_load_audit", {})
    return [e["key"] for e in bookmarks.get("loaded_exports", {}).get(system, [])]


def select_catalog(
    streams: set[str] | None = None, deselect: dict[str, list[str]] | None = None, config: dict | None = None
) -> dict:
    """The tap's discovered catalog with only `streams` selected (None: all) and, per stream,
    some properties deselected."""
    tap = TapMarinaS3(config=config or {}, parse_env_config=False)
    catalog = tap.catalog_dict
    for entry in catalog["streams"]:
        chosen = streams is None or entry["tap_stream_id"] in streams
        for md in entry["metadata"]:
            if md["breadcrumb"] == []:
                md["metadata"]["selected"] = chosen
            elif md["breadcrumb"][-1] in (deselect or {}).get(entry["tap_stream_id"], []):
                md["metadata"]["selected"] = False
    return catalog


def member_of(stream: str, rows: list[list[str]], newline: str = "\r\n") -> tuple[str, bytes]:
    """(member name, CSV bytes) of one MOLO/Stellar table with the vendor's header."""
    return TABLES[stream].source_file, csv_bytes(header_of(stream), rows, newline)


def row_for(stream: str, **values: str) -> list[str]:
    """One CSV row for a table: blank everywhere except the given columns (by staging name)."""
    names = [c.name for c in TABLES[stream].columns]
    unknown = set(values) - set(names)
    assert not unknown, unknown
    return [values.get(n, "") for n in names]


@pytest.fixture
def folder_config(tmp_path):
    return {
        "molo_path": str(tmp_path / "molo"),
        "stellar_path": str(tmp_path / "stellar"),
    }
