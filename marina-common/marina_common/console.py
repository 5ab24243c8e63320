"""The console of the plugins' commands (tap-marina-s3, target-oracle): what an operator reads.

- An expected failure (the plugin lists its classes: a bad export, a setting to fix, an
  unreachable database) ends the run with its one-line message and exit code 1; its traceback
  is logged at DEBUG only (`<PLUGIN>_LOGLEVEL=debug`). Anything else is a bug and keeps the
  SDK's full traceback.
- At the default level the console leaves out singer-sdk's `METRIC: {...}` lines and its
  "Skipping parse of env var settings" note; both return at DEBUG.

Only the Singer plugins import this module (it needs singer-sdk, which they install).
"""

from __future__ import annotations

import logging
import sys
import typing as t

from singer_sdk.metrics import METRICS_LOGGER_NAME

if t.TYPE_CHECKING:
    from singer_sdk.plugin_base import PluginBase

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
    """Filter every handler of the root logger (singer-sdk's console handler among them)."""
    for handler in logging.getLogger().handlers:
        handler.addFilter(QuietConsole())


def fail(logger: logging.Logger, exc: BaseException) -> t.NoReturn:
    """Log an expected failure as one line (its traceback at DEBUG) and exit 1."""
    logger.error("%s", str(exc).strip() or type(exc).__name__)
    logger.debug("Traceback of the error above", exc_info=exc)
    sys.exit(1)


def run_cli(plugin: type[PluginBase], expected: tuple[type[BaseException], ...]) -> None:
    """Run a plugin's singer-sdk command line with the quiet console; a failure of one of the
    ``expected`` classes ends it as one line and exit code 1."""
    command = plugin.cli  # building the command sets up the SDK's console logging: filter after it
    quiet_console()
    try:
        command()
    except expected as exc:
        fail(plugin.logger, exc)
