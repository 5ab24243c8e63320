"""`check`, part 1: can the exports be listed (S3 bucket/prefix or local folder), is the newest
one a readable archive, and is it recent enough?

Same rules as the tap: a system reads its bucket when one is set, else its path (meltano.yml sets
a path only in dev: elsewhere an unset bucket is named); an export is a key whose file name
matches the key pattern (case-insensitive); the newest is the last to arrive; it is late when it
arrived longer ago than `<system>_max_export_age_hours` (FAIL, or WARN with `late_export=warn`).
The newest export is opened only as far as needed to know it is an archive of the expected
layout: a zip's central directory (members, at least one .csv), a gzip's first tar header. On S3
that is a few ranged GETs, never the whole object.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import gzip
import io
import os
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

from . import env as envmod
from .check_config import DEFAULT_PATTERNS, SYSTEMS, enabled
from .env import Env


@dataclass
class Result:
    name: str
    status: str  # OK | WARN | FAIL
    message: str

    def line(self) -> str:
        return f"{self.status:<4}  {self.name}: {self.message}"


@dataclass(frozen=True)
class Export:
    key: str
    size: int
    arrived: dt.datetime  # UTC, naive


class ListingError(RuntimeError):
    """The exports cannot be listed; the message says why and what to do."""


def _matches(key: str, pattern: str) -> bool:
    return fnmatch.fnmatch(key.rsplit("/", 1)[-1].lower(), pattern.lower())


# --- opening the newest export ---------------------------------------------------------------
class _S3Range(io.RawIOBase):
    """A read-only, seekable S3 object: each read is one ranged GET (wrapped in a buffer)."""

    def __init__(self, client, bucket: str, key: str, size: int) -> None:
        self.client, self.bucket, self.key, self.size, self.pos = client, bucket, key, size, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        self.pos = {io.SEEK_SET: 0, io.SEEK_CUR: self.pos, io.SEEK_END: self.size}[whence] + offset
        return self.pos

    def readinto(self, buffer) -> int:
        if self.pos >= self.size or not len(buffer):
            return 0
        end = min(self.pos + len(buffer), self.size) - 1
        body = self.client.get_object(Bucket=self.bucket, Key=self.key, Range=f"bytes={self.pos}-{end}")["Body"]
        data = body.read()
        buffer[: len(data)] = data
        self.pos += len(data)
        return len(data)


def archive_problem(raw) -> tuple[str | None, str]:
    """(problem or None, what was found) for an export opened as a seekable binary file."""
    head = raw.read(4)
    raw.seek(0)
    if head[:2] == b"PK":
        try:
            names = zipfile.ZipFile(raw).namelist()
        except (zipfile.BadZipFile, OSError, ValueError) as exc:
            return f"not a readable zip ({exc}): truncated or damaged", ""
        csvs = [n for n in names if n.lower().endswith(".csv")]
        if not csvs:
            return f"zip of {len(names)} member(s), none a .csv", ""
        return None, f"zip of {len(names)} members, {len(csvs)} CSV"
    if head[:2] == b"\x1f\x8b":
        try:
            block = gzip.GzipFile(fileobj=raw).read(tarfile.BLOCKSIZE)
            first = tarfile.TarInfo.frombuf(block, "utf-8", "surrogateescape")
        except (OSError, EOFError, tarfile.TarError) as exc:
            return f"a gzip whose first tar header cannot be read ({exc}): truncated or not a tar", ""
        return None, f"gzip'd tar, first member {first.name}"
    return f"neither a zip nor a gzip archive (first bytes {head!r})", ""


# --- listing ---------------------------------------------------------------------------------
def list_folder(system: str, folder: str, prefix: str, pattern: str) -> tuple[str, list[Export], Path]:
    if folder.startswith("file://"):
        folder = unquote(urlparse(folder).path)
    root = Path(folder).expanduser().resolve()
    setting = f"TAP_MARINA_S3_{system.upper()}_PATH"
    if not root.exists():
        raise ListingError(f"local folder {root} does not exist ({setting}): create it or fix the setting")
    if not root.is_dir():
        raise ListingError(f"{root} is not a folder ({setting})")
    if not os.access(root, os.R_OK | os.X_OK):
        raise ListingError(f"local folder {root} is not readable by this user")
    found = []
    for p in root.rglob("*"):
        key = p.relative_to(root).as_posix()
        if p.is_file() and key.startswith(prefix) and _matches(key, pattern):
            st = p.stat()
            found.append(Export(key, st.st_size, dt.datetime.fromtimestamp(st.st_mtime, dt.UTC).replace(tzinfo=None)))
    return f"local folder {root}", found, root


# S3 error codes with a plain explanation.
S3_ERRORS = {
    "NoSuchBucket": "bucket {bucket!r} does not exist (check {bucket_setting})",
    "InvalidAccessKeyId": "bad credentials: the AWS access key id is not known (AWS_ACCESS_KEY_ID / "
    "TAP_MARINA_S3_AWS_ACCESS_KEY_ID / AWS_PROFILE)",
    "SignatureDoesNotMatch": "bad credentials: the AWS secret access key does not match the key id "
    "(AWS_SECRET_ACCESS_KEY / TAP_MARINA_S3_AWS_SECRET_ACCESS_KEY)",
    "InvalidToken": "bad credentials: the AWS session token is invalid (AWS_SESSION_TOKEN)",
    "ExpiredToken": "bad credentials: the AWS session token has expired (AWS_SESSION_TOKEN)",
    "AccessDenied": "access denied to s3://{bucket}/{prefix}: the credentials are valid but may not list "
    "the bucket or read its objects (s3:ListBucket, s3:GetObject)",
    "AllAccessDisabled": "all access to bucket {bucket!r} is disabled",
    "PermanentRedirect": "bucket {bucket!r} is in another region than {region!r} (TAP_MARINA_S3_AWS_REGION)",
    "AuthorizationHeaderMalformed": "bucket {bucket!r} is in another region than {region!r} (TAP_MARINA_S3_AWS_REGION)",
}


def s3_client(cfg: dict):
    import boto3
    from botocore.config import Config

    session = (
        boto3.session.Session(profile_name=cfg["aws_profile"]) if cfg.get("aws_profile") else boto3.session.Session()
    )
    kwargs = {
        "region_name": cfg.get("aws_region"),
        "endpoint_url": cfg.get("endpoint_url"),
        "aws_access_key_id": cfg.get("aws_access_key_id"),
        "aws_secret_access_key": cfg.get("aws_secret_access_key"),
        "aws_session_token": cfg.get("aws_session_token"),
    }
    return session.client(
        "s3",
        config=Config(retries={"max_attempts": 2}, connect_timeout=10, read_timeout=30),
        **{k: v for k, v in kwargs.items() if v},
    )


def s3_problem(exc: Exception, system: str, cfg: dict) -> str:
    """One line for an S3 / botocore error."""
    from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError, ProfileNotFound

    bucket, prefix = cfg[f"{system}_bucket"], cfg.get(f"{system}_prefix") or ""
    if isinstance(exc, ProfileNotFound):
        return f"AWS profile not found ({exc})"
    if isinstance(exc, NoCredentialsError):
        return (
            "no AWS credentials found (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, TAP_MARINA_S3_AWS_*, "
            "AWS_PROFILE or an instance role)"
        )
    if isinstance(exc, EndpointConnectionError):
        return f"cannot reach the S3 endpoint ({exc}): network, proxy or TAP_MARINA_S3_ENDPOINT_URL"
    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        if code in S3_ERRORS:
            fields = {
                "bucket": bucket,
                "prefix": prefix,
                "region": cfg.get("aws_region") or "",
                "bucket_setting": f"MARINA_{system.upper()}_BUCKET / TAP_MARINA_S3_{system.upper()}_BUCKET",
            }
            return S3_ERRORS[code].format(**fields) + f" [{code}]"
    return f"{type(exc).__name__}: {exc}"


def list_bucket(system: str, cfg: dict):
    bucket, prefix = cfg[f"{system}_bucket"], cfg.get(f"{system}_prefix") or ""
    pattern = cfg.get(f"{system}_key_pattern") or DEFAULT_PATTERNS[system]
    client = s3_client(cfg)
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    found = [
        Export(o["Key"], o["Size"], o["LastModified"].astimezone(dt.UTC).replace(tzinfo=None))
        for page in pages
        for o in page.get("Contents", [])
        if _matches(o["Key"], pattern)
    ]
    return f"s3://{bucket}/{prefix}", found, client


# --- the check -------------------------------------------------------------------------------
def _age(arrived: dt.datetime, now: dt.datetime) -> str:
    hours = (now - arrived).total_seconds() / 3600
    return f"{hours:.0f} h ago" if hours < 72 else f"{hours / 24:.0f} days ago"


def check_system(system: str, cfg: dict, env: Env, now: dt.datetime | None = None) -> Result:
    name = f"exports {system}"
    now = now or dt.datetime.now(dt.UTC).replace(tzinfo=None)
    pattern = cfg.get(f"{system}_key_pattern") or DEFAULT_PATTERNS[system]
    prefix = cfg.get(f"{system}_prefix") or ""
    bucket = cfg.get(f"{system}_bucket")
    if not bucket and not cfg.get(f"{system}_path"):
        variable = f"MARINA_{system.upper()}_BUCKET"
        environment = envmod.get(env, "MELTANO_ENVIRONMENT")
        return Result(
            name,
            "FAIL",
            (f"{variable} is not set for environment {environment}: " if environment else f"{variable} is not set: ")
            + f"set it in .env (a local folder only through TAP_MARINA_S3_{system.upper()}_PATH)",
        )
    try:
        if bucket:
            where, found, client = list_bucket(system, cfg)
            opener = lambda e: io.BufferedReader(_S3Range(client, bucket, e.key, e.size), 256 * 1024)  # noqa: E731
        else:
            where, found, root = list_folder(system, cfg[f"{system}_path"], prefix, pattern)
            opener = lambda e: open(root / e.key, "rb")  # noqa: E731, SIM115
    except ListingError as exc:
        return Result(name, "FAIL", str(exc))
    except Exception as exc:
        where = f"s3://{bucket}/{prefix}"
        return Result(name, "FAIL", f"{where}: {s3_problem(exc, system, cfg)}")
    max_hours = float(cfg.get(f"{system}_max_export_age_hours") or 0)
    late_status = "WARN" if (cfg.get("late_export") or "fail") == "warn" else "FAIL"
    limit = f" ({system}_max_export_age_hours={max_hours:g})" if max_hours else ""
    if not found:
        what = f"{where}: no export matching {pattern!r}"
        return Result(
            name,
            late_status if max_hours else "WARN",
            f"{what}: the export is late{limit}" if max_hours else f"{what} yet",
        )
    newest = max(found, key=lambda e: (e.arrived, e.key))
    try:
        with opener(newest) as raw:
            problem, layout = archive_problem(raw)
    except Exception as exc:
        problem, layout = (s3_problem(exc, system, cfg) if bucket else f"{type(exc).__name__}: {exc}"), ""
    arrived = f"arrived {newest.arrived:%Y-%m-%d %H:%M} UTC, {_age(newest.arrived, now)}"
    if problem:
        return Result(
            name,
            "FAIL",
            f"{where}: newest export {newest.key} ({arrived}) is {problem}; "
            "ask the vendor for a new one, or remove it so the previous one is loaded",
        )
    summary = f"{where}: {len(found)} export(s), newest {newest.key} ({layout}; {arrived})"
    if max_hours and (now - newest.arrived).total_seconds() > max_hours * 3600:
        return Result(name, late_status, f"{summary}: the next export is late{limit}")
    return Result(name, "OK", summary)


def check_exports(cfg: dict, env: Env | None = None) -> list[Result]:
    out = []
    for system in SYSTEMS:
        if not enabled(cfg, system):
            out.append(Result(f"exports {system}", "OK", "disabled (TAP_MARINA_S3_" + system.upper() + "_ENABLED)"))
        else:
            out.append(check_system(system, cfg, env or {}))
    return out
