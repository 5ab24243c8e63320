"""The reader's paths around the values: real catalog tables through the whole tap, what record
mode writes on the wire and batch mode's files hold, the memory limit, how a file is scanned,
the UTF-8 check. The value cases and the reading helper are test_values.py's."""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import TABLES, csv_bytes, header_of, row_for, run_tap, write_targz, write_zip
from test_values import CASES, HEADER, KINDS, LINEAGE, WIDTH, one_value_rows, read

from marina_common.catalog import Column, Table
from tap_marina_s3 import memory
from tap_marina_s3.model import Reject
from tap_marina_s3.typing_query import TypingQuery


# ------------------------------------------------------------------- through the whole tap
def test_rejects_and_values_through_the_tap(tmp_path):
    """Real catalog tables in real archives: records, rejects (with all their fields) and audit."""
    holidays = TABLES["stellar_holidays"]
    names = [c.name for c in holidays.columns]
    date_col = "HOLIDAY_DATE"
    assert holidays.primary_key == ("LOCATION_ID", date_col)
    molo = next(
        t
        for t in TABLES.values()
        if t.system == "molo" and t.primary_key == ("ID",) and any(c.kind == "decimal" for c in t.columns)
    )
    dec_col = next(c for c in molo.columns if c.kind == "decimal")
    p, s = dec_col.precision_scale
    exact = "1" * (p - s - 1) + "." + "3" * s  # all digits of NUMBER(p,s): no float holds it
    slips = [
        row_for(molo.stream, ID="1", **{dec_col.name: exact}),
        row_for(molo.stream, ID="2", **{dec_col.name: "1." + "1" * (s + 1)}),
        row_for(molo.stream, ID="", **{dec_col.name: "abc"}),
    ]
    hol = [
        row_for("stellar_holidays", LOCATION_ID="7", HOLIDAY_DATE="2025-12-25"),
        row_for("stellar_holidays", LOCATION_ID="7", HOLIDAY_DATE="2025-12-25 10:30:00"),
        row_for("stellar_holidays", LOCATION_ID="8", HOLIDAY_DATE="12/26/2025"),
    ]
    assert TABLES["stellar_booking_accessories"].primary_key == ("BOOKING_ID", "ACCESSORY_ID")
    acc = [row_for("stellar_booking_accessories", BOOKING_ID="9", ACCESSORY_ID=" 04", QTY="x", PRICE="1.999")]
    molo_key = "molo_backup_2025-03-01_10-00-00.zip"
    write_zip(tmp_path / "molo" / molo_key, {molo.source_file: csv_bytes(header_of(molo.stream), slips, "\r\n")})
    stellar_key = "prod_resilient_2025-03-01_11_00-DATA.sql.gz"
    write_targz(
        tmp_path / "stellar" / stellar_key,
        {
            "data/holidays.csv": csv_bytes(header_of("stellar_holidays"), hol),
            "data/booking_accessories.csv": csv_bytes(header_of("stellar_booking_accessories"), acc),
        },
    )
    run = run_tap(
        {"molo_path": str(tmp_path / "molo"), "stellar_path": str(tmp_path / "stellar"), "max_reject_ratio": 1}
    )
    (slip,) = run.records(molo.stream)
    assert slip[dec_col.property_name] == Decimal(exact)
    raw_line = next(line for line in run.lines if f'"stream":"{molo.stream}"' in line and "RECORD" in line)
    assert f'"{dec_col.property_name}":{exact}' in raw_line.replace(" ", "")
    assert slip["_sdc_source_key"] == molo_key and slip["_sdc_source_member"] == molo.source_file
    assert slip["_sdc_row_number"] == 1 and slip["_sdc_exported_at"].startswith("2025-03-01T10:00:00")

    good = run.records("stellar_holidays")
    assert [(r["location_id"], r["holiday_date"]) for r in good] == [(7, "2025-12-25"), (8, "2025-12-26")]

    rejects = {(r["table_name"], r["source_row_number"]): r for r in run.records("marina_rejects")}
    assert set(rejects) == {
        (molo.stream, 2),
        (molo.stream, 3),
        ("stellar_holidays", 2),
        ("stellar_booking_accessories", 1),
    }
    r = rejects[(molo.stream, 2)]
    assert r["system"] == "molo" and r["source_key"] == molo_key and r["source_member"] == molo.source_file
    assert r["record_key"] == "2"
    assert r["errors"] == [
        {"column": dec_col.name, "value": "1." + "1" * (s + 1), "error": f"more than {s} decimal places"}
    ]
    assert r["raw_values"][dec_col.source or dec_col.name] == "1." + "1" * (s + 1)
    r = rejects[(molo.stream, 3)]
    assert r["record_key"] is None
    assert {e["column"] for e in r["errors"]} == {"ID", dec_col.name}
    r = rejects[("stellar_holidays", 2)]
    assert r["system"] == "stellar" and r["source_member"] == "data/holidays.csv"
    assert r["record_key"] is None  # the key itself (a DATE with a time) could not be typed
    assert r["errors"][0]["column"] == date_col
    r = rejects[("stellar_booking_accessories", 1)]
    assert r["record_key"] == "9|4"  # composite key, canonical texts joined by |
    assert [(e["column"], e["value"]) for e in r["errors"]] == [("QTY", "x"), ("PRICE", "1.999")]
    for stream, read_, emitted in (
        (molo.stream, 3, 1),
        ("stellar_holidays", 3, 2),
        ("stellar_booking_accessories", 1, 0),
    ):
        (audit,) = run.audit(stream)
        assert (audit["rows_read"], audit["rows_emitted"], audit["rows_rejected"]) == (read_, emitted, read_ - emitted)
    assert names == ["LOCATION_ID", date_col]


