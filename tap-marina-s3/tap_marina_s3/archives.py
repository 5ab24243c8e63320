"""One reader per archive format (zip; gzip'd tar), never per table.

An archive is checked as a whole when it is opened, before any row is read: a damaged archive,
an unsafe member path or a member beyond the size limits raises `ExportError` naming the export
and the member, so the run fails before staging is touched and the export's state stays put.
"""

from __future__ import annotations

import gzip
import logging
import os
import shutil
import tarfile
import tempfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO

logger = logging.getLogger("tap-marina-s3")


class ExportError(RuntimeError):
    """An export that cannot be read; the message names the export and, if known, the member."""


@dataclass(frozen=True)
class Limits:
    max_member_bytes: int = 20 * 1024**3
    max_compression_ratio: float = 1000.0


def check_member_name(export: str, name: str) -> None:
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        raise ExportError(f"{export}: member {name!r} has an absolute path")
    if ".." in path.parts:
        raise ExportError(f"{export}: member {name!r} contains '..'")


def _check_size(export: str, name: str, size: int, compressed: int, limits: Limits) -> None:
    if size > limits.max_member_bytes:
        raise ExportError(
            f"{export}: member {name!r} is {size} bytes, over the limit of "
            f"{limits.max_member_bytes} (setting max_member_bytes)"
        )
    if compressed > 0 and size / compressed > limits.max_compression_ratio:
        raise ExportError(
            f"{export}: member {name!r} expands {size / compressed:.0f}x, over the limit of "
            f"{limits.max_compression_ratio:.0f}x (setting max_compression_ratio)"
        )


class Archive:
    """Members of one export, by name, each opened as a binary stream."""

    names: list[str]

    def open(self, name: str) -> BinaryIO:
        raise NotImplementedError

    def close(self) -> None:  # pragma: no cover - trivial
        pass


class ZipArchive(Archive):
    def __init__(self, export: str, path: Path, limits: Limits) -> None:
        self.export = export
        try:
            self.zip = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, EOFError, OSError) as exc:
            raise ExportError(f"{export}: not a readable zip archive ({exc})") from None
        self.names = []
        for info in self.zip.infolist():
            check_member_name(export, info.filename)
            if info.is_dir():
                continue
            _check_size(export, info.filename, info.file_size, info.compress_size, limits)
            self.names.append(info.filename)

    def open(self, name: str) -> BinaryIO:
        return _Guarded(self.zip.open(name), self.export, name)

    def close(self) -> None:
        self.zip.close()


class TarGzArchive(Archive):
    """A gzip'd tar is read once, sequentially, into a private temporary folder."""

    def __init__(self, export: str, path: Path, limits: Limits) -> None:
        self.export = export
        self.tmp = Path(tempfile.mkdtemp(prefix="marina-tar-"))
        self.files: dict[str, Path] = {}
        self.names = []
        compressed_total = os.path.getsize(path)
        try:
            with tarfile.open(path, mode="r|gz") as tar:
                for index, member in enumerate(tar):
                    check_member_name(export, member.name)
                    if member.isdir():
                        continue
                    if not member.isfile():
                        raise ExportError(
                            f"{export}: member {member.name!r} is not a regular file "
                            "(links and devices are not accepted)"
                        )
                    _check_size(export, member.name, member.size, 0, limits)
                    target = self.tmp / f"{index:06d}.csv"
                    source = tar.extractfile(member)
                    with open(target, "wb") as out:
                        shutil.copyfileobj(source, out, 1024 * 1024)
                    self.files[member.name] = target
                    self.names.append(member.name)
        except ExportError:
            self.close()
            raise
        except (tarfile.TarError, EOFError, gzip.BadGzipFile, zlib.error, OSError) as exc:
            self.close()
            truncated = isinstance(exc, EOFError) or "end of data" in str(exc)
            kind = "truncated gzip/tar" if truncated else "corrupt gzip/tar"
            raise ExportError(f"{export}: {kind} archive ({type(exc).__name__}: {exc})") from None
        total = sum(p.stat().st_size for p in self.files.values())
        if compressed_total and total / compressed_total > limits.max_compression_ratio:
            self.close()
            raise ExportError(
                f"{export}: expands {total / compressed_total:.0f}x, over the limit of "
                f"{limits.max_compression_ratio:.0f}x (setting max_compression_ratio)"
            )

    def open(self, name: str) -> BinaryIO:
        return open(self.files[name], "rb", buffering=1024 * 1024)

    def close(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)


class _Guarded:
    """Wraps a member stream so that a read failure names the export and member."""

    def __init__(self, stream: BinaryIO, export: str, name: str) -> None:
        self.stream, self.export, self.name = stream, export, name

    def read(self, size: int = -1) -> bytes:
        try:
            return self.stream.read(size)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
            raise ExportError(f"{self.export}: member {self.name!r} is damaged ({exc})") from None

    def close(self) -> None:
        self.stream.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def open_archive(export: str, path: Path, limits: Limits) -> Archive:
    """Open an export by its content (magic bytes), not its name."""
    with open(path, "rb") as f:
        magic = f.read(4)
    if magic.startswith(b"PK"):
        return ZipArchive(export, path, limits)
    if magic.startswith(b"\x1f\x8b"):
        return TarGzArchive(export, path, limits)
    raise ExportError(
        f"{export}: neither a zip nor a gzip archive (first bytes {magic!r}); "
        "the file may be truncated or not an export"
    )
