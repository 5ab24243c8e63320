"""The source catalog as the generator sees it: tables, CSV headers and column types.

Loaded with `importlib.resources` from the `marina_common` package (`catalog.yml`); nothing per
table is written in code. Header rule (docs/source-formats.md §2-3): the catalog `source` header; when
it is null, MOLO gets the PascalCase of the staging name (`CITY_ID` -> `CityId`) and Stellar the
lower-case staging name, so the tap's match by normalised name is exercised.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import yaml

SYSTEMS = ("molo", "stellar")

_NUMBER = re.compile(r"NUMBER\((\d+),(\d+)\)")
_SIZED = re.compile(r"(NVARCHAR2|CHAR)\((\d+)\)")


@dataclass(frozen=True)
class ColType:
    """kind: int | bool | decimal | double | text | char | clob | flag | date | timestamp."""

    kind: str
    precision: int = 0
    scale: int = 0
    length: int | None = None

    @property
    def is_text(self) -> bool:
        return self.kind in ("text", "char", "clob", "flag")


@dataclass(frozen=True)
class Column:
    name: str
    header: str
    source: str | None
    oracle_type: str
    ctype: ColType
    nullable: bool


@dataclass(frozen=True)
class Table:
    stream: str
    system: str
    source_file: str
    primary_key: tuple[str, ...]
    columns: tuple[Column, ...]

    def index(self, name: str) -> int:
        return [c.name for c in self.columns].index(name)


def col_type(oracle_type: str, system: str) -> ColType:
    """Generator kind of a catalog `oracle_type`; Stellar NVARCHAR2(3) columns are Yes/No flags."""
    if m := _NUMBER.fullmatch(oracle_type):
        p, s = int(m[1]), int(m[2])
        if s:
            return ColType("decimal", p, s)
        return ColType("bool", 1) if p == 1 else ColType("int", p)
    if m := _SIZED.fullmatch(oracle_type):
        n = int(m[2])
        if m[1] == "CHAR":
            return ColType("char", length=n)
        return ColType("flag", length=n) if system == "stellar" and n == 3 else ColType("text", length=n)
    simple = {"BINARY_DOUBLE": "double", "NCLOB": "clob", "DATE": "date", "TIMESTAMP": "timestamp"}
    if oracle_type in simple:
        return ColType(simple[oracle_type])
    raise ValueError(f"unsupported oracle_type {oracle_type!r}")


def header_for(system: str, name: str, source: str | None) -> str:
    if source:
        return source
    if system == "molo":
        return "".join(part.capitalize() for part in name.split("_"))
    return name.lower()


def parse_catalog(entries: list[dict]) -> tuple[Table, ...]:
    tables = []
    for entry in entries:
        system = entry["system"]
        columns = tuple(
            Column(
                name=c["name"],
                header=header_for(system, c["name"], c.get("source")),
                source=c.get("source"),
                oracle_type=c["oracle_type"],
                ctype=col_type(c["oracle_type"], system),
                nullable=bool(c.get("nullable", True)) and c["name"] not in entry["primary_key"],
            )
            for c in entry["columns"]
        )
        tables.append(Table(entry["stream"], system, entry["source_file"], tuple(entry["primary_key"]), columns))
    return tuple(tables)


@lru_cache(maxsize=1)
def load_tables() -> tuple[Table, ...]:
    text = resources.files("marina_common").joinpath("catalog.yml").read_text(encoding="utf-8")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return parse_catalog(yaml.load(text, Loader=loader))
