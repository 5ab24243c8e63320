"""Value formats (docs/source-formats.md §5) and every reject reason, through the real reader.

A synthetic catalog table with one column per kind is read by `TableReader` (the code the tap runs
for every table, with its embedded DuckDB) and its records read back as a table stream does in
record mode (`TableRead.records`). Every case is one CSV row; all cases of a module are read in
one pass (row i+1 = case i) and each case is its own test. Expected values are written here from
the format rules, never copied from the reader's output.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import uuid
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import TABLES, csv_bytes, header_of, row_for, run_tap, write_targz, write_zip

from marina_common.catalog import Column, Table
from tap_marina_s3 import memory
from tap_marina_s3.model import Lineage, Reject
from tap_marina_s3.reader import TableReader
from tap_marina_s3.typing_query import TypingQuery

KINDS = Table(
    stream="test_kinds",
    system="molo",
    source_file="Kinds.csv",
    staging_table="STG_TEST_KINDS",
    dw_table="DW_TEST_KINDS",
    primary_key=("ID",),
    columns=(
        Column("ID", "Id", "NUMBER(10,0)"),
        Column("FLAG", "Flag", "NUMBER(1,0)"),
        Column("AMOUNT", "Amount", "NUMBER(10,2)"),
        Column("BIG", "Big", "NUMBER(20,8)"),
        Column("RATIO", "Ratio", "BINARY_DOUBLE"),
        Column("TS", "Ts", "TIMESTAMP"),
        Column("D", "D", "DATE"),
        Column("NAME", "Name", "NVARCHAR2(10)"),
        Column("NOTE", "Note", "NCLOB"),
    ),
)
HEADER = [c.source for c in KINDS.columns]
WIDTH = len(HEADER)


LINEAGE = Lineage("molo/export.zip", "Kinds.csv", "2025-11-17T08:30:00")


def read(data: bytes, tmp: Path, *, day_first: bool = False, table: Table = KINDS):
    """Read CSV bytes with the tap's reader, as a worker and then a table stream in record
    mode do: ({row number: record or Reject}, stats)."""
    reader = TableReader(table, day_first=day_first, work_dir=tmp)
    reader.prepare(io.BytesIO(data))
    done = reader.write(tmp / f"{uuid.uuid4().hex}.parquet", LINEAGE)
    out: dict[int, dict | Reject] = {r["_sdc_row_number"]: r for r in done.records()}
    out.update((r.row_number, r) for r in done.rejects())
    assert not list(tmp.iterdir()), "the read left files behind"
    return out, done.stats


def one_value_rows(cases: list[tuple[str, str, object]]) -> list[list[str]]:
    """A row per case: the tested column gets the raw text, ID the row number, the rest blank."""
    rows = []
    for i, (column, raw, _) in enumerate(cases, start=1):
        row = [""] * WIDTH
        row[0] = str(i)
        row[HEADER.index(column)] = raw
        rows.append(row)
    return rows


class Rej:
    """Expected reject: the error text must contain `reason`."""

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def __repr__(self) -> str:
        return f"Rej({self.reason!r})"


TS = dt.datetime
NULL_TOKENS = [
    "NULL",
    "null",
    "N/A",
    "n/a",
    "NONE",
    "None",
    "\\N",
    "",
    " ",
    "   ",
    "\t",
    "0000-00-00",
    "0000-00-00 00:00:00",
    " NULL ",
]
LONG = "x" * 4999 + "é"  # 5,000 characters, longer than any NVARCHAR2

CASES: list[tuple[str, str, object]] = [
    # integers, NUMBER(10,0)
    ("Id", "12", 12),
    ("Id", " 12 ", 12),
    ("Id", "+5", 5),
    ("Id", "-7", -7),
    ("Id", "1.0", 1),
    ("Id", "007", 7),
    ("Id", "9999999999", 9999999999),
    ("Id", "1,000", Rej("not a whole number")),
    ("Id", "1_000", Rej("not a whole number")),
    ("Id", "0x1F", Rej("not a whole number")),
    ("Id", "1.5", Rej("not a whole number")),
    ("Id", "1e3", Rej("not a whole number")),
    ("Id", "abc", Rej("not a whole number")),
    ("Id", "10000000000", Rej("more than 10 digits")),
    ("Id", "-12345678901", Rej("more than 10 digits")),
    # booleans in NUMBER(1,0)
    ("Flag", "TRUE", 1),
    ("Flag", "t", 1),
    ("Flag", "Yes", 1),
    ("Flag", "y", 1),
    ("Flag", "false", 0),
    ("Flag", "F", 0),
    ("Flag", "No", 0),
    ("Flag", "n", 0),
    ("Flag", "1", 1),
    ("Flag", "0", 0),
    ("Flag", "12", Rej("more than 1 digits")),
    ("Flag", "maybe", Rej("not a whole number")),
    # decimals, NUMBER(10,2) and NUMBER(20,8)
    ("Amount", "1.50", Decimal("1.50")),
    ("Amount", ".5", Decimal("0.5")),
    ("Amount", "-1.25", Decimal("-1.25")),
    ("Amount", "3", Decimal("3")),
    ("Amount", "1.500", Decimal("1.5")),
    ("Amount", " 2.75 ", Decimal("2.75")),
    ("Amount", "99999999.99", Decimal("99999999.99")),
    ("Amount", "0", Decimal("0")),
    ("Amount", "1.005", Rej("more than 2 decimal places")),
    ("Amount", "100000000", Rej("more than 8 digits before the decimal point")),
    ("Amount", "abc", Rej("not a decimal number")),
    ("Amount", "1,5", Rej("not a decimal number")),
    ("Amount", "$5", Rej("not a decimal number")),
    ("Amount", "5%", Rej("not a decimal number")),
    ("Big", "123456789012.12345678", Decimal("123456789012.12345678")),
    ("Big", "0.00000001", Decimal("0.00000001")),
    ("Big", "0.123456789", Rej("more than 8 decimal places")),
    # doubles
    ("Ratio", "1e3", 1000.0),
    ("Ratio", "1.5", 1.5),
    ("Ratio", "-2.5E-3", -0.0025),
    ("Ratio", "7", 7.0),
    ("Ratio", "nan", Rej("not a number")),
    ("Ratio", "NaN", Rej("not a number")),
    ("Ratio", "inf", Rej("not a number")),
    ("Ratio", "-Infinity", Rej("not a number")),
    ("Ratio", "1e400", Rej("not a finite number")),
    ("Ratio", "x1", Rej("not a number")),
    # timestamps
    ("Ts", "01/02/2025 13:04:05", TS(2025, 1, 2, 13, 4, 5)),
    ("Ts", "1/2/2025 1:04 PM", TS(2025, 1, 2, 13, 4)),
    ("Ts", "1/2/2025 12:04 AM", TS(2025, 1, 2, 0, 4)),
    ("Ts", "12/31/2025 11:59:59 PM", TS(2025, 12, 31, 23, 59, 59)),
    ("Ts", "2025-01-02 13:04:05", TS(2025, 1, 2, 13, 4, 5)),
    ("Ts", "2025-01-02 13:04", TS(2025, 1, 2, 13, 4)),
    ("Ts", "2025-01-02T13:04:05.123456", TS(2025, 1, 2, 13, 4, 5, 123456)),
    ("Ts", "2025-01-02T13:04:05.5", TS(2025, 1, 2, 13, 4, 5, 500000)),
    ("Ts", "2025-01-02", TS(2025, 1, 2)),
    ("Ts", "01/02/2025", TS(2025, 1, 2)),
    ("Ts", "2025/01/02", TS(2025, 1, 2)),
    ("Ts", "01-02-2025", TS(2025, 1, 2)),
    ("Ts", "01/02/2025 13:04", TS(2025, 1, 2, 13, 4)),
    ("Ts", "2025-02-30", Rej("impossible date")),
    ("Ts", "2025-13-01 00:00:00", Rej("impossible date")),
    ("Ts", "2025-01-02 25:00:00", Rej("impossible date or time")),
    ("Ts", "13/13/2025", Rej("impossible date")),
    ("Ts", "31/12/2025", Rej("impossible date")),  # month-first by default
    ("Ts", "2025-01-02T13:04:05+02:00", Rej("time-zone offsets are not accepted")),
    ("Ts", "2025-01-02T13:04:05Z", Rej("time-zone offsets are not accepted")),
    ("Ts", "2025-01-02 13:04:05 -0500", Rej("time-zone offsets are not accepted")),
    ("Ts", "garbage", Rej("not a recognised date/time format")),
    ("Ts", "Jan 2 2025", Rej("not a recognised date/time format")),
    ("Ts", "45678", Rej("not a recognised date/time format")),
    # dates
    ("D", "2025-01-02", dt.date(2025, 1, 2)),
    ("D", "01/02/2025", dt.date(2025, 1, 2)),
    ("D", "2025-01-02 00:00:00", dt.date(2025, 1, 2)),
    ("D", "01/02/2025 00:00", dt.date(2025, 1, 2)),
    ("D", "1/2/2025 12:00 AM", dt.date(2025, 1, 2)),
    ("D", "2025/12/31", dt.date(2025, 12, 31)),
    ("D", "2025-01-02 13:00:00", Rej("a time of day in a DATE column")),
    ("D", "01/02/2025 00:00:01", Rej("a time of day in a DATE column")),
    ("D", "2025-02-29", Rej("impossible date")),
    ("D", "soon", Rej("not a recognised date/time format")),
    # text: kept whole
    ("Name", "  padded  ", "  padded  "),
    ("Name", 'a "quoted", value', 'a "quoted", value'),
    ("Name", "line1\nline2", "line1\nline2"),
    ("Name", "line1\r\nline2", "line1\r\nline2"),
    ("Name", "héllo ✓ 😀 Ωμέγα", "héllo ✓ 😀 Ωμέγα"),
    ("Name", LONG, LONG),
    ("Note", LONG, LONG),
    ("Name", "0", "0"),
    ("Name", "~", "~"),
    ("Name", "'single'", "'single'"),
]
# every null token in every kind: NULL, never 0, never ''
for _column in ("Flag", "Amount", "Big", "Ratio", "Ts", "D", "Name", "Note"):
    CASES += [(_column, token, None) for token in NULL_TOKENS]


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    out, stats = read(csv_bytes(HEADER, one_value_rows(CASES)), tmp_path_factory.mktemp("values"))
    assert stats.rows_read == len(CASES) == stats.rows_emitted + stats.rows_rejected
    return out


def _json_value(column: str, record: dict):
    """A record's value as a Python value, checked to be written as its kind is on the wire."""
    value = record[column.lower()]
    if value is None:
        return None
    kind = next(c.kind for c in KINDS.columns if c.source == column)
    if kind == "timestamp":
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d+)?", value), value
        return dt.datetime.fromisoformat(value)
    if kind == "date":
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", value), value
        return dt.date.fromisoformat(value)
    if kind == "double":
        assert isinstance(value, (Decimal, int)), value  # a JSON number
        return float(value)
    return value


