"""`dbt build --target oracle` against a real database (Oracle ADB), only when credentials are set.

Needs the loader to have created the STG_* tables in ORACLE_SCHEMA. Runs in a subprocess with the
real python-oracledb driver; wallet variables are mapped to the names dbt-oracle reads.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from conftest import TRANSFORM_DIR

REQUIRED = ("ORACLE_USER", "ORACLE_PASSWORD", "ORACLE_DSN")
MISSING = [v for v in REQUIRED if not os.environ.get(v)]

pytestmark = pytest.mark.skipif(bool(MISSING), reason=f"live Oracle test: {', '.join(MISSING)} not set")


def test_dbt_build_on_oracle(tmp_path):
    env = dict(os.environ, DBT_TARGET="oracle")
    for ours, theirs in (
        ("ORACLE_CONFIG_DIR", "CONFIG_DIR"),
        ("ORACLE_WALLET_LOCATION", "WALLET_LOCATION"),
        ("ORACLE_WALLET_PASSWORD", "WALLET_PASSWORD"),
    ):
        if os.environ.get(ours) and not os.environ.get(theirs):
            env[theirs] = os.environ[ours]
    dbt = [sys.executable, "-c", "from dbt.cli.main import cli; cli()"]
    common = [
        "--project-dir",
        str(TRANSFORM_DIR),
        "--profiles-dir",
        str(TRANSFORM_DIR),
        "--target",
        "oracle",
        "--threads",
        "2",
        "--target-path",
        str(tmp_path / "target"),
        "--log-path",
        str(tmp_path / "logs"),
    ]
    for attempt in ("first", "second (idempotent rerun)"):
        proc = subprocess.run(
            [*dbt, "build", *common], env=env, capture_output=True, text=True, timeout=3600, check=False
        )
        assert proc.returncode == 0, f"{attempt} dbt build failed:\n{proc.stdout[-5000:]}"