# -- on the wire: what record mode writes, and what batch mode's files hold -----------------
def _wire(record: dict) -> str:
    """A record as the tap's message writer writes it in a RECORD message."""
    from singer_sdk.singerlib import RecordMessage

    from tap_marina_s3.tap import TapMarinaS3

    message = RecordMessage(stream="test_kinds", record=record, version=1)
    return bytes(TapMarinaS3.message_writer_class().format_message(message)).decode("utf-8")


def test_record_messages_on_the_wire(tmp_path):
    """Decimals are JSON numbers with every digit, doubles JSON numbers, timestamps and dates
    ISO 8601 as DuckDB writes them (the JSON the row hash is computed from), _sdc_extra a JSON
    object, the row hash an md5: pinned on the written bytes."""
    header = [*HEADER, "Surplus"]
    row = ["1", "1", "1.50", "123456789012.12345678", "-2.5E-3", "01/02/2025 13:04:05.5", "2025-01-02", "n", "x"]
    out, _ = read(csv_bytes(header, [[*row, "kept"]]), tmp_path)
    line = _wire(out[1])
    assert '"amount":1.5,' in line and '"big":123456789012.12345678,' in line
    assert '"ratio":-0.0025,' in line and '"id":1,' in line and '"flag":1,' in line
    assert '"ts":"2025-01-02 13:04:05.5",' in line and '"d":"2025-01-02",' in line
    assert '"_sdc_extra":{"Surplus":"kept"},' in line
    assert '"_sdc_exported_at":"2025-11-17T08:30:00",' in line
    assert re.search(r'"_sdc_row_hash":"[0-9a-f]{32}"', line)
    record = json.loads(line, parse_float=Decimal)["record"]
    assert record["big"] == Decimal("123456789012.12345678")
    assert (record["_sdc_source_key"], record["_sdc_source_member"]) == (LINEAGE.source_key, LINEAGE.member)


