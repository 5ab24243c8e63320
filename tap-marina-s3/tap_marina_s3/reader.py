"""One CSV reader for every table: decode, match headers to catalog columns, type each row.

1. A Python pass copies the member to a temporary UTF-8 file: lines that are not UTF-8 are
   decoded as cp1252 (else latin-1) and counted; a BOM is dropped; the header row is parsed.
2. An embedded DuckDB reads that file with every field as text (quotes, doubled quotes, quoted
   newlines, CRLF/LF) and types it with the SQL of `typing_sql`. Each row becomes either the JSON of
   a Singer record or a reject with every error and its column. Nothing is dropped.
Rows stream out in file order; memory does not grow with the file.
"""

from __future__ import annotations

import csv
import io
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import duckdb

from .catalog import Table, normalize_header
from .typing_sql import quote, typed

logger = logging.getLogger("tap-marina-s3")

FALLBACK_ENCODING = "cp1252"
EXTRA_FIELDS = 16  # fields beyond the header that are counted exactly in a too-long row
CHUNK_ROWS = 2_000_000  # rows per DuckDB query (planning a query costs ~0.1-0.4 s)
THREADS = 2  # DuckDB threads: a well-formed file is scanned and typed in parallel
FETCH_ROWS = 256  # rows per fetch from the streaming result: bounds memory (measured:
# 5,000 rows per fetch peaked at ~490 MB on a 96-column table, 256 at ~285 MB, same speed)


@dataclass
class ReadStats:
    rows_read: int = 0
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


class Chunker:
    """Copies a member into UTF-8 chunk files of at most `rows` rows each, without the header.

    Rows are found by quote parity (a doubled quote inside a quoted field counts twice), so a
    quoted newline never splits a row. Lines that are not UTF-8 are decoded as cp1252 (else
    latin-1) and the rows holding them counted; a BOM is dropped.
    """

    def __init__(self, folder: Path, stem: str, rows: int, stats: ReadStats) -> None:
        self.folder, self.stem, self.rows, self.stats = folder, stem, rows, stats
        self.header: list[str] | None = None

    def chunks(self, raw: BinaryIO) -> Iterator[tuple[Path, int]]:
        """Yield (chunk file, number of rows in it); each file is deleted after use."""
        stats = self.stats
        header_lines: list[bytes] = []
        out = None
        path = None
        count = 0
        in_quotes = False
        fallback_row = False
        index = 0
        try:
            for line in raw:
                stats.bytes_read += len(line)
                if not line.isascii():
                    try:
                        line.decode("utf-8")
                    except UnicodeDecodeError:
                        fallback_row = True
                        try:
                            text = line.decode(FALLBACK_ENCODING)
                        except UnicodeDecodeError:
                            text = line.decode("latin-1")
                        line = text.encode("utf-8")
                quotes = line.count(b'"')
                if self.header is None:
                    header_lines.append(line)
                    in_quotes ^= quotes % 2 == 1
                    if not in_quotes:
                        text = b"".join(header_lines).decode("utf-8").lstrip("\ufeff")
                        self.header = next(csv.reader(io.StringIO(text)), [])
                        fallback_row = False
                    continue
                if out is None:
                    index += 1
                    path = self.folder / f"{self.stem}.{index:05d}.csv"
                    out = open(path, "wb", buffering=1024 * 1024)
                out.write(line)
                if quotes % 2:
                    in_quotes = not in_quotes
                if in_quotes or not line.strip():
                    continue  # inside a quoted field, or a blank line (not a row)
                count += 1
                if fallback_row:
                    stats.lines_decoded_fallback += 1
                    fallback_row = False
                if count == self.rows:
                    out.close()
                    out = None
                    yield path, count
                    path.unlink(missing_ok=True)
                    count = 0
            if out is not None:
                out.close()
                out = None
                if count or in_quotes:
                    yield path, count
        finally:
            if out is not None:
                out.close()
            if path is not None:
                path.unlink(missing_ok=True)


