"""Shared helpers for the transform test suite."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

TRANSFORM_DIR = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(TRANSFORM_DIR / "scripts"), str(Path(__file__).resolve().parent)]


def run_dbt(
    args: list[str],
    work: Path,
    target: str = "duckdb",
    env: dict | None = None,
    runner=None,
    project_dir: Path = TRANSFORM_DIR,
):
    """Run dbt in-process (dbtRunner) against the transform project (or a copy of it at
    `project_dir`); returns the dbtRunnerResult.
    `runner`: a dbtRunner to reuse (e.g. one built on an already parsed manifest)."""
    from dbt.cli.main import dbtRunner

    old = {k: os.environ.get(k) for k in (env or {})}
    os.environ.update(env or {})
    try:
        return (runner or dbtRunner()).invoke(
            [
                *args,
                "--project-dir",
                str(project_dir),
                "--profiles-dir",
                str(project_dir),
                "--target",
                target,
                "--threads",
                "2",
                "--target-path",
                str(work / "target"),
                "--log-path",
                str(work / "logs"),
                "--log-level-file",
                "none",
            ]
        )
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@pytest.fixture(scope="session")
def transform_dir() -> Path:
    return TRANSFORM_DIR
