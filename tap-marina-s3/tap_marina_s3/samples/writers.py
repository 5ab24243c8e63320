"""Archive writers. Both stream: a zip member is written through ZipFile.open(name, "w"); a tar
member is written to a temporary file first (tar needs the size up front) and then copied in.

MOLO: `.zip` of CSVs, CRLF line ends. Stellar: gzip'd tar (named `.sql.gz`) with `data/<t>.csv`, LF.
Both UTF-8 without BOM, csv.QUOTE_MINIMAL. Archive timestamps are the export time, so equal inputs
give equal archives; the file's mtime is set to the export time as well.
"""

from __future__ import annotations

import calendar
import csv
import datetime as dt
import gzip
import io
import os
import tarfile
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

LINE_END = {"molo": "\r\n", "stellar": "\n"}  # MOLO (a .NET export) ends lines with CRLF
LEVEL = 1  # fast deflate: the archives are test data, speed matters more than size


class Sink:
    """A CSV member: `writer` (csv.writer) for rows, `write_lines` for lines whose fields are
    already quoted the csv.writer way (the generator's fast path)."""

    def __init__(self, text: io.TextIOWrapper, lineterminator: str) -> None:
        self.text, self.lineterminator = text, lineterminator
        self.writer = csv.writer(text, lineterminator=lineterminator)

    def write_lines(self, lines: list[str]) -> None:
        if lines:
            self.text.write(self.lineterminator.join(lines) + self.lineterminator)

    def parse(self, line: str) -> list[str]:
        """The fields of one pre-quoted line (inverse of format)."""
        return next(csv.reader(io.StringIO(line + self.lineterminator, newline="")))

    def format(self, row: list[str]) -> str:
        buf = io.StringIO(newline="")
        csv.writer(buf, lineterminator=self.lineterminator).writerow(row)
        return buf.getvalue()[: -len(self.lineterminator)]


def epoch(when: dt.datetime) -> int:
    """Naive export time taken as UTC for file timestamps."""
    return calendar.timegm(when.timetuple())


class ZipExport:
    lineterminator = LINE_END["molo"]

    def __init__(self, path: Path, when: dt.datetime) -> None:
        self.path, self.when = path, when
        self.zf = zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=LEVEL)

    @contextmanager
    def member(self, name: str) -> Iterator[Sink]:
        info = zipfile.ZipInfo(name, date_time=self.when.timetuple()[:6])
        info.compress_type = zipfile.ZIP_DEFLATED
        for attr in ("compress_level", "_compresslevel"):  # public only from Python 3.13
            try:
                setattr(info, attr, LEVEL)
                break
            except AttributeError:
                continue
        info.external_attr = 0o644 << 16
        with self.zf.open(info, "w") as raw:
            text = io.TextIOWrapper(raw, encoding="utf-8", newline="", write_through=False)
            yield Sink(text, self.lineterminator)
            text.flush()
            text.detach()

    def close(self) -> None:
        self.zf.close()
        os.utime(self.path, (epoch(self.when), epoch(self.when)))


class TarGzExport:
    lineterminator = LINE_END["stellar"]

    def __init__(self, path: Path, when: dt.datetime) -> None:
        self.path, self.when = path, when
        self.raw = open(path, "wb")  # noqa: SIM115 - closed in close()
        self.gz = gzip.GzipFile(filename="", mode="wb", fileobj=self.raw, compresslevel=LEVEL, mtime=epoch(when))
        self.tar = tarfile.open(fileobj=self.gz, mode="w", format=tarfile.PAX_FORMAT)  # noqa: SIM115 - as raw

    @contextmanager
    def member(self, name: str) -> Iterator[Sink]:
        with tempfile.TemporaryFile(dir=self.path.parent) as tmp:
            text = io.TextIOWrapper(tmp, encoding="utf-8", newline="")
            yield Sink(text, self.lineterminator)
            text.flush()
            size = tmp.tell()
            tmp.seek(0)
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = size, epoch(self.when), 0o644
            self.tar.addfile(info, tmp)
            text.detach()

    def close(self) -> None:
        self.tar.close()
        self.gz.close()
        self.raw.close()
        os.utime(self.path, (epoch(self.when), epoch(self.when)))


WRITERS: dict[str, Callable[[Path, dt.datetime], ZipExport | TarGzExport]] = {
    "molo": ZipExport,
    "stellar": TarGzExport,
}
