"""The `tap-marina-s3` command: singer-sdk's CLI, with an operator's console.

- An expected failure (a bad or missing export, a setting to fix, a late export, too many
  rejected rows) ends the run with its one-line message and exit code 1; the traceback is
  logged at DEBUG only (`TAP_MARINA_S3_LOGLEVEL=debug`). Anything else is a bug and keeps the
  SDK's full traceback.
- At the default level the console leaves out the SDK's `METRIC: {...}` lines (one per stream
  and counter) and its "Skipping parse of env var settings" note; both return at DEBUG.
"""

from __future__ import annotations

import logging
import sys

from singer_sdk.metrics import METRICS_LOGGER_NAME

from marina_common.exports import StorageError

from .archives import ExportError
from .preflight import ConfigurationError, LateExport
from .streams import RejectRatioExceeded
from .tap import TapMarinaS3

EXPECTED = (ExportError, RejectRatioExceeded, StorageError, ConfigurationError, LateExport)
NOISE = ("Skipping parse of env var settings",)


class QuietConsole(logging.Filter):
    """Drops metric points and setup chatter from the console unless the level is DEBUG."""

    def filter(self, record: logging.LogRecord) -> bool:
        if logging.getLogger().getEffectiveLevel() <= logging.DEBUG:
            return True
        if record.name == METRICS_LOGGER_NAME:
            return False
        return not (isinstance(record.msg, str) and record.msg.startswith(NOISE))


def quiet_console() -> None:
    for handler in logging.getLogger().handlers:
        handler.addFilter(QuietConsole())


def fail(logger: logging.Logger, exc: BaseException) -> None:
    """Log an expected failure as one line (its traceback at DEBUG) and exit 1."""
    logger.error("%s", str(exc).strip() or type(exc).__name__)
    logger.debug("Traceback of the error above", exc_info=exc)
    sys.exit(1)


def main() -> None:
    command = TapMarinaS3.cli  # sets up the SDK's console logging
    quiet_console()
    try:
        command()
    except EXPECTED as exc:
        fail(TapMarinaS3.logger, exc)


if __name__ == "__main__":
    main()
