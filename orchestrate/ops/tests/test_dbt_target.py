"""dbt refuses a DBT_TARGET the Meltano environment overrode (on-run-start macro
marina_check_target): a `meltano run ... dbt:build` in dev with DBT_TARGET=oracle in .env stops with
a message instead of building DuckDB. Real dbt on the small copy of the project."""

from __future__ import annotations

import subprocess

import staging_db as sdb
from conftest import REPO, VENV_BIN, base_env, mini_project


def dbt_run(tmp_path, requested: str) -> subprocess.CompletedProcess:
    project = tmp_path / "transform"
    env = {
        **base_env(),
        "DBT_TARGET": "duckdb",
        "MARINA_DUCKDB_PATH": str(tmp_path / "w.duckdb"),
        "DBT_PROJECT_DIR": str(project),
        "DBT_PROFILES_DIR": str(project),
        "MARINA_DBT_TARGET_REQUESTED": requested,
    }
    return subprocess.run(
        [str(VENV_BIN / "dbt"), "run", "--select", "stg_molo__slip_types"],
        check=False,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )


def test_refused_target_stops_dbt_before_any_model(tmp_path):
    sdb.create_all(tmp_path / "w.duckdb")
    mini_project(tmp_path)
    refused = dbt_run(tmp_path, "oracle")
    assert refused.returncode != 0
    assert (
        "DBT_TARGET=oracle is refused: this Meltano environment uses duckdb for the loader and dbt alike"
        in refused.stdout
    ), refused.stdout[-2000:]
    assert "DBT_TARGET=oracle is refused" in (REPO / "docs" / "operations.md").read_text()
    views = sdb.query(
        tmp_path / "w.duckdb", "select table_name from information_schema.tables where table_type = 'VIEW'"
    )
    assert views == []  # nothing built
    same = dbt_run(tmp_path, "duckdb")
    assert same.returncode == 0, same.stdout[-2000:]
