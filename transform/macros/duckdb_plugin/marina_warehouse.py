"""dbt-duckdb plugin `marina_warehouse`: connect to the DuckDB file named by MARINA_DUCKDB_PATH.

dbt keeps its parsed project between runs (partial parsing, transform/target/partial_parse.msgpack)
only while a hash of the profile's connection settings stays the same, and DuckDB's `path` is one
of them: every new warehouse location (the temporary warehouse of a test or a benchmark) would
force a full parse of the project. Nothing dbt parses depends on the folder of the file, only on
its name, which names the database in every relation ("marina"."main"."DW_..."). So profiles.yml
gives dbt-duckdb the file name as `path`, and this plugin sets the full path just before
dbt-duckdb opens the connection: MARINA_DUCKDB_PATH, else <project root>/output/marina.duckdb
(marina_common.connection: marina-ops finds dbt's warehouse with the same function).
"""

from __future__ import annotations

import os
from typing import Any

from dbt.adapters.duckdb.plugins import BasePlugin

from marina_common.connection import dbt_duckdb_path


class Plugin(BasePlugin):
    def initialize(self, plugin_config: dict[str, Any]) -> None:
        # the profile passes MELTANO_PROJECT_ROOT, else ".." (dbt started inside transform/)
        self.project_root = plugin_config.get("project_root") or ".."

    def update_connection_config(self, creds, config: dict[str, Any]) -> None:  # noqa: ARG002 - dbt-duckdb's signature
        path = str(dbt_duckdb_path(os.environ, self.project_root))
        if os.path.basename(path) != os.path.basename(creds.path):
            # the file name names the database of every parsed relation
            raise ValueError(f"marina_warehouse: {path} is not the file {creds.path} that profiles.yml names")
        creds.path = path
