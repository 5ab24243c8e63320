"""The `tap-marina-s3` command: singer-sdk's CLI with the plugins' quiet console
(`marina_common.console`). An expected failure (a bad or missing export, a setting to fix, a
late export, too many rejected rows) ends the run with its one-line message and exit code 1;
anything else is a bug and keeps the SDK's full traceback."""

from __future__ import annotations

from marina_common.console import run_cli
from marina_common.exports import StorageError

from .archives import ExportError
from .preflight import ConfigurationError, LateExportError
from .streams import RejectRatioError
from .tap import TapMarinaS3

EXPECTED = (ExportError, RejectRatioError, StorageError, ConfigurationError, LateExportError)


def main() -> None:
    run_cli(TapMarinaS3, EXPECTED)


if __name__ == "__main__":
    main()