class TableReader:
    """Reads one CSV member of one export; yields Singer RECORD lines and rejects."""

    def __init__(self, table: Table, *, day_first: bool = False, work_dir: Path) -> None:
        self.has_header = False
        self.table = table
        self.day_first = day_first
        self.work_dir = work_dir
        self.stats = ReadStats()

    def match_header(self, header: list[str]) -> tuple[list[int | None], list[int]]:
        """Match the file's header to the catalog and record missing and extra columns."""
        positions, extras = match_columns(self.table, header)
        self.stats.missing_columns = [
            c.name for c, p in zip(self.table.columns, positions) if p is None]
        self.stats.extra_columns = [header[i] for i in extras]
        return positions, extras

    def build_query(self, path: Path, header: list[str], prefix: str, *, strict: bool = False) -> str:
        """The typing query. `strict`: every row is known to have exactly the header's fields,
        so DuckDB may scan the file in parallel (it cannot pad short rows in parallel)."""
        table = self.table
        positions, extras = self.match_header(header)
        width = len(header)
        ncols = width if strict else width + EXTRA_FIELDS
        columns = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(ncols)) + "}"
        scan = ("null_padding=false, strict_mode=true, parallel=true" if strict else
                "null_padding=true, strict_mode=false, parallel=false")
        source = (
            f"read_csv({quote(str(path))}, header=false, columns={columns}, delim=',', "
            f"quote='\"', escape='\"', nullstr='\x01', {scan}, "
            "auto_detect=false, max_line_size=2097152, buffer_size=4194304)"
        )
        names = [c.name for c in table.columns]
        parsed, values, errors = [], [], []
        for i, (column, pos) in enumerate(zip(table.columns, positions)):
            v = f"c{pos}" if pos is not None else "CAST(NULL AS VARCHAR)"
            sql = typed(column, day_first=self.day_first)
            x = f"x{i}"
            parsed.append(f"{sql.render('parse', v, x)} AS {x}")
            values.append(f"({sql.render('value', v, x)})")
            err = sql.render("error", v, x)
            if column.name in table.primary_key:
                err = f"coalesce({err}, CASE WHEN {x} IS NULL THEN 'primary key column is empty' END)"
            errors.append((column.name, v, f"({err})"))
        ok = " AND ".join(f"e{i} IS NULL" for i in range(len(names)))
        # The row has exactly `width` fields when the last one is there and the next is not
        # (padding fills missing fields with NULL); the exact count is only needed for rejects.
        shape_ok = "TRUE" if strict else f"c{width - 1} IS NOT NULL AND c{width} IS NULL"
        nfields = " + ".join(f"(c{i} IS NOT NULL)::INT" for i in range(ncols))
        key_idx = [names.index(k) for k in table.primary_key]
        key_text = " || '|' || ".join(f"CAST(v{i} AS VARCHAR)" for i in key_idx)
        key_ok = " AND ".join(f"e{i} IS NULL" for i in key_idx)
        raw_json = "json_object(" + ", ".join(f"{quote(h)}, c{i}" for i, h in enumerate(header)) + ")"
        error_list = ("list_filter([" + ", ".join(
            f"{{'column': {quote(name)}, 'value': {v}, 'error': e{i}}}"
            for i, (name, v, _) in enumerate(errors)
        ) + "], lambda e: e.error IS NOT NULL)")
        extra_json = "NULL"
        if extras:
            any_extra = " OR ".join(f"coalesce(c{i}, '') <> ''" for i in extras)
            extra_json = (f"CASE WHEN {any_extra} THEN json_object("
                          + ", ".join(f"{quote(header[i])}, c{i}" for i in extras) + ") END")
        business = "struct_pack(" + ", ".join(
            f'"{c.property_name}" := v{i}' for i, c in enumerate(table.columns)) + ")"
        lines = ", ".join(f"c{i}" for i in range(width))
        # Stacked projections, each computing its columns once: parse (x_i); type and check
        # (v_i, e_i); all good? (ok); serialize the business values (j); assemble the line. The
        # row hash is the md5 of j: the canonical JSON of the typed values in catalog order.
        return f"""
SELECT
  CASE WHEN ok THEN {quote(prefix)} || substr(j, 2, length(j) - 2)
    || ',"_sdc_extra":' || coalesce(CAST({extra_json} AS VARCHAR), 'null')
    || ',"_sdc_row_hash":"' || md5(j) || '"' END AS rec,
  CASE WHEN ok THEN NULL
    WHEN NOT shape_ok THEN to_json({{
      'raw_values': {{'fields': [{lines}]}},
      'errors': [{{'column': NULL, 'value': NULL,
                  'error': 'expected {width} fields, found ' ||
                    CASE WHEN ({nfields}) >= {ncols} THEN 'more than {ncols - 1}'
                    ELSE CAST(({nfields}) AS VARCHAR) END}}],
      'record_key': NULL}})
    ELSE to_json({{
      'raw_values': {raw_json},
      'errors': {error_list},
      'record_key': CASE WHEN {key_ok} THEN {key_text} END}})
  END AS rej
FROM (SELECT *, CASE WHEN ok THEN CAST(to_json({business}) AS VARCHAR) END AS j FROM (
  SELECT *, shape_ok AND {ok} AS ok FROM (
  SELECT {", ".join(f"c{i}" for i in range(ncols))}, shape_ok, {", ".join(f"{v} AS v{i}, {e} AS e{i}" for i, (v, (_, _, e)) in enumerate(zip(values, errors)))}
  FROM (
    SELECT {", ".join(f"c{i}" for i in range(ncols))}, {shape_ok} AS shape_ok, {", ".join(parsed)}
    FROM {source}))))"""

    @staticmethod
    def well_formed(con: duckdb.DuckDBPyConnection, path: Path, width: int) -> bool:
        """True when every row has exactly `width` fields: a quick parallel scan (~0.3 s per
        100K rows) that lets the typing query scan in parallel too. Otherwise the typing query
        reads serially, padding short rows so that they become rejects."""
        columns = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(width)) + "}"
        try:
            con.execute(
                f"SELECT count(*) FROM read_csv({quote(str(path))}, header=false, "
                f"columns={columns}, delim=',', quote='\"', escape='\"', nullstr='\x01', "
                "null_padding=false, strict_mode=true, parallel=true, auto_detect=false, "
                "max_line_size=2097152)"
            ).fetchall()
        except duckdb.Error:
            return False
        return True

    def rows(self, raw: BinaryIO, prefix: str, suffix: str) -> Iterator[bytes | Reject]:
        """Yield encoded RECORD lines (in batches) and `Reject`s, in file order.

        `prefix` opens the RECORD message up to the record's first property; each record's line
        is prefix + properties + `,"_sdc_row_number":N` + suffix.
        """
        stats = self.stats
        chunker = Chunker(self.work_dir, self.table.stream, CHUNK_ROWS, stats)
        con = duckdb.connect(config={"threads": THREADS, "memory_limit": "320MB",
                                     "preserve_insertion_order": True})
        row_number = emitted = 0
        try:
            for path, _ in chunker.chunks(raw):
                strict = self.well_formed(con, path, len(chunker.header))
                cursor = con.execute(self.build_query(path, chunker.header, prefix, strict=strict))
                while rows := cursor.fetchmany(FETCH_ROWS):
                    lines = []
                    for rec, rej in rows:
                        row_number += 1
                        if rec is not None:
                            emitted += 1
                            lines.append(f'{rec},"_sdc_row_number":{row_number}{suffix}')
                        else:
                            if lines:
                                yield "".join(lines).encode("utf-8")
                                lines = []
                            detail = json.loads(rej)
                            yield Reject(row_number, detail["raw_values"], detail["errors"],
                                         detail["record_key"])
                    stats.rows_read = row_number
                    stats.rows_emitted = emitted
                    stats.rows_rejected = row_number - emitted
                    if lines:
                        yield "".join(lines).encode("utf-8")
            self.has_header = chunker.header is not None
            if chunker.header is not None and row_number == 0:
                self.match_header(chunker.header)  # a header-only file: still check its columns
        finally:
            con.close()