def _every_kind_row(table: Table, i: int) -> list[str]:
    """A row with a value in every column, each of its column's kind."""
    samples = {
        "integer": str(i),
        "decimal": "1.5",
        "double": "2.25",
        "timestamp": f"01/0{i}/2025 13:04:05",
        "date": f"2025-01-0{i}",
        "text": f"t{i} ✓",
    }
    return [samples[c.kind] for c in table.columns]


def test_batch_files_hold_what_record_messages_carry(tmp_path):
    """The same export read by the tap in record mode and in batch mode: every value, lineage
    column, row number and row hash of the RECORD messages is in the BATCH's Parquet file."""
    import duckdb

    table = TABLES["molo_invoice_items"]
    assert {c.kind for c in table.columns} == {"integer", "decimal", "double", "timestamp", "date", "text"}
    rows = [[*_every_kind_row(table, i), f"extra {i}"] for i in (1, 2)]
    rows.append(["3"] + [""] * len(table.columns))  # NULL everywhere but the key
    data = csv_bytes([*header_of(table.stream), "Surplus"], rows)
    write_zip(tmp_path / "molo" / "molo_backup_2025-03-01_10-00-00.zip", {table.source_file: data})
    config = {"molo_path": str(tmp_path / "molo"), "stellar_enabled": False}
    records = run_tap(config).records(table.stream)
    batch_run = run_tap({**config, "batch_config": batch_config(tmp_path / "batches")})
    (batch,) = batch_run.of_type("BATCH", table.stream)
    cursor = duckdb.connect().execute(
        f"SELECT * FROM read_parquet('{batch['manifest'][0].removeprefix('file://')}') ORDER BY _sdc_row_number"
    )
    names = [d[0] for d in cursor.description]
    files = [dict(zip(names, row)) for row in cursor.fetchall()]
    assert len(records) == len(files) == 3
    for record, row in zip(records, files):
        assert record.keys() == row.keys()
        for column in table.columns:
            assert _from_record(column, record[column.property_name]) == row[column.property_name], column.name
        assert record["_sdc_extra"] == (json.loads(row["_sdc_extra"]) if row["_sdc_extra"] else None)
        assert record["_sdc_exported_at"] == row["_sdc_exported_at"].isoformat()
        for name in ("_sdc_source_key", "_sdc_source_member", "_sdc_row_number", "_sdc_row_hash"):
            assert record[name] == row[name], name
    assert records[0]["_sdc_extra"] == {"Surplus": "extra 1"} and records[2]["_sdc_extra"] is None


def batch_config(root: Path) -> dict:
    return {"encoding": {"format": "parquet"}, "storage": {"root": root.as_uri()}}


def _from_record(column: Column, value):
    """A RECORD's JSON value as the Python value the Parquet file gives."""
    if value is None:
        return None
    if column.kind == "timestamp":
        return dt.datetime.fromisoformat(value)
    if column.kind == "date":
        return dt.date.fromisoformat(value)
    if column.kind == "double":
        return float(value)
    return value


def test_a_table_that_needs_more_memory_is_typed_again_under_the_full_limit(tmp_path, monkeypatch, caplog):
    """A table is typed under a memory limit sized by its width (so that DuckDB drops the CSV
    buffers it has read); one that needs more is typed again under the full limit, and its
    records and rejects are the same."""
    data = csv_bytes(HEADER, one_value_rows(CASES) * 20)
    caplog.set_level("INFO", logger="tap-marina-s3")
    expected, _ = read(data, tmp_path)
    assert "read again" not in caplog.text  # the sized limit is enough for this table
    assert any(isinstance(item, Reject) for item in expected.values())
    assert any(not isinstance(item, Reject) for item in expected.values())

    monkeypatch.setattr(memory, "TYPING_LIMIT_MB", (1, 0))  # too small for any table
    monkeypatch.setattr(memory, "ROW_GROUP_MB", 0)
    again, _ = read(data, tmp_path)
    assert again == expected
    assert f"{KINDS.stream}: read again under DuckDB's full memory limit" in caplog.text


