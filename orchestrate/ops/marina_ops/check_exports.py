"""`check`, part 1: can the exports be listed (S3 bucket/prefix or local folder), is the newest
one a readable archive, and is it recent enough?

The exports are listed by the tap's own code (marina_common.exports), so the check sees what a
run would load: a system reads its bucket when one is set, else its path (meltano.yml sets a path
only in dev: elsewhere an unset bucket is named); the newest export is the last to arrive; it is
late when it arrived longer ago than `<system>_max_export_age_hours` (FAIL, or WARN with
`late_export=warn`). The newest export is opened only as far as needed to know it is an archive
of the expected layout: a zip's central directory (members, at least one .csv), a gzip's first
tar header. On S3 that is a few ranged GETs, never the whole object.
"""

from __future__ import annotations

import datetime as dt
import gzip
import io
import tarfile
import zipfile
from dataclasses import dataclass

from marina_common.catalog import SYSTEMS
from marina_common.exports import ExportRef, S3Store, Store, order, store_for

from . import env as envmod
from .check_config import enabled
from .env import Env


@dataclass
class Result:
    name: str
    status: str  # OK | WARN | FAIL
    message: str

    def line(self) -> str:
        return f"{self.status:<4}  {self.name}: {self.message}"


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


def open_store(system: str, cfg: dict) -> Store | None:
    """The system's bucket or folder, as the tap opens it; a check answers within seconds even
    when S3 does not (few retries, short timeouts)."""
    if cfg.get(f"{system}_bucket"):
        from botocore.config import Config  # noqa: PLC0415 - AWS only for a bucket

        return store_for(system, cfg, config=Config(retries={"max_attempts": 2}, connect_timeout=10, read_timeout=30))
    return store_for(system, cfg)


def describe(store: Store) -> str:
    if isinstance(store, S3Store):
        return f"s3://{store.bucket}/{store.prefix}"
    return f"local folder {store.root}"


def open_export(store: Store, ref: ExportRef):
    if isinstance(store, S3Store):
        return io.BufferedReader(_S3Range(store.client, store.bucket, ref.key, ref.size), 256 * 1024)
    return open(ref.location, "rb")


def s3_problem(exc: Exception, system: str, cfg: dict) -> str:
    """One line for an S3 / botocore error."""
    from botocore.exceptions import (  # noqa: PLC0415 - AWS only for a bucket
        ClientError,
        EndpointConnectionError,
        NoCredentialsError,
        ProfileNotFound,
    )

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


# --- the check -------------------------------------------------------------------------------
def _age(arrived: dt.datetime, now: dt.datetime) -> str:
    hours = (now - arrived).total_seconds() / 3600
    return f"{hours:.0f} h ago" if hours < 72 else f"{hours / 24:.0f} days ago"


def _unset(system: str, env: Env) -> Result:
    variable = f"MARINA_{system.upper()}_BUCKET"
    environment = envmod.get(env, "MELTANO_ENVIRONMENT")
    return Result(
        f"exports {system}",
        "FAIL",
        (f"{variable} is not set for environment {environment}: " if environment else f"{variable} is not set: ")
        + f"set it in .env (a local folder only through TAP_MARINA_S3_{system.upper()}_PATH)",
    )


def _listing_problem(exc: Exception, system: str, cfg: dict) -> str:
    """One line for a store that cannot be opened or listed. The shared store wraps S3's errors
    in a StorageError; the error it wraps tells bad credentials from a wrong bucket."""
    if not cfg.get(f"{system}_bucket"):
        return str(exc).removeprefix(f"{system}: ")
    where = f"s3://{cfg[f'{system}_bucket']}/{cfg.get(f'{system}_prefix') or ''}"
    return f"{where}: {s3_problem(exc.__cause__ or exc, system, cfg)}"


def _newest_problem(store: Store, newest: ExportRef, system: str, cfg: dict) -> tuple[str | None, str]:
    try:
        with open_export(store, newest) as raw:
            return archive_problem(raw)
    except Exception as exc:  # any failure to read it is the check's answer, not a crash
        problem = s3_problem(exc, system, cfg) if isinstance(store, S3Store) else f"{type(exc).__name__}: {exc}"
        return problem, ""


def check_system(system: str, cfg: dict, env: Env, now: dt.datetime | None = None) -> Result:
    name = f"exports {system}"
    now = now or dt.datetime.now(dt.UTC).replace(tzinfo=None)
    if not cfg.get(f"{system}_bucket") and not cfg.get(f"{system}_path"):
        return _unset(system, env)
    pattern = cfg.get(f"{system}_key_pattern") or SYSTEMS[system].key_pattern
    try:
        store = open_store(system, cfg)
        found = store.list(system, pattern)
    except Exception as exc:  # StorageError, or boto3 refusing its settings (an unknown profile)
        return Result(name, "FAIL", _listing_problem(exc, system, cfg))
    where = describe(store)
    max_hours = float(cfg.get(f"{system}_max_export_age_hours") or 0)
    late_status = "WARN" if (cfg.get("late_export") or "fail") == "warn" else "FAIL"
    limit = f" ({system}_max_export_age_hours={max_hours:g})" if max_hours else ""
    if not found:
        what = f"{where}: no export matching {pattern!r}"
        if max_hours:
            return Result(name, late_status, f"{what}: the export is late{limit}")
        return Result(name, "WARN", f"{what} yet")
    newest = order(found)[-1]
    problem, layout = _newest_problem(store, newest, system, cfg)
    arrived = f"arrived {newest.last_modified:%Y-%m-%d %H:%M} UTC, {_age(newest.last_modified, now)}"
    if problem:
        return Result(
            name,
            "FAIL",
            f"{where}: newest export {newest.key} ({arrived}) is {problem}; "
            "ask the vendor for a new one, or remove it so the previous one is loaded",
        )
    summary = f"{where}: {len(found)} export(s), newest {newest.key} ({layout}; {arrived})"
    if max_hours and (now - newest.last_modified).total_seconds() > max_hours * 3600:
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
