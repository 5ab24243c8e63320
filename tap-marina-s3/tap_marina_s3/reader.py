"""One CSV reader for every table: decode, match headers to catalog columns, type each row.

1. A Python pass copies the member to a temporary UTF-8 file, a block at a time: lines that are
   not UTF-8 are decoded as cp1252 (else latin-1) and counted; a BOM is dropped; the header
   row is parsed.
2. An embedded DuckDB reads that file with every field as text (quotes, doubled quotes, quoted
   newlines, CRLF/LF) and types it with the SQL of `typing_sql`. Each row becomes either the JSON of
   a Singer record or a reject with every error and its column. Nothing is dropped.
Rows stream out in file order; memory does not grow with the file.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import json
import logging
import re
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, TypeVar

import duckdb

from .archives import ExportError
from marina_common.catalog import Table, normalize_header
from .typing_sql import quote, typed

logger = logging.getLogger("tap-marina-s3")
T = TypeVar("T")

FALLBACK_ENCODING = "cp1252"
MAX_FIELD_BYTES = 64 << 20  # default of the setting max_field_bytes
EXTRA_FIELDS = 16  # fields beyond the header that are counted exactly in a too-long row
# One DuckDB thread per table: the run prepares the next table (copy, scan, plan) in a second
# thread meanwhile. Two DuckDB threads on one table type ~15% faster but buffer their results out
# of order (measured: ~350 MB peak against ~200 MB). Freed memory goes back to the system at
# once rather than staying cached in the allocator.
DUCKDB_CONFIG = {
    "threads": 1,
    "memory_limit": "320MB",
    "preserve_insertion_order": True,
    "allocator_flush_threshold": "8MB",
    "allocator_bulk_deallocation_flush_threshold": "8MB",
}
# DuckDB keeps the CSV buffers it has read in its buffer pool until its memory limit presses
# (measured: a 123 MB member held 118 MB of them while it was typed; the serial scan of a file
# that is not strict RFC 4180, e.g. CRLF rows with LF inside quoted fields, still does), so
# memory grew with the size of the export. The COPY of a table therefore runs under a limit
# sized by its width: what typing needs (~1 MB per column, measured up to 96 columns) and room
# for a few read buffers. A table that needs more (long values) is read again under the full
# limit.
# A Parquet COPY also buffers a row group (20,000 rows): under the typing limit alone it spilled,
# ~40% more CPU on the widest table.
TYPING_LIMIT_MB = (16, 1.3)  # base, per column
LONG_ROW_MEMORY = 12  # DuckDB memory per byte of the longest row (a file with a row over LONG_ROW)
ROW_GROUP_MB = 64


def typing_limit_mb(columns: int) -> int:
    base, per_column = TYPING_LIMIT_MB
    return int(base + per_column * columns)


def csv_source(path: Path, width: int, *, strict: bool, line_bytes: int = 0) -> str:
    """DuckDB's scan of a transcoded member, every field as text (c0, c1, ...). `strict`: every
    row is known to have exactly `width` fields, so the file may be scanned in parallel.
    Otherwise a serial scan pads short rows with NULLs and reads up to EXTRA_FIELDS more fields
    (DuckDB cannot pad rows in parallel), so that the typing query can tell each row's shape.
    `line_bytes`: the longest row, when it is longer than LONG_ROW. DuckDB fails on a row over
    its line size and silently drops a last row longer than its buffer, so both are sized for
    it (a normal file keeps the small defaults: a buffer costs memory while it is read)."""
    line_size = max(2 << 20, line_bytes + (1 << 20))
    ncols = width if strict else width + EXTRA_FIELDS
    columns = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(ncols)) + "}"
    scan = (
        "null_padding=false, strict_mode=true, parallel=true"
        if strict
        else "null_padding=true, strict_mode=false, parallel=false"
    )
    return (
        f"read_csv({quote(str(path))}, header=false, columns={columns}, delim=',', "
        f"quote='\"', escape='\"', nullstr='\x01', {scan}, "
        f"auto_detect=false, max_line_size={line_size}, buffer_size={2 * line_size})"
    )


FETCH_ROWS = 256  # rows per fetch from the streaming result: bounds memory (measured:
# 5,000 rows per fetch peaked at ~490 MB on a 96-column table, 256 at ~285 MB, same speed)


@dataclass(frozen=True)
class Lineage:
    """Where the rows of a batch file come from (record mode puts these in each line)."""

    source_key: str
    member: str
    exported_at: str  # ISO timestamp


@dataclass
class ReadStats:
    rows_read: int = 0
    rows_counted: int = 0  # records counted while the member was copied (not by DuckDB)
    rows_emitted: int = 0
    rows_rejected: int = 0
    lines_decoded_fallback: int = 0
    bytes_read: int = 0
    missing_columns: list[str] = field(default_factory=list)
    extra_columns: list[str] = field(default_factory=list)


@dataclass
class Reject:
    row_number: int  # data row in the file, 1 = first row after the header
    raw_values: dict
    errors: list[dict]
    record_key: str | None


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


BLOCK = 1 << 20
MAX_CARRY = 4 * BLOCK  # a line longer than this is passed on in pieces (memory stays bounded)
_NOT_A_CUT = frozenset(b'\r"') | frozenset(range(0x80, 0x100))


def whole_lines(read: Callable[[int], bytes]) -> Iterator[bytes]:
    """What `read` returns, a megabyte at a time, as blocks of whole lines (the last block may
    lack its newline only at the end of the file). A line longer than MAX_CARRY comes in
    pieces, each cut after an ASCII byte other than CR or a quote: a character boundary in
    UTF-8 and cp1252, never inside a CRLF or a doubled quote."""
    carry = b""
    while block := read(BLOCK):
        data = carry + block if carry else block
        cut = data.rfind(b"\n") + 1
        if cut == 0:
            if len(data) < MAX_CARRY:
                carry = data
                continue
            cut = _piece_end(data)
        carry = data[cut:]
        yield data[:cut] if carry else data
    if carry:
        yield carry


def _piece_end(data: bytes) -> int:
    for i in range(len(data) - 1, max(len(data) - BLOCK, 0), -1):
        if data[i] not in _NOT_A_CUT:
            return i + 1
    return len(data)  # no safe byte in the last megabyte: cut anyway


# A quoted field within one line, at the start of a field and ending one (the pattern starts
# with the quote, so that the regex engine skips from quote to quote)
_QUOTED_FIELD = re.compile(rb'"(?<![^,\r\n]")[^"\r\n]*+(?:""[^"\r\n]*+)*+"(?![^,\r\n])')
_QUOTED_FIELDS = re.compile(rb'"(?<![^,\r\n]")[^"]*+(?:""[^"]*+)*+"(?![^,\r\n])')  # any line ends
_UNQUOTED_STOP = re.compile(rb'[\r\n"]')
_JUNK_STOP = re.compile(rb'[,\r\n"]')


def _field_start(data: bytes, pos: int, before: int) -> bool:
    """Whether the quote at data[pos] starts a field: only blanks between it and a comma, a
    line end or the start (`before`: the last byte before `data` other than a blank)."""
    while pos and data[pos - 1] == 0x20:
        pos -= 1
    return (data[pos - 1] if pos else before) in (0x2C, 0x0A, 0x0D)


def _records(lines: list[bytes]) -> int:
    """Lines that are records: all but the empty ones (a CRLF alone is empty too)."""
    return len(lines) - lines.count(b"") - lines.count(b"\r")


def _last_byte(data: bytes, before: int) -> int:
    stripped = data.rstrip(b" ")
    return stripped[-1] if stripped else before


LONG_ROW = 3 * BLOCK // 2  # rows up to this length fit DuckDB's default line size (2 MB)


class RecordCounter:
    """Counts the CSV records of the data rows as they are written, independently of DuckDB, so
    that a row DuckDB would skip cannot go unnoticed. The rules are DuckDB's: a record ends at
    LF, CR or CRLF outside quotes; an empty line is no record; a quote opens a quoted field
    only at the start of a field (after blanks too), `""` inside one is a quote, and any other
    quote closes it; after a closing quote followed by other text, the next quote of the same
    field opens again.

    A block of whole lines is counted line by line with C-speed list operations, once each
    quoted field (at the start of a field, up to a quote that ends one) is one letter: a line
    is then a record unless it is empty. When a quote is left (a quote inside a value, a
    quoted field cut by the end of the block), a line whose quotes all belong to quoted fields
    that start and end on it is still counted so.
    A line with another quote (a quote inside a value, or a quoted field that runs over the
    line end) is walked quote by quote, with the lines its quoted field runs over, until a
    record ends outside quotes (`_walk`); so is
    a block that is unusual (it starts inside a record, has a lone CR, or is longer than
    LONG_ROW). Rows longer than LONG_ROW are listed with their byte range in the
    file (`long_rows`: row number, start, end)."""

    def __init__(self) -> None:
        self.count = 0
        self.long_rows: list[tuple[int, int, int]] = []
        self._offset = 0  # bytes fed so far
        self._start = 0  # where the current record starts
        self._content = False  # the current record has a byte other than a line end
        self._in_quotes = False
        self._quote_at_end = False  # in quotes, the last byte fed was a quote (closing or "")
        self._last = 0x0A  # the last byte fed other than a blank (a line end at first)
        self._junk = False  # text after a closing quote in the current field

    def feed(self, data: bytes) -> None:
        if not data:
            return
        if (
            not self._in_quotes
            and not self._content
            and self._start == self._offset
            and len(data) <= LONG_ROW
            and data[-1] == 0x0A
            and data.count(b"\r") == data.count(b"\r\n")
        ):
            self._lines(data)
        else:
            self._walk(data)
        self._last = _last_byte(data, self._last)
        self._offset += len(data)
        if not self._content and not self._in_quotes and data[-1] == 0x0A:
            self._start = self._offset

    def _lines(self, data: bytes) -> None:
        """A block of whole lines that starts a record and has no lone CR."""
        lines = data.split(b"\n")
        del lines[-1]  # the empty piece after the last line end
        quoted = []
        if b'"' in data:
            rest = _QUOTED_FIELDS.sub(b"q", data)
            if b'"' not in rest:  # every quote in a quoted field: one letter each, line ends too
                lines = rest.split(b"\n")
                del lines[-1]
                self.count += _records(lines)
                return
            # the lines left with a quote once their quoted fields within the line are gone
            rest = _QUOTED_FIELD.sub(b"q", data).split(b"\n")
            quoted = [i for i, line in enumerate(rest) if b'"' in line]
        first = pos = 0  # the first line not counted yet, and where it starts
        for i in quoted:
            if i < first:
                continue  # walked already (a quoted field over several lines)
            self.count += _records(lines[first:i])
            start = pos + sum(map(len, lines[first:i])) + i - first
            self._start = self._offset + start
            pos = self._walk(data, start, once=True)
            first = i + data.count(b"\n", start, pos)
        self.count += _records(lines[first:])

    def _walk(self, data: bytes, pos: int = 0, once: bool = False) -> int:
        """Follow `data` from `pos` by the rules; with `once`, only until a record ends at an
        LF outside quotes. Returns where it stopped."""
        n = len(data)
        if self._quote_at_end:  # the quote that ended the last block, seen with its next byte
            self._quote_at_end = False
            if data[0] == 0x22:
                pos = 1  # a doubled quote: still inside the field
            else:
                self._in_quotes = False
                self._junk = data[0] not in (0x2C, 0x0A, 0x0D)
        while pos < n:
            if self._in_quotes:
                q = data.find(b'"', pos)
                if q < 0:
                    pos = n
                elif q + 1 == n:
                    self._quote_at_end = True
                    pos = n
                elif data[q + 1] == 0x22:
                    pos = q + 2
                else:
                    self._in_quotes = False
                    self._junk = data[q + 1] not in (0x2C, 0x0A, 0x0D)
                    pos = q + 1
                continue
            m = (_JUNK_STOP if self._junk else _UNQUOTED_STOP).search(data, pos)
            stop = m.start() if m else n
            if stop > pos:
                self._content = True
            if m is None:
                return n
            c = data[stop]
            if c == 0x22:
                self._in_quotes = self._junk or _field_start(data, stop, self._last)
                self._junk = False
                self._content = True
            elif c == 0x2C:
                self._junk = False
            else:
                self._junk = False
                self._end(self._offset + stop + 1)
                if once and c == 0x0A:
                    return stop + 1
            pos = stop + 1
        return n

    def _end(self, end: int) -> None:
        """A line end outside quotes at byte `end` (exclusive)."""
        if self._content:
            self.count += 1
            if end - self._start > LONG_ROW:
                self.long_rows.append((self.count, self._start, end))
        self._start = end
        self._content = False

    def finish(self) -> None:
        """The last record, when the file does not end with a line end (or ends in quotes)."""
        if self._content or self._in_quotes:
            self._content = True
            self._end(self._offset)


class Transcoder:
    """Copies a member into one UTF-8 file without its header row, a block at a time, and counts
    its records (`RecordCounter`) on the way.

    A block that is ASCII or valid UTF-8 (nearly always) is written as it is. Only a block that
    is not goes line by line: each line that is not UTF-8 is decoded as cp1252 (else latin-1),
    and the rows holding such lines are counted. Rows are told apart by quote parity (a doubled
    quote inside a quoted field counts twice), so a quoted newline never ends a row. A BOM
    before the header is dropped.

    A row longer than `max_field_bytes` is measured field by field once the member is copied.
    If a field (or the whole row, beyond `max_field_bytes` + ROW_SLACK) is over the limit, the
    row is taken out of the file, so that DuckDB never has to hold it, and becomes a reject
    that names the column and keeps the field's size, SHA-256 and first bytes (`rejects`; the
    rows taken out are `removed`). `line_bytes` is the longest row left in the file.
    """

    def __init__(self, folder: Path, stem: str, stats: ReadStats, max_field_bytes: int = MAX_FIELD_BYTES) -> None:
        self.folder, self.stem, self.stats = folder, stem, stats
        self.max_field_bytes = max_field_bytes
        self.header: list[str] | None = None
        self.counter = RecordCounter()
        self.rejects: list[Reject] = []
        self.removed: list[int] = []
        self.line_bytes = 0
        self._header_lines: list[bytes] = []
        self._in_quotes = False
        self._fallback_row = False  # the row being written holds a line decoded as cp1252

    def copy(self, raw: BinaryIO) -> Path | None:
        """The data rows as a UTF-8 file (the caller deletes it), or None when the member has
        no data row (empty, or a header only)."""
        fd, name = tempfile.mkstemp(prefix=f"{self.stem}.", suffix=".csv", dir=self.folder)
        path = Path(name)

        def read(size: int) -> bytes:
            block = raw.read(size)
            self.stats.bytes_read += len(block)
            return block

        try:
            with open(fd, "wb") as out:
                for data in whole_lines(read):
                    self._write(out, data)
            self.counter.finish()
            self.stats.rows_counted = self.counter.count
            if self._fallback_row:  # a last row cut short (unclosed quote)
                self.stats.lines_decoded_fallback += 1
            if self.counter.count:
                self._take_out_long_rows(path)
                return path
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        path.unlink(missing_ok=True)
        return None

    def _write(self, out: BinaryIO, data: bytes) -> None:
        """Write whole lines (the last one may lack its newline only at the end of the file)."""
        if self.header is None:
            data = self._take_header(data)
            if not data:
                return
        if not _is_utf8(data):
            data = self._decode_lines(data)
        out.write(data)
        self.counter.feed(data)
        self._in_quotes ^= data.count(b'"') % 2 == 1

    def _take_header(self, data: bytes) -> bytes:
        """Collect the header row's lines; return what follows it."""
        pos = 0
        while pos < len(data):
            end = data.find(b"\n", pos) + 1 or len(data)
            line = data[pos:end]
            pos = end
            self._header_lines.append(_to_utf8(line)[0])
            if sum(map(len, self._header_lines)) > MAX_HEADER_BYTES:
                raise ExportError(
                    f"{self.stem}: the header row is longer than {MAX_HEADER_BYTES:,} bytes: "
                    "not a CSV export (or its first line has no line end)"
                )
            self._in_quotes ^= line.count(b'"') % 2 == 1
            if not self._in_quotes:
                text = b"".join(self._header_lines).decode("utf-8").lstrip("\ufeff")
                self.header = next(csv.reader(io.StringIO(text)), [])
                return data[pos:]
        return b""

    def _decode_lines(self, data: bytes) -> bytes:
        """The slow path for a block that is not UTF-8: line by line, counting fallback rows."""
        lines = []
        in_quotes = self._in_quotes
        for line in data.splitlines(keepends=True):
            line, fallback = _to_utf8(line)
            self._fallback_row |= fallback
            lines.append(line)
            in_quotes ^= line.count(b'"') % 2 == 1
            if in_quotes or not line.strip():
                continue  # inside a quoted field, or a blank line (not a row)
            if self._fallback_row:
                self.stats.lines_decoded_fallback += 1
                self._fallback_row = False
        return b"".join(lines)

    def _take_out_long_rows(self, path: Path) -> None:
        limit = self.max_field_bytes
        cut: list[tuple[int, int]] = []
        for row_number, start, end in self.counter.long_rows:
            if end - start > limit:
                reject = self._oversized(path, row_number, start, end)
                if reject is not None:
                    self.rejects.append(reject)
                    self.removed.append(row_number)
                    cut.append((start, end))
                    continue
            self.line_bytes = max(self.line_bytes, end - start)
        if cut:
            _cut_ranges(path, cut)

    def _oversized(self, path: Path, row_number: int, start: int, end: int) -> Reject | None:
        """The reject for the row at bytes [start, end) of `path` when a field of it is over the
        limit, or the row is over the limit plus ROW_SLACK; None when the row can be loaded."""
        header, limit = self.header or [], self.max_field_bytes
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