@pytest.mark.parametrize(
    ("index", "column", "raw", "expected"),
    [pytest.param(i, c, r, e, id=f"{c}:{r[:30]!r}") for i, (c, r, e) in enumerate(CASES, start=1)],
)
def test_value(results, index, column, raw, expected):
    got = results[index]
    if isinstance(expected, Rej):
        assert isinstance(got, Reject), f"{raw!r} in {column} was accepted as {got}"
        assert len(got.errors) == 1, got.errors
        error = got.errors[0]
        name = next(c.name for c in KINDS.columns if c.source == column)
        assert error["column"] == name
        assert error["value"] == raw  # the raw text, untouched
        assert expected.reason in error["error"]
        assert got.raw_values[column] == raw
        # the key could be typed, so the reject carries it (unless the key is what failed)
        assert got.record_key == (None if column == "Id" else str(index))
        return
    assert not isinstance(got, Reject), f"{raw!r} in {column} rejected: {getattr(got, 'errors', '')}"
    value = _json_value(column, got)
    assert value == expected and type(value) is type(expected), (value, expected)
    if expected is None:
        assert got[column.lower()] is None


def test_decimals_are_exact_in_json(results):
    """NUMBER(20,8) value that a binary float cannot hold survives digit for digit."""
    index = next(i for i, c in enumerate(CASES, start=1) if c[1] == "123456789012.12345678")
    value = results[index]["big"]
    assert value == Decimal("123456789012.12345678")
    assert Decimal(repr(float("123456789012.12345678"))) != value  # a float would have lost it


