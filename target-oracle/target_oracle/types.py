"""JSON schema -> column specs, and per-batch value conversion (design.md §1).

A :class:`ColumnSpec` is the dialect-neutral description of one staging column. The
dialects map it to DDL (``dialects/duckdb.py``, ``dialects/oracle_sql.py``).

Values are converted per batch and per column (one list comprehension per column), never
per record. A value that cannot be converted raises :class:`ValueConversionError` naming the
column, the row (index in the batch) and the value, so a failed row is never lost silently.
"""

from __future__ import annotations

import datetime as dt
import re
import typing as t
from dataclasses import dataclass
from decimal import Decimal

import simplejson

from target_oracle import naming

INTEGER = "integer"
DECIMAL = "decimal"
DOUBLE = "double"
STRING = "string"
DATE = "date"
TIMESTAMP = "timestamp"
BOOLEAN = "boolean"
JSON = "json"

_SQL_NUMBER = re.compile(r"^\s*NUMBER\s*\(\s*(\d+)\s*(?:,\s*(-?\d+)\s*)?\)\s*$", re.IGNORECASE)
MAX_DECIMAL_PRECISION = 38


@dataclass(frozen=True)
class ColumnSpec:
    """One staging column: its name, the property it comes from, and its kind."""

    name: str
    prop: str | None  # None for loader-added columns
    kind: str
    precision: int | None = None
    scale: int | None = None
    max_length: int | None = None


class ValueConversionError(ValueError):
    """A value of a batch could not be converted to its column's type."""

    def __init__(self, column: str, row_index: int, value: object, error: str) -> None:
        self.column = column
        self.row_index = row_index
        self.value = value
        self.error = error
        super().__init__(f"column {column}, batch row {row_index}: {error} (value {value!r:.200})")


class SchemaError(ValueError):
    """The stream schema cannot be mapped to staging columns."""


def _types_and_format(prop_schema: dict) -> tuple[set[str], str | None, dict]:
    """Collect the non-null JSON types, the string format and the merged keywords."""
    types: set[str] = set()
    fmt = prop_schema.get("format")
    merged = dict(prop_schema)
    raw = prop_schema.get("type")
    if isinstance(raw, str):
        types.add(raw)
    elif isinstance(raw, list):
        types.update(raw)
    for sub in prop_schema.get("anyOf", []) + prop_schema.get("oneOf", []):
        sub_types, sub_fmt, sub_merged = _types_and_format(sub)
        types |= sub_types
        fmt = fmt or sub_fmt
        for key, value in sub_merged.items():
            merged.setdefault(key, value)
    types.discard("null")
    return types, fmt, merged


def _sql_number(prop_schema: dict) -> tuple[int, int] | None:
    match = _SQL_NUMBER.match(str(prop_schema.get("x-sql-datatype", "")))
    if not match:
        return None
    precision = int(match.group(1))
    scale = int(match.group(2) or 0)
    if not 0 < precision <= MAX_DECIMAL_PRECISION or not 0 <= scale <= precision:
        raise SchemaError(f"unsupported x-sql-datatype {prop_schema['x-sql-datatype']!r}")
    return precision, scale


def column_spec(prop: str, prop_schema: dict) -> ColumnSpec:
    """Map one property's JSON schema to a column spec."""
    name = naming.column_name(prop)
    types, fmt, merged = _types_and_format(prop_schema)
    number = _sql_number(merged)
    if not types or types & {"object", "array"}:
        return ColumnSpec(name, prop, JSON)
    if types <= {"integer", "number"}:
        if number is not None and (number[1] > 0 or "number" in types):
            return ColumnSpec(name, prop, DECIMAL, precision=number[0], scale=number[1])
        if types == {"integer"}:
            return ColumnSpec(name, prop, INTEGER, precision=number[0] if number else None)
        return ColumnSpec(name, prop, DOUBLE)
    if types == {"boolean"}:
        return ColumnSpec(name, prop, BOOLEAN)
    if types == {"string"} and fmt == "date":
        return ColumnSpec(name, prop, DATE)
    if types == {"string"} and fmt == "date-time":
        return ColumnSpec(name, prop, TIMESTAMP)
    max_length = merged.get("maxLength") if types == {"string"} else None
    return ColumnSpec(name, prop, STRING, max_length=int(max_length) if max_length else None)


LOADER_COLUMNS = (
    ColumnSpec(naming.TABLE_VERSION_COLUMN, None, INTEGER),  # NUMBER(19,0) / BIGINT
    ColumnSpec(naming.LOADED_AT_COLUMN, None, TIMESTAMP),
)


