"""Counting a CSV file's records independently of DuckDB, by DuckDB's rules."""

from __future__ import annotations

import re

from .model import BLOCK

# A quoted field within one line, at the start of a field and ending one (the pattern starts
# with the quote, so that the regex engine skips from quote to quote)
_QUOTED_FIELD = re.compile(rb'"(?<![^,\r\n]")[^"\r\n]*+(?:""[^"\r\n]*+)*+"(?![^,\r\n])')
_QUOTED_FIELDS = re.compile(rb'"(?<![^,\r\n]")[^"]*+(?:""[^"]*+)*+"(?![^,\r\n])')  # any line ends
_UNQUOTED_STOP = re.compile(rb'[\r\n"]')
_JUNK_STOP = re.compile(rb'[,\r\n"]')


def field_start(data: bytes, pos: int, before: int) -> bool:
    """Whether the quote at data[pos] starts a field: only blanks between it and a comma, a
    line end or the start (`before`: the last byte before `data` other than a blank)."""
    while pos and data[pos - 1] == 0x20:
        pos -= 1
    return (data[pos - 1] if pos else before) in (0x2C, 0x0A, 0x0D)


def _records(lines: list[bytes]) -> int:
    """Lines that are records: all but the empty ones (a CRLF alone is empty too)."""
    return len(lines) - lines.count(b"") - lines.count(b"\r")


def last_byte(data: bytes, before: int) -> int:
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
    is then a record unless it is empty. A line left with another quote (a quote inside a
    value, or a quoted field that runs over the line end) is walked quote by quote, with the
    lines its quoted field runs over, until a record ends outside quotes (`_walk`); so is a
    block that is unusual (it starts inside a record, has a lone CR, or is longer than
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
        self._last = last_byte(data, self._last)
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
                pos = self._skip_quoted(data, pos)
                continue
            m = (_JUNK_STOP if self._junk else _UNQUOTED_STOP).search(data, pos)
            stop = m.start() if m else n
            if stop > pos:
                self._content = True
            if m is None:
                return n
            c = data[stop]
            if c == 0x22:
                self._in_quotes = self._junk or field_start(data, stop, self._last)
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

    def _skip_quoted(self, data: bytes, pos: int) -> int:
        """Inside a quoted field: skip to the quote that closes it (or to the block's end)."""
        n = len(data)
        q = data.find(b'"', pos)
        if q < 0:
            return n
        if q + 1 == n:
            self._quote_at_end = True  # closing or doubled: the next block tells
            return n
        if data[q + 1] == 0x22:
            return q + 2
        self._in_quotes = False
        self._junk = data[q + 1] not in (0x2C, 0x0A, 0x0D)
        return q + 1

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
