"""One reader per archive format (zip; gzip'd tar), never per table.

An archive is checked as a whole when it is opened, before any row is read: a damaged archive,
an unsafe member path or a member beyond the size limits raises `ExportError` naming the export
and the member, so the run fails before staging is touched and the export's state stays put.
The sizes an archive declares can lie, so the limits are also enforced while a member is
inflated (`Meter`): it stops as soon as the member passes `max_member_bytes`, or inflates more
than `max_compression_ratio` times the compressed bytes read so far, before the block that
would pass the limit is written anywhere.
"""

from __future__ import annotations

import gzip
import logging
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
    """Defaults for real exports: the largest MOLO member is ~125 MB and CSV text compresses
    5-20:1 (a bomb: ~1000:1, deflate's most)."""

    max_member_bytes: int = 1024**3
    max_compression_ratio: int = 200


RATIO_FLOOR = 1 << 20  # a member is not judged by its ratio before this many bytes: a small
# member of empty fields may compress further than any real table, and cannot fill a disk
CHUNK = 1 << 20


class Meter:
    """Bytes inflated from one member, checked against the limits as each block comes out.
    `consumed()` gives the compressed bytes read so far for the member."""

    def __init__(self, export: str, name: str, limits: Limits, consumed) -> None:
        self.export, self.name, self.limits, self.consumed = export, name, limits, consumed
        self.inflated = 0

    def add(self, size: int) -> None:
        """Count a block of `size` bytes about to be used; raise before it would pass a limit."""
        inflated = self.inflated + size
        limits = self.limits
        if inflated > limits.max_member_bytes:
            raise ExportError(
                f"{self.export}: member {self.name!r} inflates to more than "
                f"{limits.max_member_bytes:,} bytes (setting max_member_bytes); refused after "
                f"{self.inflated:,} bytes. If the export is genuine, raise the limit."
            )
        consumed = max(self.consumed(), 0)
        if inflated > RATIO_FLOOR and inflated > limits.max_compression_ratio * max(consumed, 1):
            raise ExportError(
                f"{self.export}: member {self.name!r} expands more than "
                f"{limits.max_compression_ratio:g}x ({inflated:,} bytes from the {consumed:,} "
                f"compressed bytes read for it; setting max_compression_ratio); refused after "
                f"{self.inflated:,} bytes. If the export is genuine, raise the limit."
            )
        self.inflated = inflated


def check_member_name(export: str, name: str) -> None:
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        raise ExportError(f"{export}: member {name!r} has an absolute path")
    if ".." in path.parts:
        raise ExportError(f"{export}: member {name!r} contains '..'")


def _check_size(export: str, name: str, size: int, compressed: int | None, limits: Limits) -> None:
    """The sizes the archive declares (a tar declares no compressed size: None)."""
    if size > limits.max_member_bytes:
        raise ExportError(
            f"{export}: member {name!r} is {size:,} bytes, over the limit of "
            f"{limits.max_member_bytes:,} (setting max_member_bytes)"
        )
    if compressed is not None and size > RATIO_FLOOR and size > limits.max_compression_ratio * max(compressed, 1):
        raise ExportError(
            f"{export}: member {name!r} expands {size / max(compressed, 1):.0f}x, over the limit "
            f"of {limits.max_compression_ratio:g}x (setting max_compression_ratio)"
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
        self.limits = limits
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
        stream = self.zip.open(name)
        info = self.zip.getinfo(name)

        # zipfile keeps the compressed bytes still to read of the member (CPython, all versions
        # since 3.x); without it, the declared compressed size is the bound
        def consumed() -> int:
            return info.compress_size - getattr(stream, "_compress_left", 0)

        return _Guarded(stream, self.export, name, Meter(self.export, name, self.limits, consumed))

    def close(self) -> None:
        self.zip.close()


class TarGzArchive(Archive):
    """A gzip'd tar is read once, sequentially, into a private temporary folder."""

    def __init__(self, export: str, path: Path, limits: Limits) -> None:
        self.export = export
        self.tmp = Path(tempfile.mkdtemp(prefix="marina-tar-"))
        self.files: dict[str, Path] = {}
        self.names = []
        try:
            with open(path, "rb") as raw, tarfile.open(fileobj=raw, mode="r|gz") as tar:
                for index, member in enumerate(tar):
                    check_member_name(export, member.name)
                    if member.isdir():
                        continue
                    if not member.isfile():
                        raise ExportError(
                            f"{export}: member {member.name!r} is not a regular file "
                            "(links and devices are not accepted)"
                        )
                    _check_size(export, member.name, member.size, None, limits)
                    target = self.tmp / f"{index:06d}.csv"
                    source = tar.extractfile(member)
                    start = raw.tell()
                    meter = Meter(export, member.name, limits, lambda start=start: raw.tell() - start)
                    with open(target, "wb") as out:
                        while block := source.read(CHUNK):
                            meter.add(len(block))
                            out.write(block)
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

    def open(self, name: str) -> BinaryIO:
        return open(self.files[name], "rb", buffering=1024 * 1024)

    def close(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)


class _Guarded:
    """Wraps a member stream so that a read failure names the export and member."""

    def __init__(self, stream: BinaryIO, export: str, name: str, meter: Meter) -> None:
        self.stream, self.export, self.name, self.meter = stream, export, name, meter

    def read(self, size: int = -1) -> bytes:
        try:
            block = self.stream.read(size)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
            raise ExportError(f"{self.export}: member {self.name!r} is damaged ({exc})") from None
        self.meter.add(len(block))
        return block

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
