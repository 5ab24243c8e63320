"""dbt-duckdb plugin `marina_warehouse`: connect to the DuckDB file named by MARINA_DUCKDB_PATH.

dbt keeps its parsed project between runs (partial parsing, transform/target/partial_parse.msgpack)
only while a hash of the profile's connection settings stays the same, and DuckDB's `path` is one
of them: every new warehouse location (the temporary warehouse of a test or a benchmark) forced
a full parse of the project, ~15-20 s on a small machine. Nothing dbt parses depends on the
folder of the file, only on its name, which names the database in every relation
("marina"."main"."DW_..."). So profiles.yml gives dbt-duckdb the file name as `path`, and this
plugin sets the full path (MARINA_DUCKDB_PATH, else the profile's default, passed as
`default_path`) just before dbt-duckdb opens the connection.
"""

from __future__ import annotations

import os
from typing import Any

from dbt.adapters.duckdb.plugins import BasePlugin

ENV_VAR = "MARINA_DUCKDB_PATH"


class Plugin(BasePlugin):
    def initialize(self, plugin_config: dict[str, Any]) -> None:
        self.default_path = plugin_config.get("default_path")
        if not self.default_path:
            raise ValueError("marina_warehouse: config default_path is required (profiles.yml)")

    def warehouse_path(self) -> str:
        """As profiles.yml's env_var('MARINA_DUCKDB_PATH', default): a set variable wins, even empty."""
        return os.environ[ENV_VAR] if ENV_VAR in os.environ else self.default_path

    def update_connection_config(self, creds, config: dict[str, Any]) -> None:
        path = self.warehouse_path()
        if os.path.basename(path) != os.path.basename(creds.path):
            # the file name names the database of every parsed relation
            raise ValueError(f"marina_warehouse: {path} is not the file {creds.path} that profiles.yml names")
        creds.path = path