MAX_HEADER_BYTES = 1 << 20  # a header row is names: kept in memory, so bounded
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
    with open(path, "rb") as f:
        f.seek(start)
        left = end - start
        while left > 0:
            chunk = f.read(min(BLOCK, left))
            if not chunk:
                break
            left -= len(chunk)
            pos, n = 0, len(chunk)
            if quote_at_end:
                quote_at_end = False
                if chunk[0] == 0x22:
                    field.add(b'"')
                    pos = 1
                else:
                    in_quotes = False
                    junk = chunk[0] not in (0x2C, 0x0A, 0x0D)
            while pos < n:
                if in_quotes:
                    q = chunk.find(b'"', pos)
                    stop = n if q < 0 else q + 1
                    field.add(chunk[pos:stop])
                    if q < 0 or stop == n:
                        quote_at_end = q >= 0
                    elif chunk[stop] == 0x22:
                        field.add(b'"')
                        stop += 1
                    else:
                        in_quotes = False
                        junk = chunk[stop] not in (0x2C, 0x0A, 0x0D)
                    pos = stop
                    continue
                m = _FIELD_STOP.search(chunk, pos)
                stop = m.start() if m else n
                field.add(chunk[pos:stop])
                if m is None:
                    break
                c = chunk[stop]
                if c == 0x22:
                    in_quotes = junk or _field_start(chunk, stop, before)
                    junk = False
                    field.add(b'"')
                elif c == 0x2C:
                    junk = False
                    fields.append(field)
                    field = FieldInfo()
                    if len(fields) >= most:
                        return fields, False
                else:  # the row's line end
                    left = 0
                    break
                pos = stop + 1
            before = _last_byte(chunk, before)
    fields.append(field)
    return fields, True


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


