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
from conftest import csv_bytes

from marina_common.catalog import Column, Table
from tap_marina_s3.model import Lineage, Reject
from tap_marina_s3.reader import TableReader

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
