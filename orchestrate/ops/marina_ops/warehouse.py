"""The warehouse dbt writes to, reached with the settings transform/profiles.yml reads
(marina_common.connection): DBT_TARGET=duckdb (default) opens MARINA_DUCKDB_PATH, else
<project root>/output/marina.duckdb; DBT_TARGET=oracle connects with ORACLE_* in
python-oracledb's thin mode.

SQL passed to `query` uses :name parameters on both databases.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from marina_common import connection
from marina_common.connection import OracleParams

from . import env as envmod
from .env import Env


class WarehouseError(RuntimeError):
    """The warehouse cannot be reached or read; the message says why."""


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


def duckdb_path(env: Env) -> Path:
    """dbt's DuckDB file (transform/profiles.yml)."""
    return connection.dbt_duckdb_path(env, envmod.project_root(env))


class Warehouse:
    """A DB-API connection plus the schema of STG_* / DW_* tables."""

    def __init__(self, kind: str, con: Any, schema: str) -> None:
        self.kind, self.con, self.schema = kind, con, schema

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
        return connect_oracle(connection.oracle_from_env(env))
    return connect_duckdb(duckdb_path(env))


def connect_duckdb(path: Path, read_only: bool = True) -> Warehouse:
    import duckdb  # noqa: PLC0415 - only the warehouse in use is imported

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
    return Warehouse("duckdb", con, "main")


def connect_oracle(params: OracleParams, timeout: float = 20) -> Warehouse:
    import oracledb  # noqa: PLC0415 - as duckdb above

    if missing := params.missing():
        raise WarehouseError(f"{', '.join(missing)} not set: set them in .env (see .env.example)")
    try:
        con = oracledb.connect(**params.connect_kwargs(), tcp_connect_timeout=timeout)
    except (oracledb.Error, OSError) as exc:  # OSError: thin mode resolves and connects itself
        raise WarehouseError(connection.explain_connect_error(exc, params)) from exc
    return Warehouse("oracle", con, params.schema)
