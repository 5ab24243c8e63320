"""Nothing lost, whatever the input (issue 11): long fields anywhere, a member that is one huge
line, a tar bomb, surplus fields, settings from the environment.

Each test builds its own small export with the hostile part and checks the outcome: every row
of the file is loaded or rejected (and the audit's independent count says so), or the run fails
with an error naming the export and member, and the state stays where it was.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
import struct
import subprocess
import sys
import tarfile
import tempfile
import threading
import zipfile
import zlib
from pathlib import Path

import pytest
import yaml
from conftest import header_of, loaded_keys, member_of, row_for, run_tap, run_tap_failing, write_zip

from tap_marina_s3.archives import ExportError
from tap_marina_s3.counting import RecordCounter
from tap_marina_s3.streams import RejectRatioError

ROOT = Path(__file__).resolve().parents[2]
DAY = 86_400
T0 = 1_750_000_000
MOLO_OLD = "molo_backup_2025-06-01_08-00-00.zip"
MOLO_NEW = "molo_backup_2025-06-02_08-00-00.zip"
STELLAR_OLD = "prod_resilient_2025-06-01_09_00-DATA.sql.gz"
STELLAR_NEW = "prod_resilient_2025-06-02_09_00-DATA.sql.gz"
MB = 1 << 20


def config(tmp_path: Path, **extra) -> dict:
    return {
        "molo_path": str(tmp_path / "molo"),
        "stellar_path": str(tmp_path / "stellar"),
        "stellar_enabled": False,
        **extra,
    }


def text(n: int, seed: str = "notes") -> str:
    """n characters of text that compresses like prose (not like one repeated byte)."""
    words = [hashlib.sha1(f"{seed}{i}".encode()).hexdigest()[: 3 + i % 7] for i in range(4096)]
    out = io.StringIO()
    size = i = 0
    while size < n:
        word = words[(i * 2654435761) % 4096] + (",\n" if i % 97 == 0 else " ")
        out.write(word)
        size += len(word)
        i += 1
    return out.getvalue()[:n]


def contacts(rows: int, long: dict[int, str]) -> list[list[str]]:
    """Contacts rows 1..rows; row i's Notes is long[i] when given."""
    return [row_for("molo_contacts", ID=str(i), NOTES=long.get(i, f"note {i}")) for i in range(1, rows + 1)]


def load(tmp_path: Path, data: bytes, **settings):
    write_zip(tmp_path / "molo" / MOLO_NEW, {"Contacts.csv": data}, mtime=T0)
    from conftest import select_catalog

    catalog = select_catalog({"molo_contacts", "marina_rejects", "marina_load_audit"})
    return run_tap(config(tmp_path, **settings), catalog=catalog)


# ------------------------------------------------------------------ fields of any length
@pytest.mark.parametrize(
    ("position", "size", "newline"),
    [
        ("last", 5 * MB, "\r\n"),  # DuckDB dropped this row silently (its buffer was 4 MB)
        ("middle", 3 * MB, "\r\n"),  # DuckDB failed the run ("Maximum line size exceeded")
        ("first", 3 * MB, "\n"),
        ("only", 5 * MB, "\n"),
    ],
)
def test_a_long_field_loads_intact_in_any_position(tmp_path, position, size, newline):
    rows = {"first": 3, "middle": 5, "last": 5, "only": 1}[position]
    at = {"first": 1, "middle": 3, "last": rows, "only": 1}[position]
    notes = text(size)
    _, data = member_of("molo_contacts", contacts(rows, {at: notes}), newline)
    if position == "last":
        data = data[: -len(newline)]  # and no line end after it
    run = load(tmp_path, data)
    records = run.records("molo_contacts")
    assert [r["id"] for r in records] == list(range(1, rows + 1))
    assert records[at - 1]["notes"] == notes
    assert [r["_sdc_row_number"] for r in records] == list(range(1, rows + 1))
    (audit,) = run.audit("molo_contacts")
    assert audit["rows_counted"] == audit["rows_emitted"] == rows and audit["rows_rejected"] == 0


