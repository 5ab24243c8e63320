"""Damaged archives and awkward CSVs: what fails, what is loaded, and what the messages say.

Archive faults must fail the run with a message naming the export (and the member when known)
and leave the loaded-exports state as it was, so that the next run retries the export. Everything
else loads, with warnings and audit rows that say what and where.
"""

from __future__ import annotations

import gzip
import io
import logging
import os
import tarfile
import zipfile
from pathlib import Path

import pytest
from conftest import (
    TABLES,
    csv_bytes,
    header_of,
    loaded_keys,
    row_for,
    run_tap,
    run_tap_failing,
    select_catalog,
    write_targz,
    write_zip,
)

from tap_marina_s3.archives import ExportError

DAY = 86_400
T0 = 1_750_000_000  # file mtimes (the order of the exports)
SLIPS = TABLES["molo_slips"]
HOLIDAYS = TABLES["stellar_holidays"]
MOLO_OLD = "molo_backup_2025-06-01_08-00-00.zip"
MOLO_NEW = "molo_backup_2025-06-02_08-00-00.zip"
STELLAR_OLD = "prod_resilient_2025-06-01_09_00-DATA.sql.gz"
STELLAR_NEW = "prod_resilient_2025-06-02_09_00-DATA.sql.gz"


def slips_csv(n: int = 3, newline: str = "\r\n") -> bytes:
    return csv_bytes(header_of("molo_slips"), [row_for("molo_slips", ID=str(i)) for i in range(1, n + 1)], newline)


def holidays_csv(n: int = 3) -> bytes:
    rows = [row_for("stellar_holidays", LOCATION_ID=str(i), HOLIDAY_DATE="2025-12-25") for i in range(1, n + 1)]
    return csv_bytes(header_of("stellar_holidays"), rows)


def config(tmp_path: Path, **extra) -> dict:
    return {"molo_path": str(tmp_path / "molo"), "stellar_path": str(tmp_path / "stellar"), **extra}


