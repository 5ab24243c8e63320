"""One CSV reader for every table: decode, match headers to catalog columns, type each row.

A row that cannot be typed is never dropped: it comes back as a `Reject` holding the raw values
and every error with its column. Rows are streamed; nothing holds a whole file.
"""

from __future__ import annotations

import csv
import hashlib
import logging
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from .catalog import Column, Table, normalize_header
from .values import BadValue, converter_for

csv.field_size_limit(sys.maxsize)
logger = logging.getLogger("tap-marina-s3")

FALLBACK_ENCODING = "cp1252"


@dataclass
class Reject:
    row_number: int  # data row in the file, 1 = first row after the header
    line_number: int  # physical line where the row ends
    raw_values: dict
    errors: list[dict]
    record_key: str | None


@dataclass
class ReadStats:
    rows_read: int = 0
    rows_emitted: int = 0
    rows_rejected: int = 0
    rows_decoded_fallback: int = 0
    bytes_read: int = 0
    missing_columns: list[str] = field(default_factory=list)
    extra_columns: list[str] = field(default_factory=list)


class _Lines:
    """Decodes a binary stream line by line: UTF-8, else cp1252 (else latin-1), counted."""

    def __init__(self, raw: BinaryIO, stats: ReadStats) -> None:
        self.raw = raw
        self.stats = stats
        self.fallback_in_row = False

    def __iter__(self) -> Iterator[str]:
        first = True
        stats = self.stats
        for line in self.raw:
            stats.bytes_read += len(line)
            try:
                text = line.decode("utf-8")
            except UnicodeDecodeError:
                self.fallback_in_row = True
                try:
                    text = line.decode(FALLBACK_ENCODING)
                except UnicodeDecodeError:
                    text = line.decode("latin-1")
            if first:
                first = False
                if text.startswith("\ufeff"):
                    text = text[1:]
            yield text


def match_columns(table: Table, header: list[str]) -> tuple[list[int | None], list[int]]:
    """For each catalog column, the index of its file column (or None); and unmatched indexes.

    The catalog's `source` header wins; otherwise a normalized match (case-insensitive, `_`
    ignored) on the source header or the staging name.
    """
    exact = {h: i for i, h in enumerate(header)}
    normalized: dict[str, int] = {}
    for i, h in enumerate(header):
        normalized.setdefault(normalize_header(h), i)
    used: set[int] = set()
    positions: list[int | None] = []
    for column in table.columns:
        index = exact.get(column.source) if column.source else None
        if index is None or index in used:
            candidates = [normalize_header(column.name)]
            if column.source:
                candidates.insert(0, normalize_header(column.source))
            index = next(
                (normalized[c] for c in candidates if c in normalized and normalized[c] not in used),
                None,
            )
        if index is not None:
            used.add(index)
        positions.append(index)
    extras = [i for i in range(len(header)) if i not in used]
    return positions, extras


def row_hash(values: list) -> str:
    """md5 of the canonical typed business values, in catalog order (docs/design.md §4)."""
    return hashlib.md5(repr(values).encode("utf-8")).hexdigest()


def key_text(values: Iterable) -> str:
    return "|".join(str(v) for v in values)


class TableReader:
    """Reads one CSV member of one export into typed records and rejects."""

    def __init__(self, table: Table, *, day_first: bool = False) -> None:
        self.table = table
        self.columns: tuple[Column, ...] = table.columns
        self.converters = [converter_for(c, day_first=day_first) for c in table.columns]
        names = [c.name for c in table.columns]
        self.key_indexes = [names.index(k) for k in table.primary_key]
        self.stats = ReadStats()

    def rows(self, raw: BinaryIO, lineage: dict) -> Iterator[dict | Reject]:
        """Yield a record dict per good row and a `Reject` per bad one."""
        stats = self.stats
        lines = _Lines(raw, stats)
        reader = csv.reader(lines)
        header = next(reader, None)
        if header is None:
            return
        positions, extras = match_columns(self.table, header)
        stats.missing_columns = [c.name for c, p in zip(self.columns, positions) if p is None]
        stats.extra_columns = [header[i] for i in extras]
        width = len(header)
        props = [c.property_name for c in self.columns]
        plan = list(zip(props, positions, self.converters, [c.name for c in self.columns]))
        key_indexes = self.key_indexes
        row_number = 0
        for fields in reader:
            if not fields:
                continue  # a blank line is not a row (csv yields [] for it)
            row_number += 1
            stats.rows_read += 1
            fallback = lines.fallback_in_row
            lines.fallback_in_row = False
            if fallback:
                stats.rows_decoded_fallback += 1
            if len(fields) != width:
                stats.rows_rejected += 1
                yield Reject(
                    row_number,
                    reader.line_num,
                    {"fields": fields},
                    [{"column": None, "value": None,
                      "error": f"expected {width} fields, found {len(fields)}"}],
                    None,
                )
                continue
            record: dict = {}
            values: list = []
            errors: list[dict] | None = None
            for prop, pos, convert, name in plan:
                if pos is None:
                    value = None
                else:
                    raw_value = fields[pos]
                    try:
                        value = convert(raw_value)
                    except BadValue as exc:
                        errors = errors or []
                        errors.append({"column": name, "value": raw_value, "error": str(exc)})
                        value = None
                record[prop] = value
                values.append(value)
            key = [values[i] for i in key_indexes]
            if errors is None and any(v is None for v in key):
                errors = [{"column": self.columns[i].name, "value": None,
                           "error": "primary key column is empty"}
                          for i in key_indexes if values[i] is None]
            if errors is not None:
                stats.rows_rejected += 1
                key_ok = all(
                    v is not None and not any(e["column"] == self.columns[i].name for e in errors)
                    for i, v in zip(key_indexes, key)
                )
                yield Reject(
                    row_number,
                    reader.line_num,
                    dict(zip(header, fields)),
                    errors,
                    key_text(key) if key_ok else None,
                )
                continue
            record["_sdc_extra"] = (
                {header[i]: fields[i] for i in extras if fields[i] != ""} or None
                if extras else None
            )
            record["_sdc_row_hash"] = row_hash(values)
            record["_sdc_row_number"] = row_number
            record.update(lineage)
            stats.rows_emitted += 1
            yield record
