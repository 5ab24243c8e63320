"""The source catalog as data: systems, tables, columns and the bookkeeping columns.

`catalog.yml` (vendored from the shared source catalog; field meanings in
docs/source-formats.md) holds everything that differs from table to table. The tap, the sample
generator, the loader's tests, dbt's model generator and marina-ops all read it through this
module, so a new table or column is one catalog entry and nothing else.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from importlib import resources

import yaml

# libyaml's loader when PyYAML has it: the catalog is read at every tap start
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_TYPE = re.compile(r"\s*([A-Z0-9_ ]+?)\s*(?:\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\))?\s*")
_TEXT_BASES = frozenset({"NVARCHAR2", "VARCHAR2", "CHAR", "NCHAR", "NCLOB", "CLOB"})

KINDS = ("integer", "decimal", "double", "date", "timestamp", "text")


@dataclass(frozen=True)
class System:
    """One vendor's exports: how they are found and how people name them."""

    name: str  # molo, stellar: prefix of its streams and settings
    label: str  # for messages
    title: str  # for documentation: MOLO, Stellar
    key_pattern: str  # file-name pattern of one export (default of `<name>_key_pattern`)


SYSTEMS: dict[str, System] = {
    s.name: s
    for s in (
        System("molo", "MOLO (marina operations)", "MOLO", "*.zip"),
        System("stellar", "Stellar Business (boat rentals)", "Stellar", "*-DATA.sql.gz"),
    )
}


def normalize_header(name: str) -> str:
    """Case-, `_`- and space-insensitive form in which CSV headers match catalog columns."""
    return name.replace("_", "").replace(" ", "").lower()


@dataclass(frozen=True)
class Column:
    """A business column: its staging name, the CSV header it comes from and its Oracle type."""

    name: str  # staging column name (upper case)
    source: str | None  # the CSV header the legacy code read (None: matched by name)
    oracle_type: str
    nullable: bool = True
    # documentation only (dbt's column descriptions): what the legacy ETL did with the column
    note: str | None = None
    loaded: bool = True  # False: the legacy ETL never loaded it

    @functools.cached_property
    def _type(self) -> tuple[str, int | None, int | None]:
        m = _TYPE.fullmatch(self.oracle_type.upper())
        if not m:
            raise ValueError(f"column {self.name}: unsupported oracle_type {self.oracle_type!r}")
        base, p, s = m.group(1), m.group(2), m.group(3)
        if base not in _TEXT_BASES | {"NUMBER", "BINARY_DOUBLE", "DATE", "TIMESTAMP"}:
            raise ValueError(f"column {self.name}: unsupported oracle_type {self.oracle_type!r}")
        return base, int(p) if p else None, int(s or 0) if p else None

    @property
    def base_type(self) -> str:
        """NUMBER, BINARY_DOUBLE, DATE, TIMESTAMP, NVARCHAR2, CHAR, NCLOB, ..."""
        return self._type[0]

    @property
    def kind(self) -> str:
        """One of KINDS: how a value is typed, whatever the engine."""
        base, precision, scale = self._type
        if base == "NUMBER":
            if precision is None:
                return "double"
            return "integer" if scale == 0 else "decimal"
        if base == "BINARY_DOUBLE":
            return "double"
        if base in ("DATE", "TIMESTAMP"):
            return base.lower()
        return "text"

    @property
    def precision_scale(self) -> tuple[int, int] | None:
        """(precision, scale) of a NUMBER(p,s) column."""
        base, precision, scale = self._type
        return (precision, scale) if base == "NUMBER" and precision is not None else None

    @property
    def max_length(self) -> int | None:
        """Declared length of a sized text column (characters); None for LOBs and the rest."""
        base, length, _ = self._type
        return length if base in _TEXT_BASES and length is not None else None

    @property
    def is_lob(self) -> bool:
        return self.base_type in ("NCLOB", "CLOB")

    @property
    def property_name(self) -> str:
        """The Singer property (lower case)."""
        return self.name.lower()

    def json_schema(self) -> dict:
        """The Singer (JSON Schema) type of the column's property."""
        kind = self.kind
        if kind in ("integer", "decimal"):
            schema = {"type": ["integer" if kind == "integer" else "number", "null"]}
            if kind == "decimal":
                schema["multipleOf"] = float(f"1e-{self.precision_scale[1]}")
            return {**schema, "x-sql-datatype": self.oracle_type}
        if kind in ("date", "timestamp"):
            return {"type": ["string", "null"], "format": "date" if kind == "date" else "date-time"}
        if kind == "double":
            return {"type": ["number", "null"]}
        return {"type": ["string", "null"], **({"maxLength": self.max_length} if self.max_length else {})}


