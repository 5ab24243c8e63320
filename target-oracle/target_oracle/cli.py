"""The `target-oracle` command: singer-sdk's CLI, with an operator's console.

- An expected failure (LoaderError: no database configured, host unknown or unreachable,
  credentials refused, wallet missing) ends the run with its one-line message and exit code 1;
  the traceback is logged at DEBUG only (`TARGET_ORACLE_LOGLEVEL=debug`). Anything else is a
  bug and keeps the SDK's full traceback.
- At the default level the console leaves out the SDK's `METRIC: {...}` lines and its
  "Skipping parse of env var settings" note; both return at DEBUG.
"""

from __future__ import annotations

import logging
import sys

from singer_sdk.metrics import METRICS_LOGGER_NAME

from target_oracle.errors import LoaderError
from target_oracle.target import TargetOracle

NOISE = ("Skipping parse of env var settings",)


class QuietConsole(logging.Filter):
    """Drops metric points and setup chatter from the console unless the level is DEBUG."""

    def filter(self, record: logging.LogRecord) -> bool:
        if logging.getLogger().getEffectiveLevel() <= logging.DEBUG:
            return True
        if record.name == METRICS_LOGGER_NAME:
            return False
        return not (isinstance(record.msg, str) and record.msg.startswith(NOISE))


def main() -> None:
    command = TargetOracle.cli  # sets up the SDK's console logging
    for handler in logging.getLogger().handlers:
        handler.addFilter(QuietConsole())
    try:
        command()
    except LoaderError as exc:
        TargetOracle.logger.error("%s", exc)
        TargetOracle.logger.debug("Traceback of the error above", exc_info=exc)
        sys.exit(1)


if __name__ == "__main__":
    main()
