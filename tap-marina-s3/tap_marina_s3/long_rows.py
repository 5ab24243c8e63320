"""Rows too long to load: a row with a field over `max_field_bytes` (or a row over it plus
ROW_SLACK) is taken out of the transcoded file before DuckDB reads it, so that DuckDB never has
to hold it, and becomes a reject that names the column and keeps the field's size, SHA-256 and
first bytes. The field itself is never held in memory."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from pathlib import Path

from .counting import field_start, last_byte
from .model import BLOCK, EXTRA_FIELDS, Reject

ROW_SLACK = 1 << 20  # a row may hold a field of max_field_bytes and this much more
PREFIX_BYTES = 256  # kept of a field that is too long
_FIELD_STOP = re.compile(rb'[,"\r\n]')


class FieldInfo:
    """One field of a long row as written in the file (quotes included): its size, SHA-256 and
    first bytes; the field itself is never held."""

    def __init__(self) -> None:
        self.size = 0
        self.sha256 = hashlib.sha256()
        self.prefix = b""

    def add(self, data: bytes) -> None:
        self.size += len(data)
        self.sha256.update(data)
        if len(self.prefix) < PREFIX_BYTES:
            self.prefix += data[: PREFIX_BYTES - len(self.prefix)]

    def prefix_text(self) -> str:
        return self.prefix.decode("utf-8", errors="replace")

    def raw_value(self) -> str | dict:
        """The value (unquoted) when it is short; else its size, hash and first bytes."""
        if self.size <= PREFIX_BYTES:
            text = self.prefix_text()
            if len(text) >= 2 and text[0] == text[-1] == '"':
                text = text[1:-1].replace('""', '"')
            return text
        return {"bytes": self.size, "sha256": self.sha256.hexdigest(), "prefix": self.prefix_text()}


def row_fields(path: Path, start: int, end: int, most: int) -> tuple[list[FieldInfo], bool]:
    """The fields of the row at bytes [start, end) of `path`, read a megabyte at a time, by the
    rules of `RecordCounter`; at most `most` (then False: the row has more)."""
    fields, field = [], FieldInfo()
    in_quotes = quote_at_end = junk = False
    before = 0x0A
    for chunk in _chunks(path, start, end):
        pos, n = 0, len(chunk)
        if quote_at_end:  # the quote that ended the last chunk, seen with its next byte
            quote_at_end = False
            if chunk[0] == 0x22:
                field.add(b'"')
                pos = 1
            else:
                in_quotes = False
                junk = chunk[0] not in (0x2C, 0x0A, 0x0D)
        while pos < n:
            if in_quotes:
                pos, in_quotes, quote_at_end, junk = _quoted(chunk, pos, field)
                continue
            m = _FIELD_STOP.search(chunk, pos)
            stop = m.start() if m else n
            field.add(chunk[pos:stop])
            if m is None:
                break
            c = chunk[stop]
            if c == 0x22:
                in_quotes = junk or field_start(chunk, stop, before)
                junk = False
                field.add(b'"')
            elif c == 0x2C:
                junk = False
                fields.append(field)
                field = FieldInfo()
                if len(fields) >= most:
                    return fields, False
            else:  # the row's line end
                fields.append(field)
                return fields, True
            pos = stop + 1
        before = last_byte(chunk, before)
    fields.append(field)
    return fields, True


def _quoted(chunk: bytes, pos: int, field: FieldInfo) -> tuple[int, bool, bool, bool]:
    """Inside a quoted field at `pos`: add its text up to the quote that may close it. Returns
    where it stopped, whether still in quotes, whether the chunk ended on a quote (closing or
    doubled: the next chunk tells), and whether text follows the closing quote."""
    n = len(chunk)
    q = chunk.find(b'"', pos)
    stop = n if q < 0 else q + 1
    field.add(chunk[pos:stop])
    if q < 0:
        return n, True, False, False
    if stop == n:
        return n, True, True, False
    if chunk[stop] == 0x22:
        field.add(b'"')
        return stop + 1, True, False, False
    return stop, False, False, chunk[stop] not in (0x2C, 0x0A, 0x0D)


def _chunks(path: Path, start: int, end: int) -> Iterator[bytes]:
    with open(path, "rb") as f:
        f.seek(start)
        left = end - start
        while left > 0 and (chunk := f.read(min(BLOCK, left))):
            left -= len(chunk)
            yield chunk


def _cut_ranges(path: Path, ranges: list[tuple[int, int]]) -> None:
    """Remove the byte ranges (sorted, disjoint) from the file, copying the rest."""
    target = path.with_name(path.name + ".cut")
    with open(path, "rb") as src, open(target, "wb") as out:
        pos = 0
        for start, end in [*ranges, (None, None)]:
            src.seek(pos)
            left = None if start is None else start - pos
            while left is None or left > 0:
                block = src.read(BLOCK if left is None else min(BLOCK, left))
                if not block:
                    break
                out.write(block)
                if left is not None:
                    left -= len(block)
            pos = end
    target.replace(path)


def take_out_long_rows(
    path: Path, long_rows: list[tuple[int, int, int]], header: list[str], limit: int
) -> tuple[list[Reject], list[int], int]:
    """Of the rows longer than usual (`long_rows`: row number, start, end in `path`), remove
    those over the limit from the file. Returns their rejects, their row numbers and the
    length of the longest row left (0 when none is left)."""
    rejects: list[Reject] = []
    removed: list[int] = []
    cut: list[tuple[int, int]] = []
    line_bytes = 0
    for row_number, start, end in long_rows:
        reject = oversized(path, row_number, start, end, header, limit) if end - start > limit else None
        if reject is None:
            line_bytes = max(line_bytes, end - start)
        else:
            rejects.append(reject)
            removed.append(row_number)
            cut.append((start, end))
    if cut:
        _cut_ranges(path, cut)
    return rejects, removed, line_bytes


def oversized(path: Path, row_number: int, start: int, end: int, header: list[str], limit: int) -> Reject | None:
    """The reject for the row at bytes [start, end) of `path` when a field of it is over
    `limit`, or the row is over `limit` plus ROW_SLACK; None when the row can be loaded."""
    fields, complete = row_fields(path, start, end, len(header) + EXTRA_FIELDS)
    names = [header[i] if i < len(header) else f"field {i + 1}" for i in range(len(fields))]
    errors = [
        {
            "column": name,
            "value": f.prefix_text(),
            "error": f"{f.size:,} bytes, over max_field_bytes {limit:,} (sha256 {f.sha256.hexdigest()})",
        }
        for name, f in zip(names, fields)
        if f.size > limit
    ]
    if not errors and end - start <= limit + ROW_SLACK:
        return None
    if not errors:
        errors.append(
            {
                "column": None,
                "value": None,
                "error": f"row of {end - start:,} bytes, over max_field_bytes {limit:,} + {ROW_SLACK:,}",
            }
        )
    if len(fields) != len(header) or not complete:
        found = f"{len(fields)}" if complete else f"more than {len(fields) - 1}"
        errors.append({"column": None, "value": None, "error": f"{found} fields, expected {len(header)}"})
    raw = {name: f.raw_value() for name, f in zip(names, fields)}
    return Reject(row_number, raw, errors, None)
