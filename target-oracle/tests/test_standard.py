"""singer-sdk's standard target tests, on DuckDB."""

from __future__ import annotations

import tempfile
from pathlib import Path

from singer_sdk.testing import get_target_test_class

from target_oracle.target import TargetOracle

_DB_DIR = Path(tempfile.mkdtemp(prefix="target-oracle-std-"))

StandardTargetTests = get_target_test_class(
    TargetOracle,
    config={"sqlalchemy_url": f"duckdb:///{_DB_DIR}/standard.duckdb", "batch_size_rows": 3},
)


class TestTargetOracleStandard(StandardTargetTests):  # type: ignore[misc, valid-type]
    """Standard target tests (DuckDB)."""
