"""Finding exports in S3 (or any S3-compatible store) or in a local folder, and fetching them.

The tap reads exports with it and `marina-ops check` lists them with it, so both see the same
exports. boto3 is imported only for S3 (marina-common[s3])."""

from __future__ import annotations

import datetime as dt
import fnmatch
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

logger = logging.getLogger(__name__)

_STAMP = re.compile(
    r"(?P<y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})[_T -](?P<H>\d{2})[-_:.](?P<M>\d{2})(?:[-_:.](?P<S>\d{2}))?"
)


def exported_at_from_name(key: str) -> dt.datetime | None:
    """The export's timestamp from its file name (`..._2025-11-17_08-30-00.zip`), if it has one."""
    m = _STAMP.search(key.rsplit("/", 1)[-1])
    if not m:
        return None
    try:
        return dt.datetime(int(m["y"]), int(m["m"]), int(m["d"]), int(m["H"]), int(m["M"]), int(m["S"] or 0))
    except ValueError:
        return None


@dataclass(frozen=True)
class ExportRef:
    """One export object: where it is and how to recognise it again."""

    system: str
    location: str  # s3://bucket/key or an absolute local path
    key: str  # the S3 key or the path relative to the folder
    etag: str
    size: int
    last_modified: dt.datetime  # UTC, naive

    @property
    def exported_at(self) -> dt.datetime:
        return exported_at_from_name(self.key) or self.last_modified

    @property
    def version(self) -> int:
        """The Singer table version for this export: its timestamp in milliseconds."""
        return int(self.exported_at.replace(tzinfo=dt.UTC).timestamp() * 1000)

    def identity(self) -> dict:
        return {
            "key": self.key,
            "etag": self.etag,
            "size": self.size,
            "last_modified": self.last_modified.isoformat(),
        }

    def matches(self, seen: dict) -> bool:
        return seen.get("key") == self.key and seen.get("etag") == self.etag and seen.get("size") == self.size


class StorageError(RuntimeError):
    """The exports cannot be listed or fetched (missing folder, bucket, credentials, access)."""


class Store:
    """A place that holds exports: an S3 bucket with a prefix, or a local folder."""

    def list(self, system: str, pattern: str) -> list[ExportRef]:
        raise NotImplementedError

    def fetch(self, ref: ExportRef, folder: Path) -> Path:
        """A local, seekable copy of the export (or the file itself for a local folder)."""
        raise NotImplementedError


def _matches(key: str, pattern: str) -> bool:
    return fnmatch.fnmatch(key.rsplit("/", 1)[-1].lower(), pattern.lower())


class LocalStore(Store):
    def __init__(self, folder: str, prefix: str = "") -> None:
        if folder.startswith("file://"):
            folder = unquote(urlparse(folder).path)
        self.root = Path(folder).expanduser().resolve()
        self.prefix = prefix

    def list(self, system: str, pattern: str) -> list[ExportRef]:
        if not self.root.is_dir():
            what = "is not a folder" if self.root.exists() else "does not exist"
            raise StorageError(
                f"{system}: export folder {self.root} {what} (setting {system}_path): create it, "
                f"or point {system}_path (TAP_MARINA_S3_{system.upper()}_PATH) at the exports"
            )
        refs = []
        # os.walk skips a folder it cannot read: raise instead, or the exports would look absent
        for dirpath, _, files in os.walk(self.root, onerror=self._unreadable):
            for name in files:
                path = Path(dirpath, name)
                key = path.relative_to(self.root).as_posix()
                if not key.startswith(self.prefix) or not _matches(key, pattern):
                    continue
                st = path.stat()
                refs.append(
                    ExportRef(
                        system=system,
                        location=str(path),
                        key=key,
                        etag=f"{st.st_size:x}-{st.st_mtime_ns:x}",
                        size=st.st_size,
                        last_modified=dt.datetime.fromtimestamp(st.st_mtime, dt.UTC).replace(tzinfo=None),
                    )
                )
        return refs

    def fetch(self, ref: ExportRef, folder: Path) -> Path:  # noqa: ARG002 - read in place, no copy
        return Path(ref.location)

    @staticmethod
    def _unreadable(exc: OSError) -> None:
        raise StorageError(f"export folder {exc.filename} is not readable by this user ({exc.strerror})") from exc


