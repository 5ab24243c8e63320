"""Cross-package test helpers: run the real Meltano project against throw-away folders/files.

Every test run gets its own export folders, DuckDB file and Meltano state id, so tests do not
see each other's state. Nothing here fakes a component: the tap, the loader and dbt run as the
plugins Meltano installed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
MELTANO = ROOT / ".venv" / "bin" / "meltano"
TAP_BIN = ROOT / ".meltano" / "extractors" / "tap-marina-s3" / "venv" / "bin"
TARGET_BIN = ROOT / ".meltano" / "loaders" / "target-oracle" / "venv" / "bin"
CATALOG = yaml.safe_load((ROOT / "marina-common" / "marina_common" / "catalog.yml").read_text())
TABLES = {entry["stream"]: entry for entry in CATALOG}


def generate(out: Path, **options) -> dict:
    """Sample exports from the tap's own generator (run in the tap's plugin venv)."""
    cmd = [str(TAP_BIN / "marina-sample-exports"), str(out)]
    for key, value in options.items():
        for item in value if isinstance(value, list | tuple) else [value]:
            cmd += [f"--{key.replace('_', '-')}", str(item)]
    subprocess.run(cmd, check=True, capture_output=True)
    return json.loads((out / "manifest.json").read_text())


@dataclass
class Project:
    """One isolated use of the Meltano project: its own exports, warehouse and state."""

    base: Path
    suffix: str = field(default_factory=lambda: uuid.uuid4().hex[:10])

    @property
    def exports(self) -> Path:
        return self.base / "live"

    @property
    def warehouse(self) -> Path:
        return self.base / "marina.duckdb"

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            {
                "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
                "MELTANO_ENVIRONMENT": "dev",
                "TAP_MARINA_S3_MOLO_PATH": str(self.exports / "molo"),
                "TAP_MARINA_S3_STELLAR_PATH": str(self.exports / "stellar"),
                "TARGET_DUCKDB_DUCKDB_PATH": str(self.warehouse),
                "TARGET_ORACLE_DUCKDB_PATH": str(self.warehouse),
                "MARINA_DUCKDB_PATH": str(self.warehouse),
            }
        )
        return env

    def publish(self, source: Path, export: dict) -> None:
        """Drop one generated export into the live folder, as the vendor's upload would."""
        target = self.exports / export["path"]
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source / export["path"], target)

    def meltano(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run(
            [str(MELTANO), *args], cwd=ROOT, env=self.env(), capture_output=True, text=True, check=False
        )
        if check and result.returncode != 0:
            raise AssertionError(f"meltano {' '.join(args)} failed ({result.returncode}):\n{result.stderr[-6000:]}")
        return result

    def run(self, *blocks: str, full_refresh: bool = False) -> subprocess.CompletedProcess:
        args = ["run", "--state-id-suffix", self.suffix]
        if full_refresh:
            args.append("--full-refresh")
        return self.meltano(*args, *blocks)

    def query(self, sql: str, params: list | None = None) -> list[tuple]:
        con = duckdb.connect(str(self.warehouse), read_only=True)
        try:
            return con.execute(sql, params or []).fetchall()
        finally:
            con.close()


def key_sql(stream: str) -> str:
    """The canonical record key of a table's rows (design.md §4), as DuckDB SQL."""
    keys = TABLES[stream]["primary_key"]
    return " || '|' || ".join(f'CAST("{k}" AS VARCHAR)' for k in keys)


def dw_table(stream: str) -> str:
    return TABLES[stream]["dw_table"]


def stg_table(stream: str) -> str:
    return TABLES[stream]["staging_table"]


@pytest.fixture(scope="session")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("e2e")