@dataclass(frozen=True)
class Table:
    """One table of one system's export: one stream, one STG_ table, one DW_ table."""

    stream: str  # <system>_<table>
    system: str
    source_file: str  # member of the export (Stellar: data/<table>.csv)
    staging_table: str
    dw_table: str
    primary_key: tuple[str, ...]
    columns: tuple[Column, ...]
    merge_procedure: str | None = None  # the legacy procedure the DW model replaces (documentation)

    @property
    def name(self) -> str:
        """The table's name within its system (`slips` for `molo_slips`)."""
        return self.stream.removeprefix(self.system + "_")

    @property
    def member_basename(self) -> str:
        return self.source_file.rsplit("/", 1)[-1]

    @property
    def key_properties(self) -> list[str]:
        return [k.lower() for k in self.primary_key]

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    def header(self, column: Column) -> str:
        """The CSV header of a column as the vendor writes it (docs/source-formats.md §2-3):
        the catalog's `source`, else PascalCase of the name (MOLO) or the lower-case name
        (Stellar). The tap matches either by `normalize_header`."""
        if column.source:
            return column.source
        if self.system == "molo":
            return "".join(part.capitalize() for part in column.name.split("_"))
        return column.name.lower()


def _table(entry: dict) -> Table:
    key = tuple(entry["primary_key"])
    columns = tuple(
        Column(
            c["name"],
            c.get("source"),
            c["oracle_type"],
            bool(c.get("nullable", True)) and c["name"] not in key,
            note=c.get("note"),
            loaded=c.get("loaded") is not False,
        )
        for c in entry["columns"]
    )
    table = Table(
        stream=entry["stream"],
        system=entry["system"],
        source_file=entry["source_file"],
        staging_table=entry["staging_table"],
        dw_table=entry["dw_table"],
        primary_key=key,
        columns=columns,
        merge_procedure=entry.get("merge_procedure"),
    )
    _check(table)
    return table


def _check(table: Table) -> None:
    """A catalog entry the rest of the pipeline can rely on, or a ValueError naming it."""
    stream = table.stream
    if table.system not in SYSTEMS:
        raise ValueError(f"{stream}: unknown system {table.system!r} (known: {', '.join(SYSTEMS)})")
    if not stream.startswith(table.system + "_"):
        raise ValueError(f"{stream}: stream does not start with its system")
    if table.staging_table != "STG_" + stream.upper() or table.dw_table != "DW_" + stream.upper():
        raise ValueError(f"{stream}: staging/dw table names do not follow STG_/DW_ + stream")
    names = [c.name for c in table.columns]
    if missing := [k for k in table.primary_key if k not in names]:
        raise ValueError(f"{stream}: primary key columns {missing} not in columns")
    for column in table.columns:
        column.kind  # noqa: B018 - validates the type


def parse_catalog(text: str) -> tuple[Table, ...]:
    """The tables of a catalog document (catalog.yml's format)."""
    return tuple(_table(e) for e in yaml.load(text, Loader=_SAFE_LOADER))  # noqa: S506 - a safe loader


def catalog_text() -> str:
    return resources.files(__package__).joinpath("catalog.yml").read_text("utf-8")


@functools.cache
def load_catalog() -> tuple[Table, ...]:
    """Every table of the vendored catalog, in catalog order."""
    return parse_catalog(catalog_text())


def tables_for(system: str) -> tuple[Table, ...]:
    return tuple(t for t in load_catalog() if t.system == system)


# -- bookkeeping columns ----------------------------------------------------------------------
@dataclass(frozen=True)
class Bookkeeping:
    """A column the pipeline adds (not from the vendor): its staging name, kind, description."""

    name: str
    kind: str  # one of KINDS, or boolean, json (an object) or list (an array), both kept as JSON text
    description: str

    @property
    def property_name(self) -> str:
        return self.name.lower()


