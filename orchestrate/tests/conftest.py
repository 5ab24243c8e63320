"""Tests of the DAG generator's pure part and of meltano.yml's jobs/schedules/environments,
run in the project's own venv (.venv: Meltano, no Airflow). The Airflow side is tested in
orchestrate/airflow/tests with orchestrate/.venv-airflow."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DAGS = ROOT / "orchestrate" / "airflow" / "dags"
MELTANO = ROOT / ".venv" / "bin" / "meltano"
sys.path.insert(0, str(DAGS))


def run_meltano(*args: str, env: dict | None = None) -> str:
    full_env = {**os.environ, "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false", **(env or {})}
    result = subprocess.run([str(MELTANO), *args], cwd=ROOT, env=full_env, capture_output=True, text=True, check=False)
    assert result.returncode == 0, f"meltano {' '.join(args)}:\n{result.stderr[-4000:]}"
    return result.stdout


@pytest.fixture(scope="session")
def meltano():
    """Run the project's Meltano; returns its stdout, fails the test on a non-zero exit."""
    return run_meltano


@pytest.fixture(scope="session")
def schedule_export() -> dict:
    """The project's real schedules, as Meltano reports them now."""
    return json.loads(run_meltano("schedule", "list", "--format=json"))


@pytest.fixture(scope="session")
def cached_schedules() -> dict:
    return json.loads((DAGS / "meltano_schedules.json").read_text())


@pytest.fixture(scope="session")
def meltano_schema() -> dict:
    path = next((ROOT / ".venv" / "lib").glob("python*/site-packages/meltano/schemas/meltano.schema.json"))
    return json.loads(path.read_text())


@pytest.fixture(scope="session")
def project() -> dict:
    return yaml.safe_load((ROOT / "meltano.yml").read_text())