def test_day_first_flips_ambiguous_dates(tmp_path):
    cases = [
        ("Ts", "01/02/2025", TS(2025, 2, 1)),
        ("Ts", "13/01/2025 08:00", TS(2025, 1, 13, 8)),
        ("Ts", "01-02-2025", TS(2025, 2, 1)),
        ("D", "01/02/2025", dt.date(2025, 2, 1)),
        ("Ts", "2025-01-02", TS(2025, 1, 2)),  # ISO is never ambiguous
        ("Ts", "01/13/2025", Rej("impossible date")),
    ]
    out, _ = read(csv_bytes(HEADER, one_value_rows(cases)), tmp_path, day_first=True)
    for i, (column, raw, expected) in enumerate(cases, start=1):
        if isinstance(expected, Rej):
            assert isinstance(out[i], Reject) and expected.reason in out[i].errors[0]["error"], raw
        else:
            assert _json_value(column, out[i]) == expected, raw


def test_empty_primary_key_is_rejected_without_record_key(tmp_path):
    keys = ["", "NULL", " ", "\\N"]
    rows = [[key, "1"] + [""] * (WIDTH - 2) for key in keys]
    out, stats = read(csv_bytes(HEADER, rows), tmp_path)
    for row, key in enumerate(keys, start=1):
        reject = out[row]
        assert isinstance(reject, Reject), key
        assert reject.record_key is None
        assert reject.errors == [{"column": "ID", "value": key, "error": "primary key column is empty"}]
    assert stats.rows_rejected == len(keys) and stats.rows_emitted == 0