def column_specs(schema: dict) -> list[ColumnSpec]:
    """All columns of a stream's staging table: its properties, then the loader's columns."""
    specs = [column_spec(prop, sub) for prop, sub in schema.get("properties", {}).items()]
    specs.extend(LOADER_COLUMNS)
    seen: dict[str, str | None] = {}
    for spec in specs:
        if spec.name in seen:
            raise SchemaError(f"properties {seen[spec.name]!r} and {spec.prop!r} both map to column {spec.name}")
        seen[spec.name] = spec.prop
    return specs


# --- value conversion -------------------------------------------------------------------

_UTC = dt.UTC


def _to_timestamp(value: object) -> dt.datetime:
    parsed = dt.datetime.fromisoformat(value) if type(value) is str else value
    if not isinstance(parsed, dt.datetime):
        raise TypeError(f"expected an ISO date-time string, got {type(value).__name__}")
    if parsed.tzinfo is not None:  # the tap sends naive values; an offset is normalised to UTC
        parsed = parsed.astimezone(_UTC).replace(tzinfo=None)
    return parsed


def _to_date(value: object) -> dt.date:
    if type(value) is str:
        if len(value) == 10:
            return dt.date.fromisoformat(value)
        parsed = _to_timestamp(value)
        if parsed.time() != dt.time(0):
            raise ValueError("date column got a date-time with a time of day")
        return parsed.date()
    if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
        raise TypeError(f"expected an ISO date string, got {type(value).__name__}")
    return value


def _to_float(value: object) -> float:
    if isinstance(value, (bool, str)):
        raise TypeError(f"expected a number, got {type(value).__name__}")
    return float(value)  # type: ignore[arg-type]


def to_json_text(value: object) -> str:
    """JSON text of an object/array value; decimals keep their exact digits."""
    return simplejson.dumps(value, use_decimal=True, ensure_ascii=False, separators=(",", ":"), default=str)


def _to_text(value: object) -> str:
    if type(value) is str:
        return value
    if isinstance(value, (dict, list)):
        return to_json_text(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _to_bool(value: object) -> bool:
    if type(value) is bool:
        return value
    if value in (0, 1):  # tolerated: 0/1 integers
        return bool(value)
    raise TypeError(f"expected a boolean, got {value!r}")


def _to_int(value: object) -> int:
    if type(value) is int:
        return value
    if isinstance(value, Decimal) and value == value.to_integral_value():
        return int(value)
    raise TypeError(f"expected an integer, got {type(value).__name__} {value!r}")


def _to_decimal(value: object) -> Decimal | int:
    if type(value) is Decimal or type(value) is int:
        return value  # type: ignore[return-value]
    raise TypeError(f"expected an exact decimal, got {type(value).__name__} {value!r}")


CONVERTERS: dict[str, t.Callable[[object], object]] = {
    INTEGER: _to_int,
    DECIMAL: _to_decimal,
    DOUBLE: _to_float,
    STRING: _to_text,
    DATE: _to_date,
    TIMESTAMP: _to_timestamp,
    BOOLEAN: _to_bool,
    JSON: to_json_text,
}

# Kinds whose values already have the right Python type in the common case, so the
# conversion is skipped when a cheap type check over the column passes.
_PASS_TYPES: dict[str, tuple[type, ...]] = {
    INTEGER: (int,),
    DECIMAL: (Decimal, int),
    STRING: (str,),
    BOOLEAN: (bool,),
}


def convert_column(spec: ColumnSpec, values: list) -> list:
    """Convert one column of a batch (a list) to Python values of the column's type."""
    pass_types = _PASS_TYPES.get(spec.kind)
    if pass_types is not None:
        bad = [v for v in values if v is not None and type(v) not in pass_types]
        if not bad:
            return values
    fn = CONVERTERS[spec.kind]
    try:
        return [None if v is None else fn(v) for v in values]
    except Exception:
        locate_conversion_error(spec.name, values, fn)
        raise


def locate_conversion_error(column: str, values: list, fn: t.Callable[[object], object]) -> None:
    """Find the first value ``fn`` rejects and raise a :class:`ValueConversionError` for it."""
    for index, value in enumerate(values):
        if value is None:
            continue
        try:
            fn(value)
        except Exception as exc:
            raise ValueConversionError(column, index, value, f"{type(exc).__name__}: {exc}") from exc
