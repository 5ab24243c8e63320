"""`check`, parts 2 and 3: the warehouse the loader writes, and dbt (profile + connection)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

from . import env as envmod
from .check_exports import Result
from .env import Env
from .warehouse import (
    OracleSettings,
    WarehouseError,
    connect_duckdb,
    connect_oracle,
    dbt_target,
    duckdb_settings,
    oracle_settings,
)

WALLET_FILE = "ewallet.pem"


def wallet_problems(s: OracleSettings, tns_admin: str = "") -> list[str]:
    """Wallet folders that cannot work, before trying to connect (a clearer message than the driver's).
    tns_admin: TNS_ADMIN, where python-oracledb also looks for tnsnames.ora."""
    problems = []
    alias = bool(s.dsn) and not re.search(r"[/:()]", s.dsn)
    if s.config_dir:
        folder = Path(s.config_dir).expanduser()
        if not folder.is_dir():
            problems.append(
                f"wallet folder {folder} does not exist (ORACLE_CONFIG_DIR: the unzipped ADB wallet with tnsnames.ora)"
            )
        elif alias and not (folder / "tnsnames.ora").is_file():
            problems.append(f"no tnsnames.ora in {folder} (ORACLE_CONFIG_DIR), needed for the alias {s.dsn!r}")
    elif alias and not tns_admin:
        problems.append(f"ORACLE_DSN {s.dsn!r} is a tnsnames alias but ORACLE_CONFIG_DIR (or TNS_ADMIN) is not set")
    if s.wallet_location:
        folder = Path(s.wallet_location).expanduser()
        if not folder.is_dir():
            problems.append(f"wallet folder {folder} does not exist (ORACLE_WALLET_LOCATION)")
        elif not (folder / WALLET_FILE).is_file():
            problems.append(
                f"no {WALLET_FILE} in {folder} (ORACLE_WALLET_LOCATION): python-oracledb thin mode "
                "needs the PEM wallet of the ADB wallet zip"
            )
    return problems


def loader_oracle_settings(cfg: dict) -> OracleSettings:
    """Loader settings (oracle_* or an oracle+oracledb:// URL) as OracleSettings."""
    user, password, dsn = cfg.get("oracle_user", ""), cfg.get("oracle_password", ""), cfg.get("oracle_dsn", "")
    url = cfg.get("sqlalchemy_url") or ""
    if url.startswith("oracle"):
        u = urlparse(url)
        user, password = user or unquote(u.username or ""), password or unquote(u.password or "")
        service = parse_qs(u.query).get("service_name", [""])[0] or u.path.lstrip("/")
        host = f"{u.hostname}:{u.port}" if u.port else (u.hostname or "")
        dsn = dsn or (f"{host}/{service}" if service else host)
    return OracleSettings(
        user=user,
        password=password,
        dsn=dsn,
        schema=(cfg.get("default_target_schema") or user).upper(),
        config_dir=cfg.get("oracle_config_dir", ""),
        wallet_location=cfg.get("oracle_wallet_location", ""),
        wallet_password=cfg.get("oracle_wallet_password", ""),
    )


def loader_duckdb_path(cfg: dict, env: Env) -> Path | None:
    url = cfg.get("sqlalchemy_url") or ""
    if url.startswith("duckdb:"):
        raw = url[len("duckdb:///") :] if url.startswith("duckdb:///") else re.sub(r"^duckdb:/*", "", url)
    elif not url and cfg.get("duckdb_path"):
        raw = cfg["duckdb_path"]
    else:
        return None
    path = Path(raw).expanduser()
    return path if path.is_absolute() else (envmod.project_root(env) / path).resolve()


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


def check_oracle(name: str, s: OracleSettings, tns_admin: str = "") -> Result:
    problems = wallet_problems(s, tns_admin=tns_admin)
    if problems:
        return Result(name, "FAIL", "; ".join(problems))
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
        return Result(
            name, "FAIL", f"Oracle {s.user}@{s.dsn}: connected, but schema {s.schema} does not exist (ORACLE_SCHEMA)"
        )
    return Result(name, "OK", f"Oracle {s.user}@{s.dsn}: connected, schema {s.schema} holds {tables} STG_/DW_ tables")


def _for_environment(env: Env) -> str:
    environment = envmod.get(env, "MELTANO_ENVIRONMENT")
    return f" for environment {environment}" if environment else ""


def check_loader(cfg: dict, env: Env) -> Result:
    name = "warehouse (loader target-oracle)"
    path = loader_duckdb_path(cfg, env)
    if path is not None:
        return check_duckdb_file(name, path)
    s = loader_oracle_settings(cfg)
    if not (s.user and s.dsn):
        return Result(
            name,
            "FAIL",
            f"no warehouse configured{_for_environment(env)}: set ORACLE_USER/ORACLE_PASSWORD/"
            "ORACLE_DSN (TARGET_ORACLE_ORACLE_*), TARGET_ORACLE_DUCKDB_PATH or "
            "TARGET_ORACLE_SQLALCHEMY_URL",
        )
    return check_oracle(name, s, tns_admin=envmod.get(env, "TNS_ADMIN"))


def check_same_warehouse(loader_cfg: dict, env: Env) -> Result | None:
    """dbt must read what the loader writes."""
    name = "loader and dbt"
    target = dbt_target(env)
    loader_path = loader_duckdb_path(loader_cfg, env)
    if target == "duckdb":
        dbt_path = duckdb_settings(env).path
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
    loader, dbt = loader_oracle_settings(loader_cfg), oracle_settings(env)
    if not (dbt.dsn and dbt.user):
        return Result(
            name, "FAIL", "dbt has no Oracle to compare with: ORACLE_USER / ORACLE_DSN not set" + _for_environment(env)
        )
    if (loader.dsn, loader.schema) != (dbt.dsn, dbt.schema):
        return Result(
            name, "FAIL", f"dbt uses {dbt.dsn} schema {dbt.schema} but the loader {loader.dsn} schema {loader.schema}"
        )
    return Result(name, "OK", f"same Oracle schema {dbt.schema} on {dbt.dsn}")


def check_dbt(env: Env, timeout: float = 300) -> Result:
    target = dbt_target(env)
    name = f"dbt (target {target})"
    if target == "oracle":
        settings = oracle_settings(env)
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
            return Result(
                name,
                "FAIL",
                f"{', '.join(missing)} not set{_for_environment(env)}: dbt cannot reach "
                "Oracle (set them in .env, see .env.example)",
            )
        problems = wallet_problems(settings, tns_admin=envmod.get(env, "TNS_ADMIN"))
        if problems:
            return Result(name, "FAIL", "; ".join(problems))
    dbt = envmod.dbt_bin(env)
    if not dbt:
        return Result(name, "FAIL", "dbt not found (MARINA_DBT_BIN, or install the marina-ops plugin)")
    denv = envmod.dbt_env(env)
    cmd = [dbt, "debug", "--target", target, "--no-use-colors"]
    try:
        proc = subprocess.run(
            cmd, env=denv, cwd=envmod.project_root(env), capture_output=True, text=True, timeout=timeout
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
