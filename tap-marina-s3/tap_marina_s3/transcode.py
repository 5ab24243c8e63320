"""Transcoding a member to one UTF-8 file of whole lines, counting its records on the way.

A block that is ASCII or valid UTF-8 (nearly always) is written as it is. Only a block that is
not goes line by line: each line that is not UTF-8 is decoded as cp1252 (else latin-1), and the
rows holding such lines are counted. A BOM before the header is dropped; the header row is
parsed here and not written.
"""

from __future__ import annotations

import codecs
import csv
import io
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from .archives import ExportError
from .counting import RecordCounter
from .long_rows import take_out_long_rows
from .model import BLOCK, MAX_FIELD_BYTES, ReadStats, Reject

FALLBACK_ENCODING = "cp1252"
MAX_HEADER_BYTES = 1 << 20  # a header row is names: kept in memory, so bounded


@dataclass(frozen=True)
class Transcoded:
    """A member copied as UTF-8: its data rows (`path`, None when it has none; the caller
    deletes it), its header (None for a zero-byte member), the rows taken out of it because
    they are too long, with their rejects, and the longest row left when it is long."""

    path: Path | None
    header: list[str] | None
    removed: list[int] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    line_bytes: int = 0


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


class Transcoder:
    """Copies a member into one UTF-8 file without its header row, a block at a time, and counts
    its records (`RecordCounter`) on the way. Rows are told apart by quote parity (a doubled
    quote inside a quoted field counts twice), so a quoted newline never ends a row.

    Rows longer than `max_field_bytes` are measured field by field once the member is copied
    (`long_rows`): those over the limit are taken out of the file and become rejects."""

    def __init__(self, folder: Path, stem: str, stats: ReadStats, max_field_bytes: int = MAX_FIELD_BYTES) -> None:
        self.folder, self.stem, self.stats = folder, stem, stats
        self.max_field_bytes = max_field_bytes
        self.header: list[str] | None = None
        self.counter = RecordCounter()
        self._header_lines: list[bytes] = []
        self._in_quotes = False
        self._fallback_row = False  # the row being written holds a line decoded as cp1252

    def copy(self, raw: BinaryIO) -> Transcoded:
        """The member's data rows as a UTF-8 file, with what was found on the way."""
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
            if not self.counter.count:
                path.unlink()
                return Transcoded(None, self.header)
            rejects, removed, line_bytes = take_out_long_rows(
                path, self.counter.long_rows, self.header or [], self.max_field_bytes
            )
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        return Transcoded(path, self.header, removed, rejects, line_bytes)

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
        for raw in data.splitlines(keepends=True):
            line, fallback = _to_utf8(raw)
            self._fallback_row |= fallback
            lines.append(line)
            in_quotes ^= line.count(b'"') % 2 == 1
            if in_quotes or not line.strip():
                continue  # inside a quoted field, or a blank line (not a row)
            if self._fallback_row:
                self.stats.lines_decoded_fallback += 1
                self._fallback_row = False
        return b"".join(lines)


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