def _recorded_queries(monkeypatch) -> list[tuple[bool, str]]:
    """(strict, which) of every typing query the reader runs: "good rows" or "rejects"."""
    queries: list[tuple[bool, str]] = []
    good_rows, rejects = TypingQuery.good_rows, TypingQuery.rejects

    def recording_good_rows(self, lineage):
        queries.append((self.strict, "good rows"))
        return good_rows(self, lineage)

    def recording_rejects(self):
        queries.append((self.strict, "rejects"))
        return rejects(self)

    monkeypatch.setattr(TypingQuery, "good_rows", recording_good_rows)
    monkeypatch.setattr(TypingQuery, "rejects", recording_rejects)
    return queries


def _records_and_rejects(out: dict) -> tuple[list[dict], list[Reject]]:
    items = [out[n] for n in sorted(out)]
    return [i for i in items if not isinstance(i, Reject)], [i for i in items if isinstance(i, Reject)]


def _note_rows(notes: dict[int, str]) -> list[list[str]]:
    rows = [[str(i)] + [""] * (WIDTH - 1) for i in range(1, 6)]
    for index, note in notes.items():
        rows[index][HEADER.index("Note")] = note
    return rows


def test_crlf_rows_with_lf_in_quoted_fields_are_typed_by_the_parallel_scan(tmp_path, monkeypatch):
    """DuckDB's strict parser takes LF as the newline when the first rows hold a quoted LF, and
    then rejects the CRLF row ends. The reader turns those row ends into LF (values untouched)
    so that the file is typed by the strict, parallel scan."""
    queries = _recorded_queries(monkeypatch)
    data = csv_bytes(HEADER, _note_rows({0: "two\nlines", 3: "a \r b"}), newline="\r\n")
    records, rejects = _records_and_rejects(read(data, tmp_path)[0])
    assert rejects == []
    assert [(r["_sdc_row_number"], r["note"]) for r in records] == [
        (1, "two\nlines"),
        (2, None),
        (3, None),
        (4, "a \r b"),
        (5, None),
    ]
    assert queries and all(strict is True for strict, _ in queries)


@pytest.mark.parametrize("bad_row", [False, True])
def test_a_file_that_is_not_strict_csv_is_counted_and_checked_for_rejects_only_when_needed(
    tmp_path, monkeypatch, bad_row
):
    """A CRLF inside a quoted field of such a file keeps it as it is: it is typed by the padded
    serial scan, the CRLF kept in the value. Its rows are still counted first, so the second
    typing pass that finds rejects runs only when some row was not written."""
    queries = _recorded_queries(monkeypatch)
    rows = _note_rows({0: "two\nlines", 2: "three\r\nlines"})
    if bad_row:
        rows[3][HEADER.index("Amount")] = "x"
    data = csv_bytes(HEADER, rows, newline="\r\n")
    records, rejects = _records_and_rejects(read(data, tmp_path)[0])
    notes = {r["_sdc_row_number"]: r["note"] for r in records}
    assert (notes[1], notes[3]) == ("two\nlines", "three\r\nlines")
    assert queries and all(strict is False for strict, _ in queries)  # the serial, padded scan
    assert ((False, "rejects") in queries) is bad_row
    assert [r.row_number for r in rejects] == ([4] if bad_row else [])
    assert len(records) == (4 if bad_row else 5)


def test_utf8_check_in_slices_keeps_a_character_cut_by_a_slice_boundary():
    from tap_marina_s3.transcode import UTF8_SLICE, _is_utf8

    text = b"a" * (UTF8_SLICE - 1) + "✓ naïve\n".encode()  # ✓ spans the first slice boundary
    assert _is_utf8(text) and _is_utf8(b"plain ascii\n")
    assert not _is_utf8(text + b"caf\xe9\n")  # cp1252, not UTF-8
    assert not _is_utf8(b"a" * (UTF8_SLICE - 1) + b"\xe2\x9c")  # cut short at the end
