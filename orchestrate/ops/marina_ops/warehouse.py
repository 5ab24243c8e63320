"""The warehouse dbt writes to, reached with the same settings as transform/profiles.yml.

DBT_TARGET=duckdb (default): MARINA_DUCKDB_PATH, default <project root>/output/marina.duckdb.
DBT_TARGET=oracle: ORACLE_USER, ORACLE_PASSWORD, ORACLE_DSN, ORACLE_CONFIG_DIR,
ORACLE_WALLET_LOCATION, ORACLE_WALLET_PASSWORD, ORACLE_SCHEMA (default upper(ORACLE_USER)),
python-oracledb thin mode.

SQL passed to `query` uses :name parameters on both databases.
"""

from __future__ import annotations

import re
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import env as envmod
from .env import Env


class WarehouseError(RuntimeError):
    """The warehouse cannot be reached or read; the message says why."""


@dataclass(frozen=True)
class DuckDBSettings:
    path: Path


@dataclass(frozen=True)
class OracleSettings:
    user: str
    password: str
    dsn: str
    schema: str
    config_dir: str = ""
    wallet_location: str = ""
    wallet_password: str = ""

    def connect_params(self) -> dict[str, str]:
        params = {"user": self.user, "password": self.password, "dsn": self.dsn}
        for key in ("config_dir", "wallet_location", "wallet_password"):
            if value := getattr(self, key):
                params[key] = value
        return params


def dbt_target(env: Env) -> str:
    """The environment's warehouse for dbt. meltano.yml fixes DBT_TARGET per environment and keeps
    a value set in .env or the shell as MARINA_DBT_TARGET_REQUESTED: one that differs is refused
    here (loader and dbt must use the same warehouse) rather than silently replaced."""
    target = envmod.get(env, "DBT_TARGET", "duckdb").lower()
    if target not in ("duckdb", "oracle"):
        raise WarehouseError(f"DBT_TARGET={target!r}: expected duckdb or oracle")
    requested = envmod.get(env, "MARINA_DBT_TARGET_REQUESTED").lower()
    if requested and requested != target:
        environment = envmod.get(env, "MELTANO_ENVIRONMENT") or "this environment"
        other = "--environment=staging or prod" if requested == "oracle" else "--environment=dev"
        raise WarehouseError(
            f"DBT_TARGET={requested} is refused: environment {environment} uses {target} "
            f"for the loader and dbt alike; unset DBT_TARGET (.env or the shell), or use {other}"
        )
    return target


def duckdb_settings(env: Env) -> DuckDBSettings:
    """dbt's DuckDB file (profiles.yml): MARINA_DUCKDB_PATH or <project root>/output/marina.duckdb."""
    configured = envmod.get(env, "MARINA_DUCKDB_PATH")
    if configured:
        return DuckDBSettings(envmod.resolve_path(configured))
    return DuckDBSettings(envmod.project_root(env) / "output" / "marina.duckdb")


def oracle_settings(env: Env) -> OracleSettings:
    user = envmod.get(env, "ORACLE_USER")
    return OracleSettings(
        user=user,
        password=envmod.get(env, "ORACLE_PASSWORD"),
        dsn=envmod.get(env, "ORACLE_DSN"),
        schema=(envmod.get(env, "ORACLE_SCHEMA") or user).upper(),
        config_dir=envmod.get(env, "ORACLE_CONFIG_DIR"),
        wallet_location=envmod.get(env, "ORACLE_WALLET_LOCATION"),
        wallet_password=envmod.get(env, "ORACLE_WALLET_PASSWORD"),
    )


class Warehouse:
    """A DB-API connection plus the schema of STG_* / DW_* tables."""

    def __init__(self, kind: str, con: Any, schema: str, where: str) -> None:
        self.kind, self.con, self.schema, self.where = kind, con, schema, where

    def table(self, name: str) -> str:
        return f"{self.schema}.{name}"

    def text(self, column: str) -> str:
        """A text column as a comparable string (the loader may store long text as NCLOB in Oracle)."""
        return f"TO_CHAR({column})" if self.kind == "oracle" else f"cast({column} as varchar)"

    def exists(self, name: str) -> bool:
        if self.kind == "oracle":
            sql = "select count(*) as N from all_tables where owner = :owner and table_name = :name"
        else:
            sql = (
                "select count(*) as N from information_schema.tables where table_schema = :owner and table_name = :name"
            )
        return self.query(sql, {"owner": self.schema, "name": name})[0]["N"] > 0

    def query(self, sql: str, params: dict | None = None) -> list[dict]:
        if self.kind == "duckdb":
            sql = re.sub(r"(?<![:\w]):(\w+)", r"$\1", sql)
            cur = self.con.execute(sql, params or {})
        else:
            cur = self.con.cursor()
            cur.execute(sql, params or {})
        names = [d[0].upper() for d in cur.description]
        return [dict(zip(names, row)) for row in cur.fetchall()]

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def connect(env: Env) -> Warehouse:
    """Read-only connection to dbt's warehouse. Raises WarehouseError with the reason."""
    if dbt_target(env) == "oracle":
        return connect_oracle(oracle_settings(env))
    return connect_duckdb(duckdb_settings(env).path)


