"""The `target-oracle` command: singer-sdk's CLI with the plugins' console (marina_common.console).

An expected failure (LoaderError: no database configured, host unknown or unreachable,
credentials refused, wallet missing) ends the run with its one-line message and exit code 1;
the traceback is logged at DEBUG only (`TARGET_ORACLE_LOGLEVEL=debug`).
"""

from __future__ import annotations

from marina_common.console import run_cli
from target_oracle.errors import LoaderError
from target_oracle.target import TargetOracle


def main() -> None:
    run_cli(TargetOracle, (LoaderError,))


if __name__ == "__main__":
    main()
