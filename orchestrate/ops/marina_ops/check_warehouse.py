"""`check`, parts 2 and 3: the warehouse the loader writes, and dbt (profile + connection)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from marina_common import connection
from marina_common.connection import OracleParams

from . import env as envmod
from .check_exports import Result
from .env import Env
from .warehouse import WarehouseError, connect_duckdb, connect_oracle, dbt_target, duckdb_path


def _for_environment(env: Env) -> str:
    """Each Meltano environment has its own settings: a message about one names it."""
    environment = envmod.get(env, "MELTANO_ENVIRONMENT")
    return f" for environment {environment}" if environment else ""


def loader_duckdb_path(cfg: dict, env: Env) -> Path | None:
    """The loader's DuckDB file, None when it writes Oracle. Meltano starts the loader in the
    project root, so a relative path is relative to it."""
    path = connection.duckdb_path_from_settings(cfg)
    if path is None:
        return None
    if path == connection.MEMORY:
        raise WarehouseError("the loader's DuckDB is in memory (sqlalchemy_url): nothing it loads would be kept")
    return (envmod.project_root(env) / Path(path).expanduser()).resolve()


def check_duckdb_file(name: str, path: Path) -> Result:
    if not path.exists():
        return Result(name, "WARN", f"DuckDB file {path} does not exist yet (the first load creates it)")
    try:
        with connect_duckdb(path) as wh:
            tables = [
                r["N"]
                for r in wh.query("select table_name as N from information_schema.tables where table_schema = 'main'")
            ]
    except WarehouseError as exc:
        return Result(name, "FAIL", str(exc))
    stg = sum(1 for t in tables if t.startswith("STG_"))
    dw = sum(1 for t in tables if t.startswith("DW_"))
    return Result(name, "OK", f"DuckDB file {path}: {stg} STG_ and {dw} DW_ tables")


def check_oracle(name: str, s: OracleParams, env: Env) -> Result:
    if problem := s.wallet_problem(env):
        return Result(name, "FAIL", problem)
    try:
        with connect_oracle(s) as wh:
            owner = wh.query("select count(*) as N from all_users where username = :s", {"s": s.schema})[0]["N"]
            tables = wh.query(
                "select count(*) as N from all_tables where owner = :s and "
                "(table_name like 'STG\\_%' escape '\\' or table_name like 'DW\\_%' escape '\\')",
                {"s": s.schema},
            )[0]["N"]
    except WarehouseError as exc:
        return Result(name, "FAIL", str(exc))
    if not owner:
        return Result(name, "FAIL", f"{s.where}: connected, but schema {s.schema} does not exist (ORACLE_SCHEMA)")
    return Result(name, "OK", f"{s.where}: connected, schema {s.schema} holds {tables} STG_/DW_ tables")


def check_loader(cfg: dict, env: Env) -> Result:
    name = "warehouse (loader target-oracle)"
    if problem := connection.missing_settings(cfg, envmod.get(env, "MELTANO_ENVIRONMENT")):
        return Result(name, "FAIL", problem)
    path = loader_duckdb_path(cfg, env)
    if path is not None:
        return check_duckdb_file(name, path)
    return check_oracle(name, connection.oracle_from_settings(cfg), env)


def check_same_warehouse(loader_cfg: dict, env: Env) -> Result | None:
    """dbt must read what the loader writes."""
    name = "loader and dbt"
    target = dbt_target(env)
    loader_path = loader_duckdb_path(loader_cfg, env)
    if target == "duckdb":
        dbt_path = duckdb_path(env)
        if loader_path is None:
            return Result(name, "FAIL", f"dbt reads DuckDB {dbt_path} (DBT_TARGET=duckdb) but the loader writes Oracle")
        if loader_path.resolve() != dbt_path.resolve():
            return Result(
                name,
                "FAIL",
                f"dbt reads {dbt_path} (MARINA_DUCKDB_PATH) but the loader writes "
                f"{loader_path} (TARGET_ORACLE_DUCKDB_PATH)",
            )
        return Result(name, "OK", f"same DuckDB file {dbt_path}")
    if loader_path is not None:
        return Result(name, "FAIL", f"dbt reads Oracle (DBT_TARGET=oracle) but the loader writes DuckDB {loader_path}")
    loader, dbt = connection.oracle_from_settings(loader_cfg), connection.oracle_from_env(env)
    if not (dbt.dsn and dbt.user):
        return Result(
            name, "FAIL", "dbt has no Oracle to compare with: ORACLE_USER / ORACLE_DSN not set" + _for_environment(env)
        )
    if (loader.dsn, loader.schema) != (dbt.dsn, dbt.schema):
        return Result(
            name, "FAIL", f"dbt uses {dbt.dsn} schema {dbt.schema} but the loader {loader.dsn} schema {loader.schema}"
        )
    return Result(name, "OK", f"same Oracle schema {dbt.schema} on {dbt.dsn}")


def oracle_problem(params: OracleParams, env: Env) -> str | None:
    """What keeps dbt from reaching Oracle before it tries: unset variables, then the wallet."""
    if missing := params.missing():
        names = ", ".join(missing)
        return f"{names} not set{_for_environment(env)}: dbt cannot reach Oracle (set them in .env, see .env.example)"
    return params.wallet_problem(env)


def check_dbt(env: Env, timeout: float = 300) -> Result:
    target = dbt_target(env)
    name = f"dbt (target {target})"
    if target == "oracle" and (problem := oracle_problem(connection.oracle_from_env(env), env)):
        return Result(name, "FAIL", problem)
    dbt = envmod.dbt_bin(env)
    if not dbt:
        return Result(name, "FAIL", "dbt not found (MARINA_DBT_BIN, or install the marina-ops plugin)")
    denv = envmod.dbt_env(env)
    cmd = [dbt, "debug", "--target", target, "--no-use-colors"]
    try:
        proc = subprocess.run(
            cmd, check=False, env=denv, cwd=envmod.project_root(env), capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        return Result(name, "FAIL", f"`dbt debug` did not finish within {timeout:.0f} s")
    out = proc.stdout + proc.stderr
    if proc.returncode == 0:
        return Result(name, "OK", f"dbt debug: all checks passed (project {denv['DBT_PROJECT_DIR']})")
    lines = [ln.strip() for ln in out.splitlines() if ln.strip()]
    # dbt debug prints one "[ERROR]" line per failed check, then the reasons
    errors = [ln for ln in lines if re.search(r"error|fail|not found|could not|unable", ln, re.I)]
    detail = " | ".join(dict.fromkeys(errors))[-800:] or (lines[-1] if lines else f"exit code {proc.returncode}")
    return Result(name, "FAIL", f"dbt debug failed: {detail}")
