"""The extractor's and loader's settings as the pipeline will see them, for `check`.

Source 1 (default when meltano is available): `meltano config --unsafe print --format=json <plugin>`
in the active environment (MELTANO_ENVIRONMENT), i.e. meltano.yml + environment + .env + env vars,
exactly what `meltano run` gives the plugin.
Source 2 (`--from-env`, or no meltano): the process environment, with the names Meltano uses:
TAP_MARINA_S3_<SETTING> / TARGET_ORACLE_<SETTING>, falling back to the project-level variables the
staging/prod environments map (MARINA_<SYSTEM>_BUCKET / _PREFIX, ORACLE_*) and meltano.yml's dev
defaults (in dev only: exports under <project root>/output/exports/<system>; DuckDB
<root>/output/marina.duckdb when DBT_TARGET is duckdb).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from marina_common import connection
from marina_common.catalog import SYSTEMS

from . import env as envmod
from .env import Env

TAP = "tap-marina-s3"
TARGET = "target-oracle"
# The project-level variables meltano.yml maps to the loader's settings in every environment.
LOADER_VARIABLES = {setting: variable for _, setting, variable in connection.ORACLE_PARAMETERS} | {
    connection.SCHEMA_SETTING: connection.SCHEMA_VARIABLE
}


class ConfigError(RuntimeError):
    pass


def from_meltano(env: Env, plugin: str, meltano: str) -> dict:
    cmd = [meltano]
    if environment := envmod.get(env, "MELTANO_ENVIRONMENT"):
        cmd.append(f"--environment={environment}")
    cmd += ["config", "--unsafe", "print", "--format=json", plugin]
    proc = subprocess.run(
        cmd, check=False, env=dict(env), cwd=envmod.project_root(env), capture_output=True, text=True, timeout=120
    )
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise ConfigError(f"`{' '.join(cmd)}` failed: {last}")
    start = proc.stdout.find("{")
    if start < 0:
        raise ConfigError(f"`{' '.join(cmd)}` printed no JSON")
    return json.loads(proc.stdout[start:])


def _prefixed(env: Env, plugin: str) -> dict:
    """The plugin's settings set in the environment under Meltano's names (TAP_MARINA_S3_MOLO_PATH
    is molo_path). Every such variable is taken: the checks read only the settings they know."""
    prefix = plugin.upper().replace("-", "_") + "_"
    return {
        name.removeprefix(prefix).lower(): value
        for name in env
        if name.startswith(prefix) and (value := envmod.get(env, name))
    }


def tap_from_env(env: Env) -> dict:
    cfg = _prefixed(env, TAP)
    root = envmod.project_root(env)
    for s in SYSTEMS:
        for key in ("bucket", "prefix"):
            if f"{s}_{key}" not in cfg and envmod.get(env, f"MARINA_{s.upper()}_{key.upper()}"):
                cfg[f"{s}_{key}"] = envmod.get(env, f"MARINA_{s.upper()}_{key.upper()}")
        if envmod.get(env, "MELTANO_ENVIRONMENT", "dev") == "dev":  # as meltano.yml: folders only in dev
            cfg.setdefault(f"{s}_path", str(root / "output" / "exports" / s))
    return cfg


def target_from_env(env: Env) -> dict:
    cfg = _prefixed(env, TARGET)
    for setting, variable in LOADER_VARIABLES.items():
        if setting not in cfg and envmod.get(env, variable):
            cfg[setting] = envmod.get(env, variable)
    if (
        not cfg.get("sqlalchemy_url")
        and not cfg.get("duckdb_path")
        and envmod.get(env, "DBT_TARGET", "duckdb").lower() == "duckdb"
    ):
        cfg["duckdb_path"] = str(Path(envmod.project_root(env), *connection.DUCKDB_DEFAULT_FILE))
    return cfg


def plugin_configs(env: Env, use_meltano: bool) -> tuple[dict, dict, str]:
    """(tap config, target config, where they came from)."""
    meltano = envmod.meltano_bin(env) if use_meltano else None
    if meltano:
        return from_meltano(env, TAP, meltano), from_meltano(env, TARGET, meltano), f"meltano config ({meltano})"
    return tap_from_env(env), target_from_env(env), "environment variables"


def enabled(cfg: dict, system: str) -> bool:
    value = cfg.get(f"{system}_enabled", True)
    return value if isinstance(value, bool) else str(value).strip().lower() in envmod.TRUE_WORDS