UTF8_SLICE = 1 << 16


def _is_utf8(data: bytes) -> bool:
    """Whether `data` (whole lines) is valid UTF-8. Checked in 64 KB slices: decoding a whole
    block at once allocates a string as large as the block each time, and the page faults of
    those fresh allocations cost more than the check itself."""
    if data.isascii():
        return True
    decode = codecs.getincrementaldecoder("utf-8")().decode
    view = memoryview(data)
    try:
        for start in range(0, len(data), UTF8_SLICE):
            decode(view[start : start + UTF8_SLICE])
        decode(b"", True)
    except UnicodeDecodeError:
        return False
    return True


def lf_row_ends(path: Path) -> Path | None:
    """A copy of the transcoded file `path` whose CRLF row ends are LF, when no quoted field
    holds a CRLF (else None, and the file is typed as it is). DuckDB's strict parser rejects a
    file with CRLF rows and LF inside quoted fields (it takes LF as the newline from the first
    rows); the serial scan that reads it instead is slower to type and keeps the buffers it has
    read until its memory limit. Values are never changed: only the CRLFs that end a row (an
    even number of quotes before them) become LF, and the rows and their numbers are the same."""
    target = path.with_name(path.name + ".lf")
    in_quotes = False
    changed = False
    with open(path, "rb") as src, open(target, "wb") as out:
        for data in whole_lines(src.read):  # so a CRLF is never cut in two
            pieces = data.split(b"\r\n")
            for piece in pieces[:-1]:
                in_quotes ^= piece.count(b'"') % 2 == 1
                if in_quotes:  # a CRLF inside a quoted field: leave the file as it is
                    out.close()
                    target.unlink()
                    return None
            in_quotes ^= pieces[-1].count(b'"') % 2 == 1
            changed |= len(pieces) > 1
            out.write(b"\n".join(pieces))
    if not changed:
        target.unlink()
        return None
    return target