def test_wrong_field_count_short_and_long_rows(tmp_path):
    good = ["1"] + [""] * (WIDTH - 1)
    short = ["2", "1"]
    long = ["3"] + [""] * (WIDTH + 1)  # WIDTH + 2 fields
    very_long = ["4"] + ["z"] * (WIDTH + 40)
    out, stats = read(csv_bytes(HEADER, [good, short, long, very_long]), tmp_path)
    assert not isinstance(out[1], Reject)
    for row, fields, found in (
        (2, short, "2"),
        (3, long, str(WIDTH + 2)),
        (4, very_long[: WIDTH + 16], f"more than {WIDTH + 15}"),
    ):
        reject = out[row]
        assert isinstance(reject, Reject), row
        assert reject.record_key is None
        (error,) = reject.errors
        assert error["error"] == f"{found} fields, expected {WIDTH}", error
        assert reject.raw_values == {"fields": fields}  # every field read, surplus ones too
    assert stats.rows_read == 4 and stats.rows_emitted == 1 and stats.rows_rejected == 3


def test_several_bad_columns_in_one_row_are_all_listed(tmp_path):
    row = ["5", "maybe", "abc", "1.123456789", "nan", "garbage", "2025-01-02 10:00:00", "ok", ""]
    out, _ = read(csv_bytes(HEADER, [row]), tmp_path)
    reject = out[1]
    assert isinstance(reject, Reject)
    assert [e["column"] for e in reject.errors] == ["FLAG", "AMOUNT", "BIG", "RATIO", "TS", "D"]
    assert [e["value"] for e in reject.errors] == row[1:7]
    assert reject.record_key == "5"
    assert reject.raw_values == dict(zip(HEADER, row))


def _canonical(record: dict) -> str:
    return json.dumps([record[c.property_name] for c in KINDS.columns], default=str)


def test_row_hash_follows_typed_values(tmp_path):
    """Same typed values -> same hash, whatever the spelling; any canonical change -> new hash
    (NULL vs '~', NULL vs -1, NULL vs 1900-01-01, a change at the end of a long text)."""
    base = ["1", "1", "1.5", "", "2.5", "2025-01-02 03:04:05", "2025-01-02", "n", "x" * 3000]
    same = [" 1 ", "Yes", "1.50", "NULL", "25e-1", "01/02/2025 03:04:05", "01/02/2025", "n", "x" * 3000]
    changes = {
        "name ~": {"Name": "~"},
        "amount -1": {"Amount": "-1"},
        "date 1900": {"D": "1900-01-01"},
        "long text end": {"Note": "x" * 2999 + "y"},
        "ts +1us": {"Ts": "2025-01-02T03:04:05.000001"},
        "flag 0": {"Flag": "0"},
        "ratio": {"Ratio": "2.5000001"},
    }
    null_base = ["1"] + [""] * (WIDTH - 1)
    null_changes = [{"Name": "~"}, {"Amount": "-1"}, {"Amount": "0"}, {"D": "1900-01-01"}, {"Flag": "0"}]
    rows = [base, same]
    for change in changes.values():
        rows.append([change.get(h, v) for h, v in zip(HEADER, base)])
    rows.append(null_base)
    for change in null_changes:
        rows.append([change.get(h, v) for h, v in zip(HEADER, null_base)])
    out, _ = read(csv_bytes(HEADER, rows), tmp_path)
    records = [out[i] for i in range(1, len(rows) + 1)]
    assert not any(isinstance(r, Reject) for r in records), records
    hashes = [r["_sdc_row_hash"] for r in records]
    assert all(re.fullmatch(r"[0-9a-f]{32}", h) for h in hashes)
    assert hashes[0] == hashes[1]
    assert _canonical(records[0]) == _canonical(records[1])
    assert len(set(hashes[1:])) == len(hashes) - 1, "a canonical change did not change the hash"


def test_cp1252_bom_crlf_and_quotes_in_the_reader(tmp_path):
    header = ",".join(HEADER).encode()
    data = (
        b"\xef\xbb\xbf"
        + header
        + b"\r\n"
        + b"1,,,,,,,caf\xe9 \x93q\x94,\r\n"  # cp1252: e-acute and curly quotes
        + b'2,,,,,,,"say ""hi""","a\r\nb\nc"\r\n'  # doubled quotes, quoted newlines
        + "3,,,,,,,ünï,\r\n".encode()
    )
    out, stats = read(data, tmp_path)
    assert out[1]["name"] == "café “q”"
    assert out[2]["name"] == 'say "hi"' and out[2]["note"] == "a\r\nb\nc"
    assert out[3]["name"] == "ünï"
    assert stats.lines_decoded_fallback == 1
    assert stats.missing_columns == [] and stats.extra_columns == []  # the BOM did not stick to Id
    assert stats.rows_read == 3 == stats.rows_emitted


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
