"""`check`, part 1: can the exports be listed (S3 bucket/prefix or local folder)?

Same rules as the tap: a system reads its bucket when one is set, else its path; an export is a
key whose file name matches the key pattern (case-insensitive).
"""
from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

from .check_config import DEFAULT_PATTERNS, SYSTEMS, enabled


@dataclass
class Result:
    name: str
    status: str   # OK | WARN | FAIL
    message: str

    def line(self) -> str:
        return f"{self.status:<4}  {self.name}: {self.message}"


def _matches(key: str, pattern: str) -> bool:
    return fnmatch.fnmatch(key.rsplit("/", 1)[-1].lower(), pattern.lower())


def check_folder(system: str, folder: str, prefix: str, pattern: str) -> Result:
    name = f"exports {system}"
    if folder.startswith("file://"):
        folder = unquote(urlparse(folder).path)
    root = Path(folder).expanduser().resolve()
    setting = f"TAP_MARINA_S3_{system.upper()}_PATH"
    if not root.exists():
        return Result(name, "FAIL", f"local folder {root} does not exist ({setting})")
    if not root.is_dir():
        return Result(name, "FAIL", f"{root} is not a folder ({setting})")
    if not os.access(root, os.R_OK | os.X_OK):
        return Result(name, "FAIL", f"local folder {root} is not readable")
    found = [p for p in root.rglob("*") if p.is_file() and p.relative_to(root).as_posix().startswith(prefix)
             and _matches(p.name, pattern)]
    if not found:
        return Result(name, "WARN", f"local folder {root}: no export matching {pattern!r}"
                                    + (f" under prefix {prefix!r}" if prefix else "") + " yet")
    newest = max(found, key=lambda p: p.stat().st_mtime)
    return Result(name, "OK", f"local folder {root}: {len(found)} export(s) matching {pattern!r}, newest {newest.name}")


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
                    "the bucket (s3:ListBucket)",
    "AllAccessDisabled": "all access to bucket {bucket!r} is disabled",
    "PermanentRedirect": "bucket {bucket!r} is in another region than {region!r} (TAP_MARINA_S3_AWS_REGION)",
    "AuthorizationHeaderMalformed": "bucket {bucket!r} is in another region than {region!r} (TAP_MARINA_S3_AWS_REGION)",
}


def s3_client(cfg: dict):
    import boto3

    session = boto3.session.Session(profile_name=cfg["aws_profile"]) if cfg.get("aws_profile") else boto3.session.Session()
    kwargs = {"region_name": cfg.get("aws_region"), "endpoint_url": cfg.get("endpoint_url"),
              "aws_access_key_id": cfg.get("aws_access_key_id"),
              "aws_secret_access_key": cfg.get("aws_secret_access_key"),
              "aws_session_token": cfg.get("aws_session_token")}
    from botocore.config import Config

    return session.client("s3", config=Config(retries={"max_attempts": 2}, connect_timeout=10, read_timeout=30),
                          **{k: v for k, v in kwargs.items() if v})


def check_bucket(system: str, cfg: dict) -> Result:
    from botocore.exceptions import (BotoCoreError, ClientError, EndpointConnectionError, NoCredentialsError,
                                     ProfileNotFound)

    name = f"exports {system}"
    bucket, prefix = cfg[f"{system}_bucket"], cfg.get(f"{system}_prefix") or ""
    pattern = cfg.get(f"{system}_key_pattern") or DEFAULT_PATTERNS[system]
    where = f"s3://{bucket}/{prefix}"
    fields = {"bucket": bucket, "prefix": prefix, "region": cfg.get("aws_region") or "",
              "bucket_setting": f"MARINA_{system.upper()}_BUCKET / TAP_MARINA_S3_{system.upper()}_BUCKET"}
    try:
        client = s3_client(cfg)
        pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        objects = [o for page in pages for o in page.get("Contents", [])]
    except ProfileNotFound as exc:
        return Result(name, "FAIL", f"{where}: AWS profile not found ({exc})")
    except NoCredentialsError:
        return Result(name, "FAIL", f"{where}: no AWS credentials found (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, "
                                    "TAP_MARINA_S3_AWS_*, AWS_PROFILE or an instance role)")
    except EndpointConnectionError as exc:
        return Result(name, "FAIL", f"{where}: cannot reach the S3 endpoint ({exc})")
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code in S3_ERRORS:
            return Result(name, "FAIL", f"{where}: " + S3_ERRORS[code].format(**fields) + f" [{code}]")
        return Result(name, "FAIL", f"{where}: {exc}")
    except BotoCoreError as exc:
        return Result(name, "FAIL", f"{where}: {type(exc).__name__}: {exc}")
    found = [o for o in objects if _matches(o["Key"], pattern)]
    if not found:
        return Result(name, "WARN", f"{where}: bucket readable, {len(objects)} object(s), none matching {pattern!r}")
    newest = max(found, key=lambda o: (o["LastModified"], o["Key"]))
    return Result(name, "OK", f"{where}: {len(found)} export(s) matching {pattern!r}, newest {newest['Key']}")


def check_exports(cfg: dict) -> list[Result]:
    out = []
    for system in SYSTEMS:
        if not enabled(cfg, system):
            out.append(Result(f"exports {system}", "OK", "disabled (TAP_MARINA_S3_" + system.upper() + "_ENABLED)"))
        elif cfg.get(f"{system}_bucket"):
            out.append(check_bucket(system, cfg))
        elif cfg.get(f"{system}_path"):
            out.append(check_folder(system, cfg[f"{system}_path"], cfg.get(f"{system}_prefix") or "",
                                    cfg.get(f"{system}_key_pattern") or DEFAULT_PATTERNS[system]))
        else:
            out.append(Result(f"exports {system}", "FAIL", f"neither a bucket nor a path is set "
                              f"(MARINA_{system.upper()}_BUCKET or TAP_MARINA_S3_{system.upper()}_PATH)"))
    return out
