"""The catalog model: every entry of the vendored catalog parses, and a bad entry names itself."""

from __future__ import annotations

import pytest
import yaml

from marina_common.catalog import (
    AUDIT,
    KINDS,
    REJECTS,
    SYSTEMS,
    Column,
    catalog_text,
    load_catalog,
    normalize_header,
    parse_catalog,
    tables_for,
)


def test_every_table_of_both_systems_is_in_the_catalog():
    tables = load_catalog()
    assert len(tables) == len(yaml.safe_load(catalog_text()))
    assert {t.system for t in tables} == set(SYSTEMS)
    assert len(tables_for("molo")) + len(tables_for("stellar")) == len(tables)
    assert len({t.stream for t in tables}) == len(tables)


@pytest.mark.parametrize(
    ("oracle_type", "kind", "precision_scale", "max_length"),
    [
        ("NUMBER(10,0)", "integer", (10, 0), None),
        ("NUMBER(12,2)", "decimal", (12, 2), None),
        ("BINARY_DOUBLE", "double", None, None),
        ("DATE", "date", None, None),
        ("TIMESTAMP", "timestamp", None, None),
        ("NVARCHAR2(255)", "text", None, 255),
        ("CHAR(1)", "text", None, 1),
        ("NCLOB", "text", None, None),
    ],
)
def test_kind_and_size_come_from_the_oracle_type(oracle_type, kind, precision_scale, max_length):
    column = Column("X", None, oracle_type)
    assert column.kind == kind
    assert column.precision_scale == precision_scale
    assert column.max_length == max_length
    assert column.kind in KINDS


def test_json_schema_follows_the_kind():
    assert Column("A", None, "NUMBER(12,2)").json_schema() == {
        "type": ["number", "null"],
        "multipleOf": 0.01,
        "x-sql-datatype": "NUMBER(12,2)",
    }
    assert Column("A", None, "NVARCHAR2(40)").json_schema() == {"type": ["string", "null"], "maxLength": 40}
    assert Column("A", None, "NCLOB").json_schema() == {"type": ["string", "null"]}
    assert Column("A", None, "DATE").json_schema()["format"] == "date"


def entry(**changes):
    base = {
        "stream": "molo_things",
        "system": "molo",
        "source_file": "Things.csv",
        "staging_table": "STG_MOLO_THINGS",
        "dw_table": "DW_MOLO_THINGS",
        "primary_key": ["ID"],
        "columns": [
            {"name": "ID", "source": "Id", "oracle_type": "NUMBER(10,0)", "nullable": True},
            {"name": "BOAT_NAME", "source": None, "oracle_type": "NVARCHAR2(50)", "nullable": False},
        ],
    }
    return yaml.safe_dump([{**base, **changes}])


def test_a_key_column_is_never_nullable_and_headers_follow_the_system_rule():
    (table,) = parse_catalog(entry())
    assert [c.nullable for c in table.columns] == [False, False]
    assert [table.header(c) for c in table.columns] == ["Id", "BoatName"]
    (stellar,) = parse_catalog(
        entry(
            stream="stellar_things",
            system="stellar",
            staging_table="STG_STELLAR_THINGS",
            dw_table="DW_STELLAR_THINGS",
        )
    )
    assert stellar.header(stellar.columns[1]) == "boat_name"
    assert stellar.name == "things"
    assert normalize_header("Boat Name") == normalize_header("BOAT_NAME") == "boatname"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"system": "other"}, "unknown system 'other'"),
        ({"staging_table": "STG_THINGS"}, "do not follow STG_/DW_"),
        ({"primary_key": ["CODE"]}, "primary key columns ['CODE'] not in columns"),
        (
            {
                "columns": [
                    {"name": "ID", "source": "Id", "oracle_type": "NUMBER(10,0)"},
                    {"name": "X", "oracle_type": "BLOB"},
                ]
            },
            "column X: unsupported oracle_type 'BLOB'",
        ),
    ],
)
def test_a_bad_entry_is_refused_naming_the_table(changes, message):
    with pytest.raises(ValueError, match=r"molo_things|column X") as failure:
        parse_catalog(entry(**changes))
    assert message in str(failure.value)


def test_side_tables_keys_are_their_columns():
    for side in (REJECTS, AUDIT):
        names = [c.name for c in side.columns]
        assert set(side.primary_key) <= set(names)
        assert side.staging_table == "STG_" + side.stream.upper()
        assert len(names) == len(set(names))
