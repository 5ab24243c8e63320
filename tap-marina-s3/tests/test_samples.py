"""Tests of the sample-export generator (tap_marina_s3.samples).

The archives are read back with the standard library and checked against the catalog with a
small value checker written here, independent of the generator's own code.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import json
import math
import os
import re
import tarfile
import zipfile
from importlib import resources
from pathlib import Path

import pytest
import yaml

from tap_marina_s3.samples import generate
from tap_marina_s3.samples.cli import main

CATALOG = yaml.safe_load(resources.files("marina_common").joinpath("catalog.yml").read_text("utf-8"))
TABLES = {t["stream"]: t for t in CATALOG}
SEED, ROWS, EXPORTS = 7, 3000, 3


# ------------------------------------------------------------------------------ reading
def read_export(out: Path, export: dict) -> dict[str, tuple[list[str], list[list[str]], bytes]]:
    """stream -> (header, rows, raw bytes) of every member of one export archive."""
    by_member = {(t["system"], t["source_file"]): t["stream"] for t in CATALOG}
    members: dict[str, bytes] = {}
    path = out / export["path"]
    if export["system"] == "molo":
        with zipfile.ZipFile(path) as zf:
            members = {n: zf.read(n) for n in zf.namelist()}
    else:
        with tarfile.open(path, "r:gz") as tf:
            members = {m.name: tf.extractfile(m).read() for m in tf.getmembers()}
    out_tables = {}
    for name, data in members.items():
        stream = by_member[(export["system"], name)]
        rows = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))
        out_tables[stream] = (rows[0], rows[1:], data)
    return out_tables


def expected_header(table: dict) -> list[str]:
    def pascal(name: str) -> str:
        return "".join(p[:1] + p[1:].lower() for p in name.split("_"))

    return [
        c["source"] or (pascal(c["name"]) if table["system"] == "molo" else c["name"].lower()) for c in table["columns"]
    ]


# ------------------------------------------------------------------ independent checker
MOLO_TS = ("%m/%d/%Y %H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S.%f", "%m/%d/%Y %I:%M:%S %p")
MOLO_DATE = ("%m/%d/%Y", "%Y-%m-%d")
NULL_TOKEN = {"molo": "NULL", "stellar": "\\N"}


def _parse(value: str, formats: tuple[str, ...]) -> dt.datetime:
    for fmt in formats:
        try:
            return dt.datetime.strptime(value, fmt)
        except ValueError:
            continue
    raise ValueError(f"{value!r} matches none of {formats}")


def canonical(system: str, oracle_type: str, value: str) -> str | None:
    """Type one raw value (raise ValueError if invalid); returns its canonical text."""
    if value == "":
        return None
    m = re.fullmatch(r"NUMBER\((\d+),(\d+)\)", oracle_type)
    is_text = oracle_type.startswith(("NVARCHAR2", "CHAR", "NCLOB"))
    if value == NULL_TOKEN[system] and not is_text:
        return None
    if m and m[2] == "0":
        p = int(m[1])
        if p == 1:
            allowed = {"True": "1", "False": "0"} if system == "molo" else {"1": "1", "0": "0"}
            return allowed[value]
        if not re.fullmatch(r"-?\d+(\.0)?", value) or len(value.split(".", maxsplit=1)[0].lstrip("-")) > p:
            raise ValueError(f"{value!r} is not a NUMBER({p},0)")
        return str(int(value.split(".", maxsplit=1)[0]))
    if m:
        p, s = int(m[1]), int(m[2])
        parts = re.fullmatch(r"(-?)(\d+)(?:\.(\d+))?", value)
        if not parts or len(parts[2].lstrip("0")) > p - s or len(parts[3] or "") > s:
            raise ValueError(f"{value!r} does not fit NUMBER({p},{s})")
        return f"{parts[1]}{int(parts[2])}.{(parts[3] or '').ljust(s, '0')}"
    if oracle_type == "BINARY_DOUBLE":
        f = float(value)
        if not math.isfinite(f):
            raise ValueError("not finite")
        return repr(f)
    if oracle_type == "DATE":
        return _parse(value, MOLO_DATE if system == "molo" else ("%Y-%m-%d",)).date().isoformat()
    if oracle_type == "TIMESTAMP":
        fmts = MOLO_TS if system == "molo" else ("%Y-%m-%d %H:%M:%S",)
        return _parse(value, fmts).strftime("%Y-%m-%d %H:%M:%S.%f")
    if system == "stellar" and oracle_type == "NVARCHAR2(3)":
        if value not in ("Yes", "No"):
            raise ValueError(f"{value!r} is not a Yes/No flag")
        return value
    if oracle_type.startswith("CHAR(") and len(value) != int(oracle_type[5:-1]):
        raise ValueError(f"{value!r} does not fill {oracle_type}")
    if value.strip().upper() in {"", "NULL", "N/A", "NONE", "\\N"} or value != value.strip():
        raise ValueError(f"text {value!r} would read as NULL or lose spaces")
    return value


def canonical_row(table: dict, row: list[str]) -> list[str | None]:
    return [canonical(table["system"], c["oracle_type"], v) for c, v in zip(table["columns"], row)]


def record_key(table: dict, row: list[str]) -> str:
    names = [c["name"] for c in table["columns"]]
    return "|".join(
        canonical(table["system"], table["columns"][names.index(k)]["oracle_type"], row[names.index(k)])
        for k in table["primary_key"]
    )


# ------------------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("samples")
    manifest = generate(out, seed=SEED, rows=ROWS, exports=EXPORTS, omit_tables=["molo_piers"], jobs=1)
    exports = [read_export(out, e) for e in manifest["exports"]]
    return out, manifest, exports


def by_system(manifest, exports, system):
    return [(e, x) for e, x in zip(manifest["exports"], exports) if e["system"] == system]


# --------------------------------------------------------------------------------- tests
def test_all_tables_with_catalog_headers(run):
    out, manifest, exports = run
    assert [(e["system"], e["version"]) for e in manifest["exports"]] == [
        (s, v) for v in range(1, EXPORTS + 1) for s in ("molo", "stellar")
    ]
    first = exports[0] | exports[1]
    assert set(first) == set(TABLES) and len(first) == 79
    for stream, (header, _, _) in first.items():
        assert header == expected_header(TABLES[stream]), stream
    assert first["molo_marina_locations"][0][7] == "CityId"  # source null -> PascalCase
    assert (out / "molo/molo_backup_2025-11-17_08-30-00.zip").exists()
    assert (out / "stellar/prod_resilient_2025-11-17_09_52-DATA.sql.gz").exists()


def test_line_endings_and_timestamps(run):
    out, manifest, exports = run
    molo, stellar = exports[0]["molo_slips"][2], exports[1]["stellar_bookings"][2]
    assert molo.count(b"\r\n") >= len(exports[0]["molo_slips"][1]) + 1
    assert b"\r\n" not in stellar
    stamps = {}
    for e in manifest["exports"]:
        mtime = (out / e["path"]).stat().st_mtime
        assert mtime == dt.datetime.fromisoformat(e["exported_at"]).replace(tzinfo=dt.UTC).timestamp()
        stamps.setdefault(e["system"], []).append(mtime)
    assert all(a < b for s in stamps.values() for a, b in itertools.pairwise(s))


def test_values_parse_for_their_types(run):
    _, _, exports = run
    seen = {"long": 0, "newline": 0, "quote": 0, "comma": 0, "non_ascii": 0, "null_token": 0, "x.0": 0}
    for export in exports:
        for stream, (_, rows, _) in export.items():
            table = TABLES[stream]
            for row in rows:
                assert len(row) == len(table["columns"]), stream
                for col, value in zip(table["columns"], row):
                    try:
                        typed = canonical(table["system"], col["oracle_type"], value)
                    except (ValueError, KeyError) as exc:
                        pytest.fail(f"{stream}.{col['name']}: {exc}")
                    not_null = col.get("nullable") is False or col["name"] in table["primary_key"]
                    assert typed is not None or not not_null, f"{stream}.{col['name']} is NULL"
                    m = re.fullmatch(r"NVARCHAR2\((\d+)\)", col["oracle_type"])
                    seen["long"] += bool(m and len(value) > int(m[1]))
                    seen["newline"] += "\n" in value
                    seen["quote"] += '"' in value
                    seen["comma"] += "," in value
                    seen["non_ascii"] += not value.isascii()
                    seen["null_token"] += value in ("NULL", "\\N")
                    seen["x.0"] += bool(re.fullmatch(r"\d+\.0", value)) and col["oracle_type"].endswith(",0)")
    assert all(seen.values()), seen


def test_primary_keys_unique(run):
    _, _, exports = run
    for export in exports:
        for stream, (_, rows, _) in export.items():
            keys = [record_key(TABLES[stream], r) for r in rows]
            assert len(keys) == len(set(keys)), stream


FOREIGN_KEYS = [  # child stream, column, parent stream
    ("molo_reservations", "SLIP_ID", "molo_slips"),
    ("molo_reservations", "BOAT_ID", "molo_boats"),
    ("molo_reservations", "CONTACT_ID", "molo_contacts"),
    ("molo_reservations", "MARINA_LOCATION_ID", "molo_marina_locations"),
    ("molo_reservations", "RESERVATION_STATUS_ID", "molo_reservation_status"),
    ("molo_slips", "PIER_ID", "molo_piers"),
    ("molo_slips", "SLIP_TYPE_ID", "molo_slip_types"),
    ("molo_boats", "BOAT_TYPE_ID", "molo_boat_types"),
    ("molo_invoices", "RESERVATION_ID", "molo_reservations"),
    ("molo_invoices", "ACCOUNT_ID", "molo_accounts"),
    ("molo_invoice_items", "INVOICE_ID", "molo_invoices"),
    ("molo_invoice_items", "ITEM_MASTER_ID", "molo_item_masters"),
    ("molo_transactions", "INVOICE_ID", "molo_invoices"),
    ("stellar_bookings", "CUSTOMER_ID", "stellar_customers"),
    ("stellar_bookings", "LOCATION_ID", "stellar_locations"),
    ("stellar_booking_boats", "BOOKING_ID", "stellar_bookings"),
    ("stellar_booking_boats", "BOAT_ID", "stellar_style_boats"),
    ("stellar_booking_payments", "BOOKING_ID", "stellar_bookings"),
    ("stellar_booking_accessories", "BOOKING_ID", "stellar_bookings"),
    ("stellar_booking_accessories", "ACCESSORY_ID", "stellar_accessories"),
    ("stellar_style_boats", "STYLE_ID", "stellar_styles"),
    ("stellar_styles", "STYLE_GROUP_ID", "stellar_style_groups"),
    ("stellar_style_prices", "TIME_ID", "stellar_style_times"),
]


@pytest.mark.parametrize(("child", "column", "parent"), FOREIGN_KEYS)
def test_foreign_keys_point_at_existing_rows(run, child, column, parent):
    _, _, exports = run
    checked = 0
    for export in exports:
        if child not in export or parent not in export:
            continue
        parent_keys = {record_key(TABLES[parent], r) for r in export[parent][1]}
        table = TABLES[child]
        i = [c["name"] for c in table["columns"]].index(column)
        for row in export[child][1]:
            value = canonical("stellar" if child.startswith("stellar") else "molo", "NUMBER(10,0)", row[i])
            if value is not None:
                assert value in parent_keys, f"{child}.{column}={value} not in {parent}"
                checked += 1
    assert checked


def test_intervals_are_ordered(run):
    _, _, exports = run
    table = TABLES["molo_reservations"]
    names = [c["name"] for c in table["columns"]]
    a, b = names.index("SCHEDULED_ARRIVAL_TIME"), names.index("SCHEDULED_DEPARTURE_TIME")
    spans = []
    for _, rows, _ in [exports[0]["molo_reservations"]]:
        for row in rows:
            start, end = canonical("molo", "TIMESTAMP", row[a]), canonical("molo", "TIMESTAMP", row[b])
            if start and end:
                assert start < end
                spans.append(dt.datetime.fromisoformat(end) - dt.datetime.fromisoformat(start))
    assert any(s > dt.timedelta(days=3) for s in spans) and any(s < dt.timedelta(days=1) for s in spans)


def test_manifest_matches_diff_of_exports(run):
    _, manifest, exports = run
    kinds: dict[str, int] = {}
    for system in ("molo", "stellar"):
        pairs = by_system(manifest, exports, system)
        for (_, prev), (entry, cur) in itertools.pairwise(pairs):
            for stream, info in entry["tables"].items():
                if not info["present"]:
                    assert stream not in cur
                    continue
                table = TABLES[stream]
                old = {record_key(table, r): r for r in prev[stream][1]}
                new = {record_key(table, r): r for r in cur[stream][1]}
                both = old.keys() & new.keys()
                changed = {k for k in both if old[k] != new[k]}
                assert set(info["inserted"]) == new.keys() - old.keys(), stream
                assert set(info["deleted"]) == old.keys() - new.keys(), stream
                assert set(info["updated"]) == changed, stream
                assert info["unchanged_count"] == len(both) - len(changed), stream
                assert info["rows"] == len(new), stream
                for k in changed:  # a real change of a typed value, not only of its spelling
                    assert canonical_row(table, old[k]) != canonical_row(table, new[k]), (stream, k)
                for kind, n in info["update_kinds"].items():
                    kinds[kind] = kinds.get(kind, 0) + n
    assert set(kinds) == {"value_change", "null_to_value", "value_to_null", "long_text_end"}, kinds
    totals = [sum(len(t.get("updated", [])) for t in e["tables"].values()) for e in manifest["exports"][2:]]
    assert all(totals)


def test_long_text_change_is_at_the_end(run):
    _, manifest, exports = run
    found = 0
    pairs = by_system(manifest, exports, "molo")
    for (_, prev), (entry, cur) in itertools.pairwise(pairs):
        for stream, info in entry["tables"].items():
            if not info.get("update_kinds", {}).get("long_text_end"):
                continue
            table = TABLES[stream]
            old = {record_key(table, r): r for r in prev[stream][1]}
            new = {record_key(table, r): r for r in cur[stream][1]}
            for k in info["updated"]:
                for a, b in zip(old[k], new[k]):
                    if a != b and len(a) > 1000 and len(a) == len(b) and a[:-1] == b[:-1]:
                        found += 1
    assert found


def test_omitted_table_is_missing_from_the_last_export_only(run):
    _, manifest, exports = run
    molo = by_system(manifest, exports, "molo")
    assert all("molo_piers" in x for _, x in molo[:-1])
    assert "molo_piers" not in molo[-1][1]
    assert molo[-1][0]["tables"]["molo_piers"] == {"source_file": "Piers.csv", "present": False}
    assert "molo_slips" in molo[-1][1]


def test_deterministic_for_a_seed(run, tmp_path):
    out, manifest, exports = run
    again = generate(tmp_path / "a", seed=SEED, rows=ROWS, exports=EXPORTS, omit_tables=["molo_piers"], jobs=2)
    assert again == manifest
    for e, x in zip(again["exports"], exports):
        assert {s: d for s, (_, _, d) in read_export(tmp_path / "a", e).items()} == {s: d for s, (_, _, d) in x.items()}
        assert (tmp_path / "a" / e["path"]).read_bytes() == (out / e["path"]).read_bytes()
    other = generate(tmp_path / "b", seed=SEED + 1, rows=ROWS, systems=["molo"])
    assert read_export(tmp_path / "b", other["exports"][0])["molo_boats"][2] != exports[0]["molo_boats"][2]


def test_row_counts_scale(tmp_path):
    small = generate(tmp_path / "s", rows=400, systems=["stellar"])
    large = generate(tmp_path / "l", rows=8000, systems=["stellar"])
    assert [e["system"] for e in small["exports"]] == ["stellar"]
    assert not (tmp_path / "s" / "molo").exists()
    n_small = {s: t["rows"] for s, t in small["exports"][0]["tables"].items()}
    n_large = {s: t["rows"] for s, t in large["exports"][0]["tables"].items()}
    assert 300 <= sum(n_small.values()) <= 600
    assert 7000 <= sum(n_large.values()) <= 8500
    assert n_large["stellar_bookings"] > 10 * n_small["stellar_bookings"]
    big = ("stellar_bookings", "stellar_booking_boats", "stellar_booking_payments", "stellar_customers")
    assert sum(n_large[s] for s in big) > 0.5 * sum(n_large.values())
    files = read_export(tmp_path / "l", large["exports"][0])
    assert {s: len(r) for s, (_, r, _) in files.items()} == n_large


def test_cli(tmp_path, capsys):
    assert main([str(tmp_path), "--rows", "300", "--systems", "molo", "--exports", "2", "--seed", "3"]) == 0
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert [e["path"] for e in manifest["exports"]] == [
        "molo/molo_backup_2025-11-17_08-30-00.zip",
        "molo/molo_backup_2025-11-18_08-30-00.zip",
    ]
    assert "manifest" in capsys.readouterr().out
    assert main([str(tmp_path), "--omit-table", "no_such_table"]) == 2
    assert main(["--show-relations"]) == 0
    assert "molo_reservations.SLIP_ID -> molo_slips" in capsys.readouterr().out
    assert sorted(os.listdir(tmp_path / "molo")) == [
        "molo_backup_2025-11-17_08-30-00.zip",
        "molo_backup_2025-11-18_08-30-00.zip",
    ]
