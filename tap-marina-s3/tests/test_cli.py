"""The installed `tap-marina-s3` command: --about and --discover, checked against the catalog file
(read here with plain YAML, not through the tap's catalog module)."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest
import yaml

CATALOG = yaml.safe_load(resources.files("marina_common").joinpath("catalog.yml").read_text("utf-8"))
EXE = Path(sys.executable).with_name("tap-marina-s3")
PER_SYSTEM = ("enabled", "bucket", "path", "prefix", "key_pattern", "max_export_age_hours")
SHARED = (
    "aws_region",
    "aws_access_key_id",
    "aws_secret_access_key",
    "aws_session_token",
    "aws_profile",
    "endpoint_url",
    "mode",
    "day_first",
    "max_reject_ratio",
    "max_field_bytes",
    "max_member_bytes",
    "max_compression_ratio",
    "typing_columns",
    "late_export",
)
LINEAGE = {
    "_sdc_source_key",
    "_sdc_source_member",
    "_sdc_row_number",
    "_sdc_exported_at",
    "_sdc_extra",
    "_sdc_row_hash",
}


def cli(*args: str) -> str:
    result = subprocess.run(
        [str(EXE), *args], capture_output=True, text=True, timeout=120, cwd=Path(__file__).parent, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


@pytest.fixture(scope="module")
def discovered() -> dict:
    return json.loads(cli("--discover"))


def test_about_lists_every_setting():
    expected = {f"{s}_{p}" for s in ("molo", "stellar") for p in PER_SYSTEM} | set(SHARED)
    about = json.loads(cli("--about", "--format=json"))
    assert about["name"] == "tap-marina-s3"
    settings = about["settings"]["properties"]
    assert expected <= set(settings), expected - set(settings)
    # the rest are the SDK's own (stream maps, flattening, batch ...), none of the tap's families
    assert not [n for n in set(settings) - expected if n.startswith(("molo_", "stellar_", "aws_", "max_"))]
    assert all(settings[name].get("description") for name in expected)
    assert settings["mode"].get("enum") == ["latest", "all"] or settings["mode"].get(
        "allowed_values", settings["mode"].get("enum")
    ) == ["latest", "all"]
    assert settings["molo_key_pattern"]["default"] == "*.zip"
    assert settings["stellar_key_pattern"]["default"] == "*-DATA.sql.gz"
    assert settings["max_reject_ratio"]["default"] == 0.01
    for secret in ("aws_access_key_id", "aws_secret_access_key", "aws_session_token"):
        assert settings[secret].get("secret") is True or settings[secret].get("writeOnly") is True
    text = cli("--about")
    for name in expected:
        assert name in text


def test_discover_lists_all_streams_in_order(discovered):
    names = [s["tap_stream_id"] for s in discovered["streams"]]
    assert len(CATALOG) == 79
    assert names == [t["stream"] for t in CATALOG] + ["marina_rejects", "marina_load_audit"]
    assert sum(n.startswith("molo_") for n in names) == 50
    assert sum(n.startswith("stellar_") for n in names) == 29


def expected_schema(oracle_type: str) -> dict:
    t = oracle_type.upper()
    if m := re.fullmatch(r"NUMBER\((\d+),(\d+)\)", t):
        scale = int(m.group(2))
        if scale == 0:
            return {"type": ["integer", "null"], "x-sql-datatype": oracle_type}
        return {"type": ["number", "null"], "multipleOf": 10.0**-scale, "x-sql-datatype": oracle_type}
    if t == "BINARY_DOUBLE":
        return {"type": ["number", "null"]}
    if t == "DATE":
        return {"type": ["string", "null"], "format": "date"}
    if t.startswith("TIMESTAMP"):
        return {"type": ["string", "null"], "format": "date-time"}
    if m := re.fullmatch(r"N?(?:VAR)?CHAR2?\((\d+)\)", t):
        return {"type": ["string", "null"], "maxLength": int(m.group(1))}
    assert t == "NCLOB", oracle_type
    return {"type": ["string", "null"]}


@pytest.mark.parametrize("entry", CATALOG, ids=[t["stream"] for t in CATALOG])
def test_discovered_table_stream(discovered, entry):
    stream = next(s for s in discovered["streams"] if s["tap_stream_id"] == entry["stream"])
    keys = [k.lower() for k in entry["primary_key"]]
    assert stream["key_properties"] == keys
    root = next(m["metadata"] for m in stream["metadata"] if m["breadcrumb"] == [])
    assert root["table-key-properties"] == keys
    properties = stream["schema"]["properties"]
    columns = {c["name"].lower(): c["oracle_type"] for c in entry["columns"]}
    assert list(properties)[: len(columns)] == list(columns)  # catalog column order
    assert set(properties) == set(columns) | LINEAGE
    for name, oracle_type in columns.items():
        got, want = dict(properties[name]), expected_schema(oracle_type)
        if "multipleOf" in want:
            assert math.isclose(got.pop("multipleOf"), want.pop("multipleOf"), rel_tol=1e-12), name
        assert got == want, (name, oracle_type)
    assert properties["_sdc_row_number"]["type"] == ["integer", "null"]
    assert properties["_sdc_exported_at"]["format"] == "date-time"
    assert "object" in properties["_sdc_extra"]["type"]


def test_composite_keys(discovered):
    keys = {s["tap_stream_id"]: s["key_properties"] for s in discovered["streams"]}
    assert keys["stellar_holidays"] == ["location_id", "holiday_date"]
    assert keys["stellar_booking_accessories"] == ["booking_id", "accessory_id"]
    assert keys["stellar_customers"] == ["user_id"] and keys["stellar_style_prices"] == ["time_id"]


def test_bookkeeping_streams(discovered):
    streams = {s["tap_stream_id"]: s for s in discovered["streams"]}
    audit = streams["marina_load_audit"]["schema"]["properties"]
    for name in (
        "run_id",
        "system",
        "table_name",
        "source_key",
        "source_member",
        "exported_at",
        "present",
        "completed",
        "rows_read",
        "rows_counted",
        "rows_emitted",
        "rows_rejected",
        "rows_decoded_cp1252",
        "bytes_read",
        "missing_columns",
        "extra_columns",
        "started_at",
        "finished_at",
        "table_version",
    ):
        assert name in audit, name
    assert "boolean" in audit["present"]["type"] and "array" in audit["missing_columns"]["type"]
    assert set(streams["marina_load_audit"]["key_properties"]) == {"run_id", "source_key", "table_name"}
    rejects = streams["marina_rejects"]["schema"]["properties"]
    for name in (
        "system",
        "table_name",
        "source_key",
        "source_member",
        "source_row_number",
        "exported_at",
        "record_key",
        "raw_values",
        "errors",
        "rejected_at",
    ):
        assert name in rejects, name
    assert {"source_key", "table_name", "source_row_number"} <= set(streams["marina_rejects"]["key_properties"])