def connect_duckdb(path: Path, read_only: bool = True) -> Warehouse:
    import duckdb

    if not path.is_file():
        raise WarehouseError(f"DuckDB file {path} does not exist (no load has run yet, or MARINA_DUCKDB_PATH is wrong)")
    try:
        con = duckdb.connect(str(path), read_only=read_only)
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise WarehouseError(
                f"DuckDB file {path} is in use by another process (a run in progress?): {exc}"
            ) from exc
        raise WarehouseError(f"cannot open DuckDB file {path}: {exc}") from exc
    except duckdb.Error as exc:
        raise WarehouseError(f"cannot open DuckDB file {path}: {exc}") from exc
    return Warehouse("duckdb", con, "main", str(path))


def connect_oracle(settings: OracleSettings, timeout: float = 20) -> Warehouse:
    import oracledb

    missing = [
        n
        for n, v in (
            ("ORACLE_USER", settings.user),
            ("ORACLE_PASSWORD", settings.password),
            ("ORACLE_DSN", settings.dsn),
        )
        if not v
    ]
    if missing:
        raise WarehouseError(f"{', '.join(missing)} not set: set them in .env (see .env.example)")
    try:
        con = oracledb.connect(**settings.connect_params(), tcp_connect_timeout=timeout)
    except oracledb.Error as exc:
        raise WarehouseError(explain_oracle_error(exc, settings)) from exc
    except socket.gaierror as exc:  # thin mode resolves the host itself, outside oracledb.Error
        raise WarehouseError(
            f"Oracle {settings.user}@{settings.dsn}: the database host in ORACLE_DSN cannot be "
            f"resolved ({exc.strerror}): check the host name and this machine's DNS"
        ) from exc
    except OSError as exc:
        raise WarehouseError(f"Oracle {settings.user}@{settings.dsn}: {type(exc).__name__}: {exc}") from exc
    return Warehouse("oracle", con, settings.schema, f"{settings.user}@{settings.dsn}")


# Oracle / python-oracledb error codes with a plain explanation (the original text is appended).
ORACLE_ERRORS = {
    "ORA-01017": "bad credentials: ORACLE_USER / ORACLE_PASSWORD rejected",
    "ORA-28000": "the account ORACLE_USER is locked",
    "ORA-28001": "the password of ORACLE_USER has expired",
    "ORA-12506": "the listener rejected the connection (is the database stopped, or the IP not on the access list?)",
    "ORA-12514": "the service name in ORACLE_DSN is not known to the listener",
    "ORA-12154": "ORACLE_DSN is neither an Easy Connect string nor an alias in tnsnames.ora",
    "DPY-4000": "ORACLE_DSN is an alias but no tnsnames.ora was found (set ORACLE_CONFIG_DIR to the wallet folder)",
    "DPY-4026": "no tnsnames.ora in ORACLE_CONFIG_DIR",
    "DPY-4027": "ORACLE_DSN is an alias but no configuration folder is set (ORACLE_CONFIG_DIR)",
    "DPY-4011": "the database closed the connection (wrong port, or a TLS/mTLS mismatch: wallet needed?)",
    "DPY-6005": "cannot connect to the database host/port in ORACLE_DSN (network, firewall or access list)",
    "DPY-6000": "the listener refused the connection (service name or access list)",
    "DPY-4005": "timed out connecting to the database host/port in ORACLE_DSN",
    "DPY-6006": "the wallet could not be used (ORACLE_WALLET_LOCATION / ORACLE_WALLET_PASSWORD)",
}


def explain_oracle_error(exc: Exception, settings: OracleSettings) -> str:
    text = str(exc)
    for code, meaning in ORACLE_ERRORS.items():
        if code in text:
            return f"Oracle {settings.user}@{settings.dsn}: {meaning} ({text.splitlines()[0]})"
    return f"Oracle {settings.user}@{settings.dsn}: {text.splitlines()[0] if text else type(exc).__name__}"