def _to_utf8(line: bytes) -> tuple[bytes, bool]:
    """The line as UTF-8, and whether it had to be decoded with the fallback encoding."""
    if line.isascii():
        return line, False
    try:
        line.decode("utf-8")
        return line, False
    except UnicodeDecodeError:
        try:
            text = line.decode(FALLBACK_ENCODING)
        except UnicodeDecodeError:
            text = line.decode("latin-1")
        return text.encode("utf-8"), True


class TableReader:
    """Reads one CSV member of one export; yields Singer RECORD lines and rejects."""

    def __init__(
        self, table: Table, *, day_first: bool = False, work_dir: Path, max_field_bytes: int = MAX_FIELD_BYTES
    ) -> None:
        self.has_header = False
        self.max_field_bytes = max_field_bytes
        self.table = table
        self.day_first = day_first
        self.work_dir = work_dir
        self.stats = ReadStats()
        self._con: duckdb.DuckDBPyConnection | None = None
        self._cursor: duckdb.DuckDBPyConnection | None = None
        self._path: Path | None = None
        self._header: list[str] = []
        self._prefix, self._lineage = "", None
        self._spool: Path | None = None  # read ahead: the RECORD lines
        self.batch_file: Path | None = None  # read ahead, batch mode: the Parquet file
        self._rejects_file: Path | None = None  # read ahead: the rejects
        self._rows: int | None = None  # rows in the file, when they could be counted
        self._strict = False  # every row has the header's number of fields
        self._line_bytes = 0  # the longest row in the file, when over LONG_ROW
        self._removed: list[int] = []  # rows taken out of the file (too long): their rejects
        self._long_rejects: list[Reject] = []

    def match_header(self, header: list[str]) -> tuple[list[int | None], list[int]]:
        """Match the file's header to the catalog and record missing and extra columns."""
        positions, extras = match_columns(self.table, header)
        self.stats.missing_columns = [c.name for c, p in zip(self.table.columns, positions) if p is None]
        self.stats.extra_columns = [header[i] for i in extras]
        return positions, extras

    def build_query(
        self,
        path: Path,
        header: list[str],
        prefix: str = "",
        *,
        strict: bool = False,
        batch: Lineage | str | None = None,
        suffix: str = "",
    ) -> str:
        """The typing query. `strict`: every row is known to have exactly the header's fields,
        so DuckDB may scan the file in parallel (it cannot pad short rows in parallel).

        Record mode (`batch` None): per row, the RECORD line (`rec`, starting with `prefix`) or
        the reject (`rej`). `batch="lines"`: the whole RECORD lines (ending with `suffix`) of
        the good rows. Batch mode: the typed columns and lineage of the good rows (`batch`
        gives the lineage). `batch="rejects"`: the row number and reject of the others."""
        table = self.table
        positions, extras = self.match_header(header)
        width = len(header)
        ncols = width if strict else width + EXTRA_FIELDS
        source = csv_source(path, width, strict=strict, line_bytes=self._line_bytes)
        names = [c.name for c in table.columns]
        fast, parsed, values, errors = [], [], [], []
        for i, (column, pos) in enumerate(zip(table.columns, positions)):
            v = f"c{pos}" if pos is not None else "CAST(NULL AS VARCHAR)"
            sql = typed(column, day_first=self.day_first)
            x, f = f"x{i}", f"f{i}"
            if sql.fast is not None:
                fast.append(f"{sql.render('fast', v, x)} AS {f}")
            parsed.append(f"{sql.render('parse', v, x, f)} AS {x}")
            values.append(f"({sql.render('value', v, x, f)})")
            err = sql.render("error", v, x, f)
            if column.name in table.primary_key:
                err = f"coalesce({err}, CASE WHEN {sql.is_null(x, f)} THEN 'primary key column is empty' END)"
            errors.append((column.name, v, f"({err})"))
        fast_names = "".join(f", {e.rsplit(' AS ', 1)[1]}" for e in fast)
        ok = " AND ".join(f"e{i} IS NULL" for i in range(len(names)))
        # The row has exactly `width` fields when the last one is there and the next is not
        # (padding fills missing fields with NULL); the exact count is only needed for rejects.
        shape_ok = "TRUE" if strict else f"c{width - 1} IS NOT NULL AND c{width} IS NULL"
        nfields = " + ".join(f"(c{i} IS NOT NULL)::INT" for i in range(ncols))
        key_idx = [names.index(k) for k in table.primary_key]
        key_text = " || '|' || ".join(f"CAST(v{i} AS VARCHAR)" for i in key_idx)
        key_ok = " AND ".join(f"e{i} IS NULL" for i in key_idx)
        raw_json = "json_object(" + ", ".join(f"{quote(h)}, c{i}" for i, h in enumerate(header)) + ")"
        error_list = (
            "list_filter(["
            + ", ".join(
                f"{{'column': {quote(name)}, 'value': {v}, 'error': e{i}}}" for i, (name, v, _) in enumerate(errors)
            )
            + "], lambda e: e.error IS NOT NULL)"
        )
        extra_json = "NULL"
        if extras:
            any_extra = " OR ".join(f"coalesce(c{i}, '') <> ''" for i in extras)
            extra_json = (
                f"CASE WHEN {any_extra} THEN json_object("
                + ", ".join(f"{quote(header[i])}, c{i}" for i in extras)
                + ") END"
            )
        business = "struct_pack(" + ", ".join(f'"{c.property_name}" := v{i}' for i, c in enumerate(table.columns)) + ")"
        all_fields = ", ".join(f"c{i}" for i in range(ncols))
        # Stacked projections, each computing its columns once: the fast path (f_i); parse
        # (x_i, only where f_i is NULL); type and check (v_i, e_i); all good? (ok); serialize
        # the business values (j). The row hash is the md5 of j: the canonical JSON of the
        # typed values in catalog order (the same in record and batch mode).
        core = f"""(SELECT *, CASE WHEN ok THEN CAST(to_json({business}) AS VARCHAR) END AS j FROM (
  SELECT *, shape_ok AND {ok} AS ok FROM (
  SELECT {", ".join(f"c{i}" for i in range(ncols))}, shape_ok, {", ".join(f"{v} AS v{i}, {e} AS e{i}" for i, (v, (_, _, e)) in enumerate(zip(values, errors)))}
  FROM (
    SELECT {", ".join(f"c{i}" for i in range(ncols))}, shape_ok{fast_names}, {", ".join(parsed)}
    FROM (
      SELECT {", ".join(f"c{i}" for i in range(ncols))}, {shape_ok} AS shape_ok{"".join(", " + e for e in fast)}
      FROM {source})))))"""
        rej = f"""CASE WHEN ok THEN NULL
    WHEN NOT shape_ok THEN to_json({{
      'raw_values': {{'fields': list_filter([{all_fields}], lambda f: f IS NOT NULL)}},
      'errors': [{{'column': NULL, 'value': NULL,
                  'error': CASE WHEN ({nfields}) >= {ncols} THEN 'more than {ncols - 1}'
                    ELSE CAST(({nfields}) AS VARCHAR) END || ' fields, expected {width}'}}],
      'record_key': NULL}})
    ELSE to_json({{
      'raw_values': {raw_json},
      'errors': {error_list},
      'record_key': CASE WHEN {key_ok} THEN {key_text} END}})
  END"""
        extra = f"CAST({extra_json} AS VARCHAR)"
        # A streaming window numbers the rows; rows taken out of the file (too long) still
        # count: the k-th row read is row k + (rows taken out before it)
        shift = "".join(f" + (k > {r - j})::INT" for j, r in enumerate(self._removed, 1))
        numbered = f"(SELECT *, k{shift} AS rn FROM (SELECT *, row_number() OVER () AS k FROM {core}))"
        # A RECORD line: the prefix (up to the lineage), the bookkeeping properties, then the
        # business values: j without its opening brace (ltrim only looks at the first bytes;
        # cutting both braces off with substr walks every character of a non-ASCII j), whose
        # closing brace closes the record. One concat builds the line (a chain of || would
        # build every intermediate string). The suffix closes the message.
        line = (
            f"concat({quote(prefix)}, '\"_sdc_extra\":', coalesce({extra}, 'null'), "
            '\',"_sdc_row_hash":"\', md5(j), \'","_sdc_row_number":\', CAST(rn AS VARCHAR), '
            f"',', ltrim(j, '{{'), {quote(suffix)})"
        )
        if batch is None:
            return f"SELECT CASE WHEN ok THEN encode({line}) END AS rec, {rej} AS rej, rn FROM {numbered}"
        if batch == "rejects":
            return f"SELECT rn, {rej} AS rej FROM {numbered} WHERE NOT ok ORDER BY rn"
        if batch == "lines":  # the RECORD lines of record mode
            return f"SELECT {line} FROM {numbered} WHERE ok"
        typed_columns = ", ".join(  # Parquet has no 128-bit integer: wide ones go as DECIMAL
            (
                f"CAST(v{i} AS DECIMAL({c.precision_scale[0]}, 0))"
                if c.kind == "integer" and c.precision_scale[0] > 18
                else f"v{i}"
            )
            + f' AS "{c.property_name}"'
            for i, c in enumerate(table.columns)
        )
        return f"""
SELECT {typed_columns},
  {quote(batch.source_key)} AS _sdc_source_key, {quote(batch.member)} AS _sdc_source_member,
  rn AS _sdc_row_number, CAST({quote(batch.exported_at)} AS TIMESTAMP) AS _sdc_exported_at,
  {extra} AS _sdc_extra, md5(j) AS _sdc_row_hash
FROM {numbered} WHERE ok"""

    def _count_rows(self) -> None:
        """Count the rows the typing query will read (`_rows`; None when they cannot be
        counted) and tell whether every row has exactly the header's fields in RFC 4180 form
        (`_strict`: the typing query may then scan the file in parallel; ~0.3 s per 100K rows).
        A file with CRLF rows and LF in quoted fields is made strict first (`lf_row_ends`).
        Otherwise the rows are counted as the padded serial scan of the typing query reads them
        (short rows padded, so that they become rejects). Knowing the count lets a read skip
        its rejects pass when every row was written. Counting runs under the table's memory
        limit, so that DuckDB does not keep every buffer of the file it has read."""
        con, width = self._con, len(self._header)

        def count(strict: bool) -> int | None:
            source = csv_source(self._path, width, strict=strict, line_bytes=self._line_bytes)
            sql = f"SELECT count(*) FROM {source}"
            try:
                return self._run_sized(lambda: con.execute(sql).fetchone()[0])
            except duckdb.OutOfMemoryException:
                raise
            except duckdb.Error:
                return None  # not well formed (or, padded, not readable at all)

        self._rows = count(strict=True)
        if self._rows is None and (lf := lf_row_ends(self._path)) is not None:
            self._path.unlink()
            self._path = lf
            self._rows = count(strict=True)
        self._strict = self._rows is not None
        if not self._strict:
            self._rows = count(strict=False)

    def _raise_limit(self) -> None:
        """Go to DuckDB's full memory limit for the rest of this read: more for a file with a
        long row (its read buffers, and the JSON of its record, for which DuckDB reserves six
        times the value's length, rounded up to a power of two: a 32 MB value asked for 256 MB)."""
        if not self._full_limit:
            limit = DUCKDB_CONFIG["memory_limit"]
            if self._line_bytes:
                limit = f"{int(limit.removesuffix('MB')) + LONG_ROW_MEMORY * (self._line_bytes >> 20)}MB"
            self._con.execute(f"SET memory_limit = '{limit}'")
            self._full_limit = True

    def _run_sized(self, query: Callable[[], T]) -> T:
        """Run `query` under the table's memory limit; if it needs more (long values), again
        under the full limit."""
        try:
            return query()
        except duckdb.OutOfMemoryException:
            if self._full_limit:
                raise
            logger.info("%s: read again under DuckDB's full memory limit", self.table.stream)
            self._raise_limit()
            return query()

    def prepare(self, raw: BinaryIO, prefix: str = "", *, batch: Lineage | None = None, start: bool = False) -> None:
        """Copy the member and check its shape; then `fetch` (RECORD lines streamed to this
        thread), `write_lines` (RECORD lines to a file) or `write_batch` (typed rows to a
        Parquet file, `batch` gives their lineage) produce the rows.

        `prefix` opens the RECORD message up to the record's first property; each record's line
        is prefix + `_sdc_extra`, `_sdc_row_hash`, `_sdc_row_number` + the business properties
        (closing the record) + a suffix that closes the message. `start`: plan and start
        `fetch`'s query now (it then holds ~1.5 MB per column until fetched).
        """
        # The table's own memory limit from the start: every SET memory_limit makes DuckDB
        # trim the whole process's malloc arenas (measured: ~200 trims and 2M page faults a run)
        limit = typing_limit_mb(len(self.table.columns)) + (ROW_GROUP_MB if batch else 0)
        self._con = duckdb.connect(config={**DUCKDB_CONFIG, "memory_limit": f"{limit}MB"})
        self._full_limit = False
        transcoder = Transcoder(self.work_dir, self.table.stream, self.stats, self.max_field_bytes)
        try:
            self._path = transcoder.copy(raw)
            self.has_header = transcoder.header is not None
            self._line_bytes = transcoder.line_bytes
            if self._line_bytes:
                self._raise_limit()  # a long row does not fit the table's own limit
            self._removed, self._long_rejects = transcoder.removed, transcoder.rejects
            if self._path is not None:
                self._header = transcoder.header
                self._count_rows()
                self._prefix, self._lineage = prefix, batch
                if start:
                    self._raise_limit()  # a streamed fetch is not retried
                    self._cursor = self._con.execute(self._query(prefix))
            elif transcoder.header is not None:
                self.match_header(transcoder.header)  # a header-only file: still check its columns
        except BaseException:
            self.close()
            raise

    def _query(self, prefix: str = "", batch: Lineage | str | None = None, suffix: str = "") -> str:
        return self.build_query(self._path, self._header, prefix, strict=self._strict, batch=batch, suffix=suffix)

    def write_batch(self, target: Path) -> Iterator[Reject]:
        """Batch mode: write the good rows, typed, to the Parquet file `target` (not created
        when there are none) and yield the rejects."""
        return self._write(target, "FORMAT parquet, ROW_GROUP_SIZE 20000", lambda: self._query(batch=self._lineage))

    def write_lines(self, target: Path, suffix: str) -> Iterator[Reject]:
        """The RECORD lines of the good rows to the file `target` (what `fetch` would yield),
        written by DuckDB itself; yields the rejects."""
        return self._write(
            target,
            "FORMAT csv, HEADER false, QUOTE '', ESCAPE '', DELIMITER '\x1f'",
            lambda: self._query(self._prefix, "lines", suffix.rstrip("\n")),
        )

    def _write(self, target: Path, options: str, good_sql: Callable[[], str]) -> Iterator[Reject]:
        """COPY the good rows to `target` (removed when there are none) and yield the rejects.
        The whole query runs inside DuckDB (which, unlike a streamed fetch, lets other Python
        threads run meanwhile). Rejects need a second typing pass, run only when the file is
        not well formed or has rows that were not written."""
        stats = self.stats
        try:
            if self._path is None:
                return
            copy = f"COPY ({good_sql()}) TO {quote(str(target))} ({options})"
            written = self._run_sized(lambda: self._con.execute(copy).fetchone()[0])
            if not written:
                target.unlink(missing_ok=True)
            rejected = len(self._long_rejects)
            yield from self._long_rejects
            if self._rows != written:  # some rows were rejected (or the rows could not be counted)
                self._raise_limit()  # the rejects query (streamed, sorted) is not retried
                cursor = self._con.execute(self._query(batch="rejects"))
                while rows := cursor.fetchmany(FETCH_ROWS):
                    for row_number, rej in rows:
                        rejected += 1
                        detail = json.loads(rej)
                        yield Reject(row_number, detail["raw_values"], detail["errors"], detail["record_key"])
            stats.rows_emitted = written
            stats.rows_rejected = rejected
            stats.rows_read = written + rejected
        finally:
            self.close()

    def fetch(self, suffix: str) -> Iterator[bytes | Reject]:
        """Yield encoded RECORD lines (in batches) and `Reject`s, in file order."""
        stats = self.stats
        end = suffix.encode("utf-8")
        row_number = emitted = 0
        rejected = len(self._long_rejects)
        stats.rows_rejected = stats.rows_read = rejected
        yield from self._long_rejects
        try:
            if self._cursor is None and self._path is not None:
                self._cursor = self._con.execute(self._query(self._prefix))
            cursor = self._cursor
            while cursor is not None and (rows := cursor.fetchmany(FETCH_ROWS)):
                lines: list[bytes] = []  # UTF-8 bytes straight from DuckDB: no decoding
                for rec, rej, rn in rows:
                    row_number += 1
                    if rec is not None:
                        emitted += 1
                        lines += (rec, end)
                    else:
                        if lines:
                            yield b"".join(lines)
                            lines = []
                        detail = json.loads(rej)
                        yield Reject(rn, detail["raw_values"], detail["errors"], detail["record_key"])
                stats.rows_emitted = emitted
                stats.rows_rejected = rejected + row_number - emitted
                stats.rows_read = stats.rows_emitted + stats.rows_rejected
                if lines:
                    yield b"".join(lines)
        finally:
            self.close()

    # -- reading ahead: the whole read done in a worker thread, replayed in the main one -----
    def read_ahead(self, suffix: str = "", batch_file: Path | None = None) -> None:
        """Do the whole read now (in a worker thread): the RECORD lines (record mode) or the
        Parquet file (batch mode), and the rejects, go to files that `results` replays."""
        spool = self.work_dir / f"{self.table.stream}-{uuid.uuid4().hex}"
        self._rejects_file = spool.with_suffix(".rejects")
        with open(self._rejects_file, "w", encoding="utf-8") as rejects:
            if batch_file is not None:
                items = self.write_batch(batch_file)
            else:
                self._spool = spool.with_suffix(".records")
                items = self.write_lines(self._spool, suffix)
            for item in items:
                rejects.write(json.dumps(item.__dict__) + "\n")

    def results(self, suffix: str = "") -> Iterator[bytes | Reject]:
        """What `fetch` yields (RECORD lines in batches of whole lines, then rejects): replayed
        from the files of `read_ahead`, or read now if it did not run."""
        if self._rejects_file is None:
            yield from self.fetch(suffix)
            return
        try:
            if self._spool is not None and self._spool.exists():  # absent: no good row
                with open(self._spool, "rb") as spool:
                    while lines := spool.readlines(1 << 20):
                        yield b"".join(lines)
            with open(self._rejects_file, encoding="utf-8") as rejects:
                for line in rejects:
                    yield Reject(**json.loads(line))
        finally:
            for path in (self._spool, self._rejects_file):
                if path is not None:
                    path.unlink(missing_ok=True)

    def rows(self, raw: BinaryIO, prefix: str, suffix: str) -> Iterator[bytes | Reject]:
        """`prepare` then `fetch`, in this thread."""
        self.prepare(raw, prefix)
        yield from self.fetch(suffix)

    def discard(self) -> None:
        """Drop a read that will not be used, with every file it wrote."""
        self.close()
        for path in (self._spool, self._rejects_file, self.batch_file):
            if path is not None:
                path.unlink(missing_ok=True)

    def close(self) -> None:
        """Release the DuckDB connection and the temporary copy (safe to call twice)."""
        self._cursor = None
        if self._con is not None:
            self._con.close()
            self._con = None
        if self._path is not None:
            self._path.unlink(missing_ok=True)
            self._path = None