class S3Store(Store):
    def __init__(self, bucket: str, prefix: str, client_kwargs: dict, profile: str | None) -> None:
        import boto3  # noqa: PLC0415 - only S3 needs AWS (marina-common[s3])

        session = boto3.session.Session(profile_name=profile) if profile else boto3.session.Session()
        self.client = session.client("s3", **{k: v for k, v in client_kwargs.items() if v})
        self.bucket = bucket
        self.prefix = prefix

    def list(self, system: str, pattern: str) -> list[ExportRef]:
        from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415 - as boto3 above

        refs = []
        paginator = self.client.get_paginator("list_objects_v2")
        try:
            pages = list(paginator.paginate(Bucket=self.bucket, Prefix=self.prefix))
        except (BotoCoreError, ClientError) as exc:  # wrong bucket, no access, no credentials
            raise StorageError(
                f"{system}: cannot list the exports in s3://{self.bucket}/{self.prefix} ({exc}); "
                f"check {system}_bucket, the AWS credentials and their s3:ListBucket right "
                "(`make check` explains the S3 error codes)"
            ) from exc
        for page in pages:
            for obj in page.get("Contents", []):
                if not _matches(obj["Key"], pattern):
                    continue
                refs.append(
                    ExportRef(
                        system=system,
                        location=f"s3://{self.bucket}/{obj['Key']}",
                        key=obj["Key"],
                        etag=obj.get("ETag", "").strip('"'),
                        size=obj["Size"],
                        last_modified=obj["LastModified"].astimezone(dt.UTC).replace(tzinfo=None),
                    )
                )
        return refs

    def fetch(self, ref: ExportRef, folder: Path) -> Path:
        target = folder / ref.key.replace("/", "__")
        with open(target, "wb") as out:
            self.client.download_fileobj(self.bucket, ref.key, out)
        return target


# The tap's settings that make its S3 client (boto3 client arguments).
S3_CLIENT_SETTINGS = {
    "region_name": "aws_region",
    "endpoint_url": "endpoint_url",
    "aws_access_key_id": "aws_access_key_id",
    "aws_secret_access_key": "aws_secret_access_key",
    "aws_session_token": "aws_session_token",
}


def store_for(system: str, settings: Mapping, **client_options: object) -> Store | None:
    """The system's exports from the tap's settings: its bucket (`<system>_bucket`, the `aws_*`
    settings, `endpoint_url`) or else its folder (`<system>_path`), under `<system>_prefix`;
    None when neither is set. `client_options` go to the S3 client as they are (e.g. a botocore
    `config` with short timeouts for a check)."""
    prefix = settings.get(f"{system}_prefix") or ""
    if bucket := settings.get(f"{system}_bucket"):
        client = {name: settings.get(setting) for name, setting in S3_CLIENT_SETTINGS.items()}
        return S3Store(bucket, prefix, {**client, **client_options}, settings.get("aws_profile"))
    if path := settings.get(f"{system}_path"):
        return LocalStore(path, prefix)
    return None


def order(refs: list[ExportRef]) -> list[ExportRef]:
    """Oldest first: by LastModified, then key."""
    return sorted(refs, key=lambda r: (r.last_modified, r.key))


def pending(refs: list[ExportRef], loaded: list[dict], mode: str) -> list[ExportRef]:
    """Exports to load now, oldest first.

    Only exports newer than the newest one already loaded are candidates, so staging never goes
    back in time. `latest` takes the newest candidate; `all` takes every candidate.
    """
    ordered = order(refs)
    newest_loaded = -1
    for i, ref in enumerate(ordered):
        if any(ref.matches(seen) for seen in loaded):
            newest_loaded = i
    candidates = ordered[newest_loaded + 1 :]
    skipped = [r.key for r in ordered[: newest_loaded + 1] if not any(r.matches(s) for s in loaded)]
    if skipped:
        logger.warning(
            "Not loading %d export(s) older than the newest one already loaded: %s",
            len(skipped),
            ", ".join(skipped),
        )
    if mode == "latest":
        return candidates[-1:]
    return candidates


def temp_folder() -> Path:
    return Path(tempfile.mkdtemp(prefix="marina-export-"))


def remove_folder(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