def test_a_field_over_max_field_bytes_rejects_its_row_with_size_hash_and_prefix(tmp_path):
    notes = text(3 * MB + 17)
    _, data = member_of("molo_contacts", contacts(5, {2: notes, 4: text(MB // 2)}))
    run = load(tmp_path, data, max_field_bytes=MB, max_reject_ratio=0.5)
    records = run.records("molo_contacts")
    # the rows after the one taken out keep their row numbers in the file
    assert [(r["id"], r["_sdc_row_number"]) for r in records] == [(1, 1), (3, 3), (4, 4), (5, 5)]
    (reject,) = run.records("marina_rejects")
    assert reject["source_row_number"] == 2 and reject["source_member"] == "Contacts.csv"
    quoted = '"' + notes + '"'  # as written in the file (the text holds commas)
    (error,) = reject["errors"]
    assert error["column"] == "Notes"
    assert f"{len(quoted):,} bytes, over max_field_bytes {MB:,}" in error["error"]
    assert hashlib.sha256(quoted.encode()).hexdigest() in error["error"]
    kept = reject["raw_values"]["Notes"]
    assert kept == {"bytes": len(quoted), "sha256": hashlib.sha256(quoted.encode()).hexdigest(), "prefix": quoted[:256]}
    assert reject["raw_values"]["Id"] == "2"  # the other fields whole
    (audit,) = run.audit("molo_contacts")
    assert (audit["rows_counted"], audit["rows_emitted"], audit["rows_rejected"]) == (5, 4, 1)


@pytest.fixture(scope="session")
def one_line_export(tmp_path_factory) -> Path:
    """A MOLO export whose Contacts.csv is a header and one 300 MB line (written once)."""
    path = tmp_path_factory.mktemp("one-line") / MOLO_NEW
    chunk = text(8 * MB, "one-line").replace("\n", " ").encode()
    with (
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf,
        zf.open("Contacts.csv", "w", force_zip64=True) as out,
    ):
        out.write(",".join(header_of("molo_contacts")).encode() + b'\r\n1,a,b,c,d,1,"')
        for _ in range(300 * MB // len(chunk)):
            out.write(chunk)
        out.write(b'",1' + b"," * (len(header_of("molo_contacts")) - 8) + b"\r\n")
    os.utime(path, (T0, T0))
    return path


def test_a_member_that_is_one_300_mb_line(tmp_path, one_line_export):
    (tmp_path / "molo").mkdir()
    os.link(one_line_export, tmp_path / "molo" / MOLO_NEW)
    from conftest import select_catalog

    catalog = select_catalog({"molo_contacts", "marina_rejects", "marina_load_audit"})
    # by default the table fails (all of its rows rejected) and the state stays
    error, failed = run_tap_failing(config(tmp_path), catalog=catalog)
    assert isinstance(error, RejectRatioError) and "rejected 1 of 1 rows" in str(error)
    assert loaded_keys(failed.state, "molo") == []
    # accepted rejects: the row is a reject that names the column and the size
    run = run_tap(config(tmp_path, max_reject_ratio="1.0"), catalog=catalog)
    assert run.records("molo_contacts") == []
    (reject,) = run.records("marina_rejects")
    (error,) = reject["errors"]
    assert error["column"] == "Notes" and "over max_field_bytes 67,108,864" in error["error"]
    assert reject["raw_values"]["Notes"]["bytes"] > 300 * MB - 8 * MB
    assert reject["raw_values"]["Id"] == "1"
    (audit,) = run.audit("molo_contacts")
    assert (audit["rows_counted"], audit["rows_emitted"], audit["rows_rejected"]) == (1, 0, 1)


def test_a_header_without_a_line_end_is_refused(tmp_path):
    data = b"Id," + text(2 * MB).replace("\n", " ").encode()
    write_zip(tmp_path / "molo" / MOLO_NEW, {"Contacts.csv": data}, mtime=T0)
    error, failed = run_tap_failing(config(tmp_path))
    assert isinstance(error, ExportError)
    assert str(error).startswith(f"{MOLO_NEW}/Contacts.csv: ") and "header row" in str(error)
    assert loaded_keys(failed.state, "molo") == []


# ------------------------------------------------------------------ rows counted twice
@pytest.mark.parametrize(
    ("data", "records"),
    [
        (b"1,a\n2,b\n", 2),
        (b"1,a\r\n\r\n2,b", 2),  # an empty line is no row; the last row has no line end
        (b'1,"a\r\nb"\r\n2,"x,""y"""\n', 2),  # quoted line ends, commas and quotes
        (b'1,30" screen\n2,5\'6"\n', 2),  # a quote inside a value does not open a quoted field
        (b"1,a\r2,b\r", 2),  # CR row ends
        (b'1,"open\n2,b\n', 1),  # an unclosed quote runs to the end of the file
        (b"  \n", 1),  # blanks are a row (rejected for its shape), not an empty line
    ],
)
def test_record_counter(data, records):
    for step in (1, 3, len(data)):  # any cut of the member into blocks
        counter = RecordCounter()
        for i in range(0, len(data), step):
            counter.feed(data[i : i + step])
        counter.finish()
        assert counter.count == records, (data, step)


def test_rows_counted_differently_fail_the_table(tmp_path):
    """Blanks and a quote opening a file: DuckDB takes the quote as text there (though not after
    a comma), the counter as the start of a quoted field. Whichever is right, the counts differ,
    so the run stops naming export, member and both counts."""
    header = ",".join(header_of("molo_contacts")).encode()
    width = len(header_of("molo_contacts"))
    rows = [b'  "1' + b"," * (width - 1), b"2" + b"," * (width - 1)]
    write_zip(tmp_path / "molo" / MOLO_NEW, {"Contacts.csv": header + b"\n" + b"\n".join(rows)}, mtime=T0)
    from conftest import select_catalog

    catalog = select_catalog({"molo_contacts", "marina_rejects", "marina_load_audit"})
    error, failed = run_tap_failing(config(tmp_path, max_reject_ratio=1), catalog=catalog)
    assert isinstance(error, ExportError), repr(error)
    message = str(error)
    assert message.startswith(
        f"{MOLO_NEW}/Contacts.csv: table molo_contacts: 1 rows counted in the file, but 1 loaded + 1 rejected = 2"
    ), message
    assert "state is left as it was" in message
    assert failed.of_type("ACTIVATE_VERSION") == [] and loaded_keys(failed.state, "molo") == []


# ------------------------------------------------------------------ rejects keep the whole row
def test_a_row_with_a_surplus_field_keeps_every_field(tmp_path):
    width = len(header_of("molo_contacts"))
    good = row_for("molo_contacts", ID="1")
    surplus = [*row_for("molo_contacts", ID="2", NOTES="n"), "surplus"]
    short = ["3", "x"]
    _, data = member_of("molo_contacts", [good, surplus, short])
    run = load(tmp_path, data, max_reject_ratio=1)
    assert [r["id"] for r in run.records("molo_contacts")] == [1]
    rejects = {r["source_row_number"]: r for r in run.records("marina_rejects")}
    assert rejects[2]["raw_values"] == {"fields": surplus}
    assert rejects[2]["errors"][0]["error"] == f"{width + 1} fields, expected {width}"
    assert rejects[3]["raw_values"] == {"fields": short}
    assert rejects[3]["errors"][0]["error"] == f"2 fields, expected {width}"
    (audit,) = run.audit("molo_contacts")
    assert (audit["rows_counted"], audit["rows_emitted"], audit["rows_rejected"]) == (3, 1, 2)


# ------------------------------------------------------------------ archive limits while inflating
def write_tar_bomb(path: Path, name: str, size: int) -> None:
    """A gzip'd tar whose member `name` is `size` zero bytes. The deflate block of a megabyte
    of zeros is made once and repeated (a full flush makes each block stand alone), so a
    2 GiB member is written in a second or two instead of being compressed."""
    header = tarfile.TarInfo(name)
    header.size = size
    head = header.tobuf(format=tarfile.GNU_FORMAT)
    total = len(head) + size + 1024  # the member, then the two empty blocks that end a tar
    total += -total % tarfile.RECORDSIZE
    zeros = bytes(MB)
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    crc = zlib.crc32(head)
    with open(path, "wb") as out:
        out.write(b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff")  # gzip header
        out.write(deflate.compress(head) + deflate.flush(zlib.Z_FULL_FLUSH))
        block = deflate.compress(zeros) + deflate.flush(zlib.Z_FULL_FLUSH)
        left = total - len(head)
        while left >= MB:
            out.write(block)
            crc = zlib.crc32(zeros, crc)
            left -= MB
        out.write(deflate.compress(bytes(left)) + deflate.flush())
        crc = zlib.crc32(bytes(left), crc)
        out.write(struct.pack("<II", crc, total & 0xFFFFFFFF))


@pytest.fixture(scope="session")
def tar_bomb(tmp_path_factory) -> Path:
    """A 2 MB Stellar export whose holidays member inflates to 2 GiB (written once)."""
    path = tmp_path_factory.mktemp("bomb") / STELLAR_NEW
    write_tar_bomb(path, "data/holidays.csv", 2 << 30)
    return path


@pytest.mark.parametrize(
    ("settings", "refusal"),
    [
        ({}, "is 2,147,483,648 bytes, over the limit of 1,073,741,824 (setting max_member_bytes)"),
        ({"max_member_bytes": 4 << 30}, "expands more than 200x"),  # the size the tar declares passes
    ],
)
def test_a_tar_bomb_is_refused_while_inflating(tmp_path, tar_bomb, monkeypatch, settings, refusal):
    folder = tmp_path / "stellar"
    folder.mkdir()
    os.link(tar_bomb, folder / STELLAR_NEW)
    os.utime(folder / STELLAR_NEW, (T0, T0))
    assert (folder / STELLAR_NEW).stat().st_size < 3 * MB
    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))  # the tap's temporary folders go here
    biggest, done = [0], threading.Event()

    def on_disk() -> int:
        size = 0
        for folder, _, files in os.walk(temp):  # skips a folder removed while it is walked
            for name in files:
                with contextlib.suppress(FileNotFoundError):  # removed since it was listed
                    size += os.stat(os.path.join(folder, name)).st_size
        return size

    def watch() -> None:  # what is on disk under the temporary folder, every few ms
        while not done.is_set():
            biggest[0] = max(biggest[0], on_disk())
            done.wait(0.002)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        error, failed = run_tap_failing({"stellar_path": str(folder), "molo_enabled": False, **settings})
    finally:
        done.set()
        watcher.join()
    assert isinstance(error, ExportError)
    message = str(error)
    assert message.startswith(f"{STELLAR_NEW}: member 'data/holidays.csv' {refusal}"), message
    after = re.search(r"refused after ([\d,]+) bytes", message)
    written = int(after[1].replace(",", "")) if after else 0
    assert written <= 8 * MB and biggest[0] <= written  # on disk: never more than that
    assert loaded_keys(failed.state, "stellar") == []


# ------------------------------------------------------------------ settings from the environment
def _env_example() -> dict[str, str]:
    values = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        if m := re.fullmatch(r"#?\s*TAP_MARINA_S3_([A-Z0-9_]+)=(.*)", line.strip()):
            values[m[1].lower()] = m[2]
    return values


def test_env_example_equals_the_tap_defaults_and_meltano_yml():
    about = json.loads(
        subprocess.run(
            [sys.executable, "-m", "tap_marina_s3.tap", "--about", "--format=json"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    )
    properties = about["settings"]["properties"]
    project = yaml.safe_load((ROOT / "meltano.yml").read_text())
    (tap,) = [p for p in project["plugins"]["extractors"] if p["name"] == "tap-marina-s3"]
    declared = {s["name"]: s for s in tap["settings"]}
    documented = _env_example()
    for name in (
        "max_reject_ratio",
        "max_field_bytes",
        "max_member_bytes",
        "max_compression_ratio",
        "typing_columns",
        "day_first",
        "mode",
    ):
        assert name in documented, name
    for name, value in documented.items():
        assert name in properties and name in declared, name
        default = properties[name].get("default")
        if default is None or isinstance(default, (dict, list)):
            continue  # no default (paths, credentials) or an example (batch_config)
        assert value == json.dumps(default).strip('"'), (name, value, default)
        # meltano.yml gives the same default, with a kind Meltano can take from the environment
        assert str(declared[name].get("value", default)).lower() == value.lower(), name
        assert declared[name]["kind"] != "decimal", name


MELTANO = ROOT / ".venv" / "bin" / "meltano"


@pytest.mark.skipif(not MELTANO.exists(), reason="the project's Meltano is not installed")
def test_settings_from_the_environment_reach_the_tap():
    env = {
        **os.environ,
        "TAP_MARINA_S3_MAX_REJECT_RATIO": "1.0",
        "TAP_MARINA_S3_MAX_COMPRESSION_RATIO": "50",
        "TAP_MARINA_S3_MAX_FIELD_BYTES": "1048576",
        "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    done = subprocess.run(
        [str(MELTANO), "config", "print", "tap-marina-s3"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    config = json.loads(done.stdout)
    assert (config["max_reject_ratio"], config["max_compression_ratio"], config["max_field_bytes"]) == (
        "1.0",
        50,
        1048576,
    )


def test_ratio_settings_given_as_strings(tmp_path):
    _, data = member_of("molo_contacts", [*contacts(3, {}), ["4", "x"]])
    run = load(tmp_path, data, max_reject_ratio="0.5", max_compression_ratio="150")
    assert len(run.records("molo_contacts")) == 3 and len(run.records("marina_rejects")) == 1
