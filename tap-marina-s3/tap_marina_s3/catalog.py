"""The vendored source catalog: one entry per table of both exports, read as data.

Everything that differs from table to table (file name, headers, types, keys) comes from
`catalog.yml` in this package. A new table is a new catalog entry, not new code.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from importlib import resources

import yaml

# libyaml's safe loader when PyYAML has it (~6x faster on the catalog), else the pure-Python one
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_NUMBER = re.compile(r"NUMBER\((\d+),(\d+)\)")
_LENGTH = re.compile(r"(?:N?VARCHAR2|N?CHAR)\((\d+)\)")

# Per system: how its exports are found and what archive format they use.
SYSTEMS: dict[str, dict[str, str]] = {
    "molo": {"key_pattern": "*.zip", "label": "MOLO (marina operations)"},
    "stellar": {"key_pattern": "*-DATA.sql.gz", "label": "Stellar Business (boat rentals)"},
}


def normalize_header(name: str) -> str:
    """Case-insensitive, `_`/space-insensitive form used to match headers to columns."""
    return name.replace("_", "").replace(" ", "").lower()


@dataclass(frozen=True)
class Column:
    name: str  # staging column name (upper case)
    source: str | None  # the CSV header the legacy code read
    oracle_type: str

    @property
    def property_name(self) -> str:
        return self.name.lower()

    @property
    def kind(self) -> str:
        """One of integer, decimal, double, date, timestamp, text."""
        t = self.oracle_type.upper()
        if m := _NUMBER.fullmatch(t):
            return "integer" if m.group(2) == "0" else "decimal"
        if t == "BINARY_DOUBLE":
            return "double"
        if t == "DATE":
            return "date"
        if t.startswith("TIMESTAMP"):
            return "timestamp"
        return "text"

    @property
    def precision_scale(self) -> tuple[int, int] | None:
        m = _NUMBER.fullmatch(self.oracle_type.upper())
        return (int(m.group(1)), int(m.group(2))) if m else None

    @property
    def max_length(self) -> int | None:
        m = _LENGTH.fullmatch(self.oracle_type.upper())
        return int(m.group(1)) if m else None

    def json_schema(self) -> dict:
        kind = self.kind
        if kind == "integer":
            return {"type": ["integer", "null"], "x-sql-datatype": self.oracle_type}
        if kind == "decimal":
            _, scale = self.precision_scale
            return {
                "type": ["number", "null"],
                "multipleOf": float(f"1e-{scale}"),
                "x-sql-datatype": self.oracle_type,
            }
        if kind == "double":
            return {"type": ["number", "null"]}
        if kind == "date":
            return {"type": ["string", "null"], "format": "date"}
        if kind == "timestamp":
            return {"type": ["string", "null"], "format": "date-time"}
        schema: dict = {"type": ["string", "null"]}
        if self.max_length:
            schema["maxLength"] = self.max_length
        return schema


@dataclass(frozen=True)
class Table:
    stream: str
    system: str
    source_file: str
    staging_table: str
    primary_key: tuple[str, ...]
    columns: tuple[Column, ...]

    @property
    def member_basename(self) -> str:
        return self.source_file.rsplit("/", 1)[-1]

    @property
    def key_properties(self) -> list[str]:
        return [k.lower() for k in self.primary_key]


@functools.cache
def load_catalog() -> tuple[Table, ...]:
    text = resources.files(__package__).joinpath("catalog.yml").read_text("utf-8")
    return tuple(
        Table(
            stream=e["stream"],
            system=e["system"],
            source_file=e["source_file"],
            staging_table=e["staging_table"],
            primary_key=tuple(e["primary_key"]),
            columns=tuple(Column(c["name"], c.get("source"), c["oracle_type"]) for c in e["columns"]),
        )
        for e in yaml.load(text, Loader=_SAFE_LOADER)  # noqa: S506 - a safe loader
    )


def tables_for(system: str) -> tuple[Table, ...]:
    return tuple(t for t in load_catalog() if t.system == system)
