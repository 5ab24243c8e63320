"""Names and JSON-schema -> column mapping (both dialects), on the real catalog schemas."""

from __future__ import annotations

from pathlib import Path

import pytest

from target_oracle import naming
from target_oracle import types as ty
from target_oracle.dialects.duckdb import duckdb_type
from target_oracle.dialects.oracle_sql import EXTENDED_TEXT_CHARS, STANDARD_TEXT_CHARS, type_sql

CATALOG = Path(__file__).resolve().parents[2] / "marina-common" / "marina_common" / "catalog.yml"


def test_table_and_column_names():
    assert naming.table_name("molo_slips") == "STG_MOLO_SLIPS"
    assert naming.table_name("marina_rejects") == "STG_MARINA_REJECTS"
    assert naming.shadow_name("STG_MOLO_SLIPS") == "STG_MOLO_SLIPS__LOADING"
    assert naming.column_name("slip_id") == "SLIP_ID"
    assert naming.column_name("_sdc_row_hash") == "SDC_ROW_HASH"
    assert naming.column_name("agent:os:version") == "AGENT_OS_VERSION"


def test_long_names_fit_oracle_limit():
    table = naming.table_name("x" * 200)
    assert len(naming.shadow_name(table).encode()) <= 128
    assert naming.table_name("x" * 200) != naming.table_name("x" * 199 + "y")


@pytest.mark.parametrize(
    ("prop_schema", "oracle", "duck"),
    [
        ({"type": ["integer", "null"], "x-sql-datatype": "NUMBER(10,0)"}, "NUMBER(10,0)", "BIGINT"),
        ({"type": ["integer", "null"], "x-sql-datatype": "NUMBER(20,0)"}, "NUMBER(20,0)", "DECIMAL(20,0)"),
        ({"type": ["integer", "null"]}, "NUMBER(19,0)", "BIGINT"),
        (
            {"type": ["number", "null"], "multipleOf": 0.01, "x-sql-datatype": "NUMBER(10,2)"},
            "NUMBER(10,2)",
            "DECIMAL(10,2)",
        ),
        ({"type": ["number", "null"]}, "BINARY_DOUBLE", "DOUBLE"),
        ({"type": ["string", "null"], "maxLength": 191}, "NVARCHAR2(16383)", "VARCHAR"),
        ({"type": ["string", "null"], "maxLength": 16384}, "NCLOB", "VARCHAR"),
        ({"type": ["string", "null"]}, "NCLOB", "VARCHAR"),
        ({"type": ["string", "null"], "format": "date"}, "DATE", "DATE"),
        ({"type": ["string", "null"], "format": "date-time"}, "TIMESTAMP", "TIMESTAMP"),
        ({"anyOf": [{"type": "string", "format": "date-time"}, {"type": "null"}]}, "TIMESTAMP", "TIMESTAMP"),
        ({"type": ["boolean", "null"]}, "NUMBER(1,0)", "BOOLEAN"),
        ({"type": ["object", "null"]}, "NCLOB", "JSON"),
        ({"type": ["array", "null"], "items": {"type": "string"}}, "NCLOB", "JSON"),
        ({}, "NCLOB", "JSON"),
    ],
)
def test_type_mapping(prop_schema, oracle, duck):
    spec = ty.column_spec("c", prop_schema)
    assert type_sql(spec, EXTENDED_TEXT_CHARS) == oracle
    assert duckdb_type(spec) == duck


def test_colliding_column_names_are_an_error():
    with pytest.raises(ty.SchemaError, match="both map to column A_B"):
        ty.column_specs({"properties": {"a:b": {"type": "string"}, "a_b": {"type": "string"}}})


def test_every_catalog_column_maps():
    yaml = pytest.importorskip("yaml")
    if not CATALOG.exists():
        pytest.skip("catalog.yml not found")
    expected = {
        "NUMBER": "NUMBER",
        "NVARCHAR2": "NVARCHAR2",
        "CHAR": "NVARCHAR2",
        "NCLOB": "NCLOB",
        "BINARY_DOUBLE": "BINARY_DOUBLE",
        "DATE": "DATE",
        "TIMESTAMP": "TIMESTAMP",
    }
    for entry in yaml.safe_load(CATALOG.read_text()):
        for col in entry["columns"]:
            oracle_type = col["oracle_type"]
            base = oracle_type.split("(")[0]
            prop = json_schema_for(oracle_type)
            spec = ty.column_spec(col["name"].lower(), prop)
            assert spec.name == col["name"]
            assert type_sql(spec, EXTENDED_TEXT_CHARS).startswith(expected[base]), (entry["stream"], col["name"])
            if base == "NUMBER":
                assert type_sql(spec, EXTENDED_TEXT_CHARS) == oracle_type.replace(" ", "")
            if base in ("NVARCHAR2", "CHAR"):  # every catalog size fits even MAX_STRING_SIZE=STANDARD
                assert type_sql(spec, STANDARD_TEXT_CHARS) == "NVARCHAR2(2000)"


def json_schema_for(oracle_type: str) -> dict:
    """The tap's JSON schema for a catalog type (design.md §1)."""
    base, _, args = oracle_type.partition("(")
    args = args.rstrip(")")
    if base == "NUMBER":
        scale = int(args.split(",")[1])
        kind = "integer" if scale == 0 else "number"
        return {"type": [kind, "null"], "x-sql-datatype": oracle_type}
    if base in ("NVARCHAR2", "CHAR"):
        return {"type": ["string", "null"], "maxLength": int(args)}
    return {
        "BINARY_DOUBLE": {"type": ["number", "null"]},
        "NCLOB": {"type": ["string", "null"]},
        "DATE": {"type": ["string", "null"], "format": "date"},
        "TIMESTAMP": {"type": ["string", "null"], "format": "date-time"},
    }[base]