# Lineage of every row of a table stream: sent by the tap as `_sdc_*` properties
# (docs/design.md §2-3), stored as SDC_* columns.
LINEAGE = (
    Bookkeeping("SDC_SOURCE_KEY", "text", "S3 key (or file) of the export"),
    Bookkeeping("SDC_SOURCE_MEMBER", "text", "member of the export the row comes from"),
    Bookkeeping("SDC_ROW_NUMBER", "integer", "data row number within the member (header excluded)"),
    Bookkeeping("SDC_EXPORTED_AT", "timestamp", "export timestamp (from the key)"),
    Bookkeeping("SDC_EXTRA", "json", "file columns that match no catalog column, as a JSON object"),
    Bookkeeping("SDC_ROW_HASH", "text", "md5 of the row's typed business values"),
)
# Added by the loader to every table it writes, the side tables included.
LOADER = (
    Bookkeeping("SDC_TABLE_VERSION", "integer", "Singer table version: the export's"),
    Bookkeeping("SDC_LOADED_AT", "timestamp", "when the loader wrote the row"),
)

# Which run, export and table a side-table row is about.
_ABOUT = (
    Bookkeeping("RUN_ID", "text", "tap run id"),
    Bookkeeping("SYSTEM", "text", "molo or stellar"),
    Bookkeeping("TABLE_NAME", "text", "stream name, e.g. molo_slips"),
    Bookkeeping("SOURCE_KEY", "text", "S3 key of the export"),
    Bookkeeping("SOURCE_MEMBER", "text", "member inside the export"),
)


@dataclass(frozen=True)
class SideTable:
    """A bookkeeping stream of the tap (not a catalog table) and its staging table."""

    stream: str
    staging_table: str
    primary_key: tuple[str, ...]
    columns: tuple[Bookkeeping, ...]
    description: str

    @property
    def key_properties(self) -> list[str]:
        return [k.lower() for k in self.primary_key]


REJECTS = SideTable(
    "marina_rejects",
    "STG_MARINA_REJECTS",
    ("RUN_ID", "TABLE_NAME", "SOURCE_KEY", "SOURCE_ROW_NUMBER"),
    (
        *_ABOUT,
        Bookkeeping("SOURCE_ROW_NUMBER", "integer", "data line number of the rejected row"),
        Bookkeeping("EXPORTED_AT", "timestamp", "export timestamp"),
        Bookkeeping("RECORD_KEY", "text", "canonical key text (design.md §4), null when the key could not be typed"),
        Bookkeeping("RAW_VALUES", "json", "JSON object header -> raw text"),
        Bookkeeping("ERRORS", "list", "JSON array of {column, value, error}"),
        Bookkeeping("REJECTED_AT", "timestamp", "when the row was rejected"),
    ),
    "One row per rejected input row, with every raw field and the reason per column.",
)

AUDIT = SideTable(
    "marina_load_audit",
    "STG_MARINA_LOAD_AUDIT",
    ("RUN_ID", "SOURCE_KEY", "TABLE_NAME"),
    (
        *_ABOUT,
        Bookkeeping("EXPORTED_AT", "timestamp", "export timestamp"),
        Bookkeeping("PRESENT", "boolean", "the table was present in the export"),
        Bookkeeping("COMPLETED", "boolean", "the member was read to the end and its rows checked"),
        Bookkeeping("ROWS_READ", "integer", "rows read = emitted + rejected"),
        Bookkeeping(
            "ROWS_COUNTED",
            "integer",
            "records counted while the file was copied, independently of the CSV parser; "
            "always rows_emitted + rows_rejected",
        ),
        Bookkeeping("ROWS_EMITTED", "integer", "rows sent to the loader"),
        Bookkeeping("ROWS_REJECTED", "integer", "rows sent to marina_rejects"),
        Bookkeeping("ROWS_DECODED_CP1252", "integer", "rows decoded with the cp1252 fallback"),
        Bookkeeping("BYTES_READ", "integer", "bytes read"),
        Bookkeeping("MISSING_COLUMNS", "list", "JSON array of catalog columns missing from the file"),
        Bookkeeping("EXTRA_COLUMNS", "list", "JSON array of file columns not in the catalog"),
        Bookkeeping("STARTED_AT", "timestamp", "start of the read"),
        Bookkeeping("FINISHED_AT", "timestamp", "end of the read"),
        Bookkeeping("TABLE_VERSION", "integer", "Singer table version of the export"),
    ),
    "One row per export and table read: counts, columns, timing; the run's state is kept with it.",
)

SIDE_TABLES = (REJECTS, AUDIT)
