"""Where things are: the project root, the tools (meltano, dbt) and typed environment values.

Every setting is read from the process environment, as Meltano passes it to the utility
(`meltano invoke marina-ops ...` loads .env, the environment's `env:` and the plugin's `env:`).
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Mapping
from pathlib import Path

from marina_common.connection import dbt_oracle_env

Env = Mapping[str, str]

TRUE_WORDS = {"1", "true", "t", "yes", "y", "on"}
FALSE_WORDS = {"0", "false", "f", "no", "n", "off", ""}


def get(env: Env, name: str, default: str = "") -> str:
    """The value of `name`, stripped; `default` when unset or blank."""
    value = (env.get(name) or "").strip()
    return value or default


def flag(env: Env, name: str, default: bool) -> bool:
    value = get(env, name).lower()
    if not value:
        return default
    if value in TRUE_WORDS:
        return True
    if value in FALSE_WORDS:
        return False
    raise ValueError(f"{name}={env.get(name)!r} is not a boolean (true/false)")


def number(env: Env, name: str, default: float) -> float:
    value = get(env, name)
    try:
        return float(value) if value else default
    except ValueError:
        raise ValueError(f"{name}={value!r} is not a number") from None


def words(env: Env, name: str, default: str = "") -> list[str]:
    """Comma/space separated list."""
    return [w for w in get(env, name, default).replace(",", " ").split() if w]


def project_root(env: Env) -> Path:
    """MELTANO_PROJECT_ROOT, else the nearest folder upwards holding meltano.yml, else the cwd."""
    if root := get(env, "MELTANO_PROJECT_ROOT"):
        return Path(root)
    here = Path.cwd()
    for folder in (here, *here.parents):
        if (folder / "meltano.yml").is_file():
            return folder
    return here


def meltano_bin(env: Env) -> str | None:
    """MARINA_MELTANO_BIN, else `meltano` on PATH, else the project's .venv/bin/meltano."""
    if configured := get(env, "MARINA_MELTANO_BIN"):
        return configured
    if found := shutil.which("meltano", path=env.get("PATH")):
        return found
    candidate = project_root(env) / ".venv" / "bin" / "meltano"
    return str(candidate) if candidate.is_file() else None


def dbt_bin(env: Env) -> str | None:
    """MARINA_DBT_BIN, else the `dbt` next to this Python (the plugin venv), else `dbt` on PATH."""
    if configured := get(env, "MARINA_DBT_BIN"):
        return configured
    beside = Path(sys.executable).parent / "dbt"
    if beside.is_file():
        return str(beside)
    return shutil.which("dbt", path=env.get("PATH"))


def dbt_env(env: Env) -> dict[str, str]:
    """Environment for a dbt subprocess: the project/profiles folders and the ADB wallet names that
    dbt-oracle reads (CONFIG_DIR, WALLET_LOCATION, WALLET_PASSWORD), as the `dbt` utility sets them."""
    out = dict(env)
    transform = str(project_root(env) / "transform")
    out.setdefault("DBT_PROJECT_DIR", transform)
    out.setdefault("DBT_PROFILES_DIR", transform)
    out.update(dbt_oracle_env(env))
    return out
