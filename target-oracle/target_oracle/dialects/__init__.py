"""The target databases: DuckDB (local runs, tests) and Oracle (production)."""

from __future__ import annotations

import typing as t

from marina_common.connection import warehouse_kind
from target_oracle.errors import LoaderError

if t.TYPE_CHECKING:
    import logging

    from target_oracle.dialects.base import Dialect


def make_dialect(config: t.Mapping[str, t.Any], logger: logging.Logger) -> Dialect:
    """The dialect of the database the settings name (``sqlalchemy_url``, ``duckdb_path`` or
    ``oracle_*``), connected. Each dialect's module imports its driver, so only the one used is
    loaded."""
    kind = warehouse_kind(config)
    if kind == "duckdb":
        from target_oracle.dialects.duckdb import DuckDBDialect  # noqa: PLC0415 - only the driver in use loads

        return DuckDBDialect(config, logger)
    if kind == "oracle":
        from target_oracle.dialects.oracle import OracleDialect  # noqa: PLC0415 - only the driver in use loads

        return OracleDialect(config, logger)
    msg = (
        "No target database configured: set sqlalchemy_url (duckdb:///... or "
        "oracle+oracledb://...), duckdb_path, or oracle_user/oracle_password/oracle_dsn"
    )
    raise LoaderError(msg)
