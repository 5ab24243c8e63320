"""One CSV reader for every table: decode, match headers to catalog columns, type each row.

1. `prepare`: a Python pass copies the member to a temporary UTF-8 file (`transcode`), counting
   its records independently of DuckDB (`counting`) and taking out rows too long to load
   (`long_rows`); an embedded DuckDB then counts the rows it will read and tells whether the
   file is strict CSV (so that it may be scanned in parallel).
2. `write`: DuckDB types every row with the typing query (`typing_query`, `typing_sql`) under a
   memory limit sized by the table (`memory`): the good rows go to a Parquet file, the rejects,
   each with every error and its column, to a file of their own. Nothing is dropped.

The Parquet file is what batch mode sends; record mode reads it back (`TableRead.records`), so
both modes carry the same values, lineage and row hash.
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import BinaryIO, TextIO

import duckdb
import msgspec

from marina_common.catalog import LINEAGE, Table

from .headers import match_columns
from .memory import DUCKDB_CONFIG, SizedConnection
from .model import MAX_FIELD_BYTES, Lineage, ReadStats, Reject
from .transcode import Transcoded, Transcoder, lf_row_ends
from .typing_query import TypingQuery, csv_source
from .typing_sql import quote

PARQUET = "FORMAT parquet, ROW_GROUP_SIZE 20000"
FETCH_ROWS = 256  # rows per fetch from a streamed result: bounds memory on wide tables
RECORD_ROWS = 2048  # records per fetch in record mode (one JSON text each)
_DECODER = msgspec.json.Decoder(float_hook=Decimal)  # numbers with a point: exact decimals


@dataclass(frozen=True)
class TableRead:
    """One table of one export, read to the end: its good rows as a Parquet file (None when
    there are none), its rejects in a JSON-lines file, and the counts."""

    table: Table
    lineage: Lineage
    stats: ReadStats
    has_header: bool
    rows_file: Path | None
    rejects_file: Path

    def rejects(self) -> Iterator[Reject]:
        """The rejects, in file order (the file is removed once they are all read)."""
        with open(self.rejects_file, encoding="utf-8") as lines:
            for line in lines:
                yield Reject(**json.loads(line))
        self.rejects_file.unlink(missing_ok=True)

    def records(self) -> Iterator[dict]:
        """Record mode: the good rows as Singer records, in file order, read back from the
        Parquet file (removed once they are all read). DuckDB writes each row as JSON, the
        serialization the row hash is computed from (docs/design.md §4), decoded with exact
        decimals: each value goes out written as it was hashed."""
        if self.rows_file is None:
            return
        values = {f'"{c.property_name}"': f'"{c.property_name}"' for c in self.table.columns}
        values.update({f'"_{c.property_name}"': f'"_{c.property_name}"' for c in LINEAGE})
        values['"_sdc_extra"'] = 'json("_sdc_extra")'  # an object, not its text
        values['"_sdc_exported_at"'] = quote(self.lineage.exported_at)  # as the export names it
        row = ", ".join(f"{name} := {value}" for name, value in values.items())
        con = duckdb.connect(config=DUCKDB_CONFIG)
        try:
            cursor = con.execute(f"SELECT to_json(struct_pack({row})) FROM read_parquet({quote(str(self.rows_file))})")
            while rows := cursor.fetchmany(RECORD_ROWS):
                for (line,) in rows:
                    yield _DECODER.decode(line)
        finally:
            con.close()
        self.rows_file.unlink(missing_ok=True)

    def discard(self) -> None:
        """Drop a read that will not be used, with its files."""
        for path in (self.rows_file, self.rejects_file):
            if path is not None:
                path.unlink(missing_ok=True)


class TableReader:
    """Reads one CSV member of one export: `prepare` (copy and count; little memory), then
    `write` (type; memory by the table's width). Used once."""

    def __init__(
        self, table: Table, *, day_first: bool = False, work_dir: Path, max_field_bytes: int = MAX_FIELD_BYTES
    ) -> None:
        self.table = table
        self.day_first = day_first
        self.work_dir = work_dir
        self.max_field_bytes = max_field_bytes
        self.stats = ReadStats()
        self._file: Transcoded | None = None
        self._path: Path | None = None  # the rows DuckDB reads (the transcoded copy)
        self._db: SizedConnection | None = None
        self._query: TypingQuery | None = None  # None: no data row
        self._rows: int | None = None  # rows DuckDB will read, when they could be counted

    def prepare(self, raw: BinaryIO) -> None:
        """Copy the member as UTF-8, match its header and count its rows."""
        try:
            transcoder = Transcoder(self.work_dir, self.table.stream, self.stats, self.max_field_bytes)
            self._file = transcoder.copy(raw)
            header = self._file.header
            if header is None:
                return  # a zero-byte member
            positions, extras = match_columns(self.table, header)
            self.stats.missing_columns = [c.name for c, p in zip(self.table.columns, positions) if p is None]
            self.stats.extra_columns = [header[i] for i in extras]
            if self._file.path is not None:
                self._path = self._file.path
                self._db = SizedConnection(self.table.stream, len(self.table.columns), self._file.line_bytes)
                self._query = self._scan(header, positions, extras)
        except BaseException:
            self.close()
            raise

    def write(self, target: Path, lineage: Lineage) -> TableRead:
        """Type the rows: the good ones to the Parquet file `target` (not created when there are
        none), the rejects to a file in the work folder. The whole query runs inside DuckDB,
        which lets other Python threads run meanwhile. Rejects need a second typing pass, run
        only when some rows were not written (or the rows could not be counted)."""
        file = self._file
        rejects_file = self.work_dir / f"{self.table.stream}-{uuid.uuid4().hex}.rejects"
        written = rejected = 0
        try:
            with open(rejects_file, "w", encoding="utf-8") as out:
                rejected = _save(out, file.rejects if file else [])
                if self._query is not None:
                    copy = f"COPY ({self._query.good_rows(lineage)}) TO {quote(str(target))} ({PARQUET})"
                    written = self._db.run(lambda con: con.execute(copy).fetchone()[0])
                    if self._rows != written:
                        rejected += _save(out, self._typed_rejects())
        except BaseException:
            target.unlink(missing_ok=True)
            rejects_file.unlink(missing_ok=True)
            raise
        finally:
            self.close()
        if not written:
            target.unlink(missing_ok=True)
        self.stats.rows_emitted, self.stats.rows_rejected = written, rejected
        self.stats.rows_read = written + rejected
        has_header = file is not None and file.header is not None
        return TableRead(self.table, lineage, self.stats, has_header, target if written else None, rejects_file)

    def close(self) -> None:
        """Release the DuckDB connection and the temporary copy (safe to call twice)."""
        if self._db is not None:
            self._db.close()
            self._db = None
        if self._path is not None:
            self._path.unlink(missing_ok=True)
            self._path = None

    def _scan(self, header: list[str], positions: list[int | None], extras: list[int]) -> TypingQuery:
        """Count the rows the typing query will read and decide how DuckDB scans the file:
        strict (every row has the header's fields, in RFC 4180 form: a parallel scan) or padded
        and serial. A file with CRLF rows and LF in quoted fields is made strict first
        (`lf_row_ends`). Knowing the count lets `write` skip its rejects pass when every row
        was written."""
        line_bytes, path = self._file.line_bytes, self._path

        def count(path: Path, strict: bool) -> int | None:
            sql = f"SELECT count(*) FROM {csv_source(path, len(header), strict=strict, line_bytes=line_bytes)}"
            try:
                return self._db.run(lambda con: con.execute(sql).fetchone()[0])
            except duckdb.OutOfMemoryException:
                raise
            except duckdb.Error:
                return None  # not well formed (or, padded, not readable at all)

        self._rows = count(path, strict=True)
        if self._rows is None and (lf := lf_row_ends(path)) is not None:
            path.unlink()
            path = self._path = lf
            self._rows = count(path, strict=True)
        strict = self._rows is not None
        if not strict:
            self._rows = count(path, strict=False)
        return TypingQuery(
            table=self.table,
            header=header,
            positions=positions,
            extras=extras,
            source=csv_source(path, len(header), strict=strict, line_bytes=line_bytes),
            strict=strict,
            day_first=self.day_first,
            removed=tuple(self._file.removed),
        )

    def _typed_rejects(self) -> Iterator[Reject]:
        self._db.raise_limit()  # a streamed, sorted query is not retried
        cursor = self._db.con.execute(self._query.rejects())
        while rows := cursor.fetchmany(FETCH_ROWS):
            for row_number, reject in rows:
                detail = json.loads(reject)
                yield Reject(row_number, detail["raw_values"], detail["errors"], detail["record_key"])


def _save(out: TextIO, rejects: Iterable[Reject]) -> int:
    count = 0
    for reject in rejects:
        out.write(json.dumps(dataclasses.asdict(reject)) + "\n")
        count += 1
    return count