def warnings_of(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


# ----------------------------------------------------------------------- archive faults
def _zip_bytes(members: dict[str, bytes], compression=zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def _targz_bytes(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _damaged_member_zip() -> bytes:
    """A zip whose directory is intact but whose member data is corrupt (CRC/deflate error)."""
    data = bytearray(_zip_bytes({"Slips.csv": slips_csv(200)}))
    header_len = 30 + len("Slips.csv")
    for i in range(header_len + 20, header_len + 60):
        data[i] ^= 0xFF
    return bytes(data)


BIG = b"a" * 4_000_000  # compresses > 100x; over the 1 MiB a member inflates before its ratio counts
FAULTS = {
    # id: (system, archive bytes, settings, expected fragments of the message)
    "not_a_zip": ("molo", b"this is not an archive\n", {}, ["neither a zip nor a gzip"]),
    "truncated_zip": ("molo", _zip_bytes({"Slips.csv": slips_csv(50)})[:-60], {}, ["not a readable zip archive"]),
    "damaged_zip_member": ("molo", _damaged_member_zip(), {}, ["'Slips.csv'", "damaged"]),
    "zip_absolute_path": (
        "molo",
        _zip_bytes({"/etc/Slips.csv": slips_csv()}),
        {},
        ["'/etc/Slips.csv'", "absolute path"],
    ),
    "zip_dotdot": ("molo", _zip_bytes({"../Slips.csv": slips_csv()}), {}, ["'../Slips.csv'", "'..'"]),
    "zip_member_too_big": (
        "molo",
        _zip_bytes({"Slips.csv": slips_csv(50)}),
        {"max_member_bytes": 1000},
        ["'Slips.csv'", "max_member_bytes"],
    ),
    "zip_ratio": (
        "molo",
        _zip_bytes({"Slips.csv": slips_csv() + BIG}),
        {"max_compression_ratio": 50},
        ["'Slips.csv'", "max_compression_ratio"],
    ),
    # tarfile reports a cut-off stream as "unexpected end of data"
    "truncated_gzip": (
        "stellar",
        _targz_bytes({"data/holidays.csv": holidays_csv(300)})[:-100],
        {},
        ["truncated gzip/tar", "unexpected end of data"],
    ),
    "gzip_bad_header": ("stellar", b"\x1f\x8b" + b"\x00" * 64, {}, ["corrupt gzip/tar"]),
    "corrupt_tar": ("stellar", gzip.compress(b"this is gzip but not a tar " * 40), {}, ["corrupt gzip/tar"]),
    "tar_absolute_path": (
        "stellar",
        _targz_bytes({"/data/holidays.csv": holidays_csv()}),
        {},
        ["'/data/holidays.csv'", "absolute path"],
    ),
    "tar_dotdot": (
        "stellar",
        _targz_bytes({"data/../../holidays.csv": holidays_csv()}),
        {},
        ["'data/../../holidays.csv'", "'..'"],
    ),
    "tar_member_too_big": (
        "stellar",
        _targz_bytes({"data/holidays.csv": holidays_csv(50)}),
        {"max_member_bytes": 500},
        ["'data/holidays.csv'", "max_member_bytes"],
    ),
    "tar_ratio": (
        "stellar",
        _targz_bytes({"data/holidays.csv": holidays_csv() + BIG}),
        {"max_compression_ratio": 50},
        ["max_compression_ratio"],
    ),
}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_archive_fault_fails_the_run_and_leaves_state(tmp_path, fault):
    system, payload, settings, fragments = FAULTS[fault]
    old, new = (MOLO_OLD, MOLO_NEW) if system == "molo" else (STELLAR_OLD, STELLAR_NEW)
    good = {"Slips.csv": slips_csv()} if system == "molo" else {"data/holidays.csv": holidays_csv()}
    writer = write_zip if system == "molo" else write_targz
    cfg = config(tmp_path, **settings, **{f"{'stellar' if system == 'molo' else 'molo'}_enabled": False})
    writer(tmp_path / system / old, good, mtime=T0)
    first = run_tap(cfg)
    assert loaded_keys(first.state, system) == [old]

    bad = tmp_path / system / new
    bad.write_bytes(payload)
    os.utime(bad, (T0 + DAY, T0 + DAY))
    error, failed = run_tap_failing(cfg, state=first.state)
    assert isinstance(error, ExportError), repr(error)
    message = str(error)
    assert message.startswith(f"{new}:"), message  # names the export ...
    for fragment in fragments:  # ... and says what (and which member, where known)
        assert fragment in message, message
    # nothing was activated, and no state after the failure records the bad export
    assert failed.of_type("ACTIVATE_VERSION") == []
    for state_message in failed.of_type("STATE"):
        assert loaded_keys(state_message["value"], system) == [old]

    # the vendor re-sends the export: the next run (same state) loads it
    writer(bad, good, mtime=T0 + 2 * DAY)
    retry = run_tap(cfg, state=first.state)
    assert loaded_keys(retry.state, system) == [old, new]
    stream = "molo_slips" if system == "molo" else "stellar_holidays"
    assert [r["_sdc_source_key"] for r in retry.records(stream)] == [new] * 3


def test_a_broken_export_opened_in_the_background_fails_the_run(tmp_path):
    """Every system's exports are fetched and opened in a background thread from the first
    request (a Stellar archive is inflated while MOLO is read). A broken Stellar export must
    still fail the run with its own message (not hang it, not be lost in that thread), activate
    nothing of Stellar, and leave the state without either export, so both are retried."""
    write_zip(tmp_path / "molo" / MOLO_OLD, {"Slips.csv": slips_csv()}, mtime=T0)
    bad = tmp_path / "stellar" / STELLAR_OLD
    bad.parent.mkdir(parents=True, exist_ok=True)
    bad.write_bytes(FAULTS["corrupt_tar"][1])
    error, failed = run_tap_failing(config(tmp_path))
    assert isinstance(error, ExportError) and str(error).startswith(f"{STELLAR_OLD}:"), error
    assert "corrupt gzip/tar" in str(error)
    assert not [m for m in failed.of_type("ACTIVATE_VERSION") if m["stream"].startswith("stellar")]
    for state_message in failed.of_type("STATE"):
        assert loaded_keys(state_message["value"], "molo") == []
        assert loaded_keys(state_message["value"], "stellar") == []


# ------------------------------------------------------------------ tables and columns
def test_missing_table_warns_and_other_tables_load(tmp_path, caplog):
    caplog.set_level(logging.INFO)
    write_zip(tmp_path / "molo" / MOLO_NEW, {"Slips.csv": slips_csv(4)}, mtime=T0)
    selected = {"molo_slips", "molo_piers", "molo_boats"}
    run = run_tap(config(tmp_path, stellar_enabled=False), catalog=select_catalog(selected))
    assert len(run.records("molo_slips")) == 4
    activated = {m["stream"] for m in run.of_type("ACTIVATE_VERSION")}
    assert activated == {"molo_slips"}
    for stream in ("molo_piers", "molo_boats"):
        (audit,) = run.audit(stream)
        assert audit["present"] is False and audit["completed"] is False
        assert audit["rows_read"] == audit["rows_emitted"] == audit["rows_rejected"] == 0
        assert audit["source_key"] == MOLO_NEW and audit["source_member"] == TABLES[stream].source_file
        warned = [w for w in warnings_of(caplog) if stream in w]
        assert len(warned) == 1 and MOLO_NEW in warned[0] and TABLES[stream].source_file in warned[0]
        assert "missing" in warned[0]
    (audit,) = run.audit("molo_slips")
    assert audit["present"] is True and audit["completed"] is True
    # the export counts as loaded: every selected table was read (or is known to be absent)
    assert loaded_keys(run.state, "molo") == [MOLO_NEW]
    assert {a["table_name"] for a in run.records("marina_load_audit")} == selected


def test_extra_and_missing_columns(tmp_path, caplog):
    caplog.set_level(logging.INFO)
    header = header_of("molo_slips")
    drop = [header[3], header[5]]  # two catalog columns the file does not have
    dropped_names = [SLIPS.columns[3].name, SLIPS.columns[5].name]
    file_header = [h for h in header if h not in drop] + ["NewVendorCol", "Another Extra"]
    rows = []
    for i in (1, 2, 3):
        row = row_for("molo_slips", ID=str(i))
        row = [v for h, v in zip(header, row) if h not in drop]
        rows.append(row + ([f"new{i}", ""] if i != 3 else ["", ""]))
    write_zip(tmp_path / "molo" / MOLO_NEW, {"Slips.csv": csv_bytes(file_header, rows)}, mtime=T0)
    run = run_tap(config(tmp_path, stellar_enabled=False), catalog=select_catalog({"molo_slips"}))
    records = run.records("molo_slips")
    assert [r["id"] for r in records] == [1, 2, 3]
    assert records[0]["_sdc_extra"] == {"NewVendorCol": "new1", "Another Extra": ""}
    assert records[1]["_sdc_extra"] == {"NewVendorCol": "new2", "Another Extra": ""}
    assert records[2]["_sdc_extra"] is None  # nothing in the extra columns
    for name in dropped_names:
        assert all(r[name.lower()] is None for r in records)
    (audit,) = run.audit("molo_slips")
    assert audit["extra_columns"] == ["NewVendorCol", "Another Extra"]
    assert audit["missing_columns"] == dropped_names
    assert audit["rows_read"] == 3 == audit["rows_emitted"] + audit["rows_rejected"]
    extra_warnings = [w for w in warnings_of(caplog) if "match no catalog column" in w]
    assert len(extra_warnings) == 1
    assert f"{MOLO_NEW}/Slips.csv" in extra_warnings[0]
    assert "NewVendorCol" in extra_warnings[0] and "Another Extra" in extra_warnings[0]
    missing_warnings = [w for w in warnings_of(caplog) if "not in the file" in w]
    assert len(missing_warnings) == 1 and f"{MOLO_NEW}/Slips.csv" in missing_warnings[0]
    assert all(name in missing_warnings[0] for name in dropped_names)


def test_header_only_member_still_reports_columns(tmp_path, caplog):
    """An empty table (header, no rows) is a complete, empty snapshot; column checks still apply."""
    caplog.set_level(logging.INFO)
    header = [*header_of("molo_slips")[:-1], "Surprise"]
    write_zip(tmp_path / "molo" / MOLO_NEW, {"Slips.csv": csv_bytes(header, [])}, mtime=T0)
    run = run_tap(config(tmp_path, stellar_enabled=False), catalog=select_catalog({"molo_slips"}))
    assert run.records("molo_slips") == []
    assert [m["stream"] for m in run.of_type("ACTIVATE_VERSION")] == ["molo_slips"]
    (audit,) = run.audit("molo_slips")
    assert audit["rows_read"] == 0 and audit["extra_columns"] == ["Surprise"]
    assert audit["missing_columns"] == [SLIPS.columns[-1].name]


def test_zero_byte_member_keeps_the_previous_snapshot(tmp_path, caplog):
    """A file without even a header is a broken export of that table, not an empty table."""
    caplog.set_level(logging.INFO)
    write_zip(
        tmp_path / "molo" / MOLO_NEW,
        {"Slips.csv": b"", "Piers.csv": csv_bytes(header_of("molo_piers"), [["1", "Pier A", "10"]])},
        mtime=T0,
    )
    run = run_tap(config(tmp_path, stellar_enabled=False), catalog=select_catalog({"molo_slips", "molo_piers"}))
    assert [m["stream"] for m in run.of_type("ACTIVATE_VERSION")] == ["molo_piers"]
    (audit,) = run.audit("molo_slips")
    assert audit["present"] is True and audit["completed"] is False and audit["rows_read"] == 0
    assert any("Slips.csv: the file is empty" in w and "keeps its previous snapshot" in w for w in warnings_of(caplog))


def test_encodings_bom_crlf_and_quoting_through_the_tap(tmp_path):
    text_cols = [c for c in SLIPS.columns if c.kind == "text"]
    a, b = text_cols[0], text_cols[1]
    header = header_of("molo_slips")
    ia, ib = header.index(a.source or a.name), header.index(b.source or b.name)

    def line(values: list[bytes]) -> bytes:
        return b",".join(values) + b"\r\n"

    def row(i: int, va: bytes, vb: bytes) -> bytes:
        fields = [b""] * len(header)
        fields[0], fields[ia], fields[ib] = str(i).encode(), va, vb
        return line(fields)

    data = (
        b"\xef\xbb\xbf"
        + line([h.encode() for h in header])
        + row(1, b"Caf\xe9 \x96 na\xefve", b"plain")  # cp1252 bytes
        + row(2, '"Zoë ""Z"" 😀"'.encode(), b'"multi\r\nline, with comma"')
        + row(3, b"M\xfcller", b"\x80 euro")  # cp1252 again
        + row(4, b"", b"  kept  ")
    )
    write_zip(tmp_path / "molo" / MOLO_NEW, {"Slips.csv": data}, mtime=T0)
    run = run_tap(config(tmp_path, stellar_enabled=False), catalog=select_catalog({"molo_slips"}))
    got = {r["id"]: (r[a.property_name], r[b.property_name]) for r in run.records("molo_slips")}
    assert got == {
        1: ("Café – naïve", "plain"),
        2: ('Zoë "Z" 😀', "multi\r\nline, with comma"),
        3: ("Müller", "€ euro"),
        4: (None, "  kept  "),
    }
    (audit,) = run.audit("molo_slips")
    assert audit["rows_decoded_cp1252"] == 2
    assert audit["missing_columns"] == [] and audit["extra_columns"] == []  # BOM not in "Id"
    assert audit["rows_read"] == 4 == audit["rows_emitted"] and audit["bytes_read"] == len(data)
    assert [r["_sdc_row_number"] for r in run.records("molo_slips")] == [1, 2, 3, 4]


def test_bad_value_in_every_column_type(tmp_path, caplog):
    caplog.set_level(logging.INFO)
    table = TABLES["molo_invoice_items"]
    bad = {"integer": "12abc", "decimal": "1.2.3", "double": "one", "date": "2025-02-31", "timestamp": "yesterday"}
    columns = {}
    for kind in bad:
        columns[kind] = next(c for c in table.columns if c.kind == kind and c.name not in table.primary_key)
    rows = [row_for(table.stream, ID="1")]
    for i, (kind, value) in enumerate(bad.items(), start=2):
        rows.append(row_for(table.stream, ID=str(i), **{columns[kind].name: value}))
    rows.append(row_for(table.stream, ID="99"))
    write_zip(tmp_path / "molo" / MOLO_NEW, {table.source_file: csv_bytes(header_of(table.stream), rows)}, mtime=T0)
    run = run_tap(config(tmp_path, stellar_enabled=False, max_reject_ratio=0.9), catalog=select_catalog({table.stream}))
    assert [r["id"] for r in run.records(table.stream)] == [1, 99]
    rejects = run.records("marina_rejects")
    assert [r["source_row_number"] for r in rejects] == [2, 3, 4, 5, 6]
    for reject, (kind, value) in zip(rejects, bad.items()):
        assert reject["errors"] == [
            {"column": columns[kind].name, "value": value, "error": reject["errors"][0]["error"]}
        ]
        assert reject["record_key"] == str(reject["source_row_number"])
        assert reject["table_name"] == table.stream and reject["source_key"] == MOLO_NEW
        # the warning says which file, row, column, value and why
        assert any(
            f"{table.source_file} row {reject['source_row_number']} of {MOLO_NEW}" in w
            and columns[kind].name in w
            and value in w
            for w in warnings_of(caplog)
        )
    (audit,) = run.audit(table.stream)
    assert (audit["rows_read"], audit["rows_emitted"], audit["rows_rejected"]) == (7, 2, 5)
    assert [m["stream"] for m in run.of_type("ACTIVATE_VERSION")] == [table.stream]


@pytest.mark.parametrize(
    ("bad_rows", "ratio", "fails"),
    [
        (1, None, False),  # 1 of 100 = 1%: at the default limit, not over it
        (2, None, True),  # 2%: over the default 1%
        (2, 0.05, False),
        (6, 0.05, True),
    ],
)
def test_max_reject_ratio(tmp_path, caplog, bad_rows, ratio, fails):
    caplog.set_level(logging.INFO)
    rows = [row_for("molo_slips", ID=str(i) if i > bad_rows else "x") for i in range(1, 101)]
    write_zip(tmp_path / "molo" / MOLO_OLD, {"Slips.csv": slips_csv(2)}, mtime=T0)
    write_zip(
        tmp_path / "molo" / MOLO_NEW,
        {
            "Slips.csv": csv_bytes(header_of("molo_slips"), rows),
            "Piers.csv": csv_bytes(header_of("molo_piers"), [row_for("molo_piers", ID="1")]),
        },
        mtime=T0 + DAY,
    )
    cfg = config(tmp_path, stellar_enabled=False)
    if ratio is not None:
        cfg["max_reject_ratio"] = ratio
    catalog = select_catalog({"molo_slips", "molo_piers"})
    first = run_tap({**cfg, "molo_path": str(tmp_path / "molo"), "molo_key_pattern": "*06-01*"}, catalog=catalog)
    assert loaded_keys(first.state, "molo") == [MOLO_OLD]
    if not fails:
        run = run_tap(cfg, state=first.state, catalog=catalog)
        (audit,) = run.audit("molo_slips")
        assert (audit["rows_read"], audit["rows_emitted"], audit["rows_rejected"]) == (100, 100 - bad_rows, bad_rows)
        assert {m["stream"] for m in run.of_type("ACTIVATE_VERSION")} == {"molo_slips", "molo_piers"}
        assert loaded_keys(run.state, "molo") == [MOLO_OLD, MOLO_NEW]
        return
    error, failed = run_tap_failing(cfg, state=first.state, catalog=catalog)
    message = str(error)
    assert "molo_slips" in message and MOLO_NEW in message and "Slips.csv" in message
    assert f"rejected {bad_rows} of 100 rows" in message and "max_reject_ratio" in message
    # no table of the export is activated, also none read before the failing one: every
    # staging table keeps the previous export ...
    assert failed.of_type("ACTIVATE_VERSION") == []
    assert len(failed.records("molo_slips")) == 100 - bad_rows
    # ... each rejected row was logged with its reason, and the state did not move
    assert sum("Rejected Slips.csv row" in w for w in warnings_of(caplog)) == bad_rows
    for state_message in failed.of_type("STATE"):
        assert loaded_keys(state_message["value"], "molo") == [MOLO_OLD]


def test_archive_file_matching_no_table_is_listed(tmp_path, caplog):
    caplog.set_level(logging.INFO)
    write_zip(
        tmp_path / "molo" / MOLO_NEW,
        {
            "Slips.csv": slips_csv(2),
            "Readme.txt": b"hello",
            "export/Unknown.csv": b"a,b\n1,2\n",
            "slips_backup.CSV": b"Id\n1\n",
        },
        mtime=T0,
    )
    write_targz(
        tmp_path / "stellar" / STELLAR_NEW,
        {
            "data/holidays.csv": holidays_csv(2),
            "data/style_photos.csv": b"id\n1\n",
            "schema.sql": b"--",
        },
        mtime=T0,
    )
    run = run_tap(config(tmp_path), catalog=select_catalog({"molo_slips", "stellar_holidays"}))
    assert len(run.records("molo_slips")) == 2 and len(run.records("stellar_holidays")) == 2
    unknown = [w for w in warnings_of(caplog) if "match no catalog table" in w]
    assert len(unknown) == 2
    molo_warning = next(w for w in unknown if w.startswith(MOLO_NEW))
    assert "3 file(s)" in molo_warning
    for name in ("Readme.txt", "export/Unknown.csv", "slips_backup.CSV"):
        assert name in molo_warning
    stellar_warning = next(w for w in unknown if w.startswith(STELLAR_NEW))
    assert "data/style_photos.csv" in stellar_warning and "schema.sql" in stellar_warning


def test_member_found_in_a_subfolder_and_by_case(tmp_path):
    """The zip may hold the CSVs in a folder, with another case of the name."""
    write_zip(tmp_path / "molo" / MOLO_NEW, {"backup/SLIPS.csv": slips_csv(2)}, mtime=T0)
    run = run_tap(config(tmp_path, stellar_enabled=False), catalog=select_catalog({"molo_slips"}))
    assert [r["_sdc_source_member"] for r in run.records("molo_slips")] == ["backup/SLIPS.csv"] * 2


def test_two_members_for_one_table_is_an_error(tmp_path):
    write_zip(tmp_path / "molo" / MOLO_NEW, {"a/Slips.csv": slips_csv(1), "b/Slips.csv": slips_csv(1)}, mtime=T0)
    error, failed = run_tap_failing(config(tmp_path, stellar_enabled=False), catalog=select_catalog({"molo_slips"}))
    assert isinstance(error, ExportError)
    assert MOLO_NEW in str(error) and "a/Slips.csv" in str(error) and "b/Slips.csv" in str(error)
    assert failed.records("molo_slips") == []
