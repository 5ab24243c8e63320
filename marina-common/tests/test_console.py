"""The plugins' console: an expected failure is one line and exit code 1, a bug keeps its
traceback, and the SDK's metric lines stay off the console unless the level is DEBUG."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap

import pytest
from singer_sdk.metrics import METRICS_LOGGER_NAME

from marina_common.console import QuietConsole

# A real singer-sdk tap whose start fails: with an expected error, or with a bug.
PLUGIN = textwrap.dedent(
    """
    import os

    from singer_sdk import Tap
    from singer_sdk import typing as th

    from marina_common.console import run_cli


    class Expected(RuntimeError):
        pass


    class TapBroken(Tap):
        name = "tap-broken"
        config_jsonschema = th.PropertiesList().to_dict()

        def __init__(self, *args, **kwargs):
            if os.environ["BROKEN_BY"] == "bug":
                raise ValueError("a bug")
            raise Expected("no export in s3://bucket/molo/: upload it")

        def discover_streams(self):
            return []


    if __name__ == "__main__":
        run_cli(TapBroken, (Expected,))
    """
)


def run_plugin(tmp_path, broken_by: str, **env: str) -> subprocess.CompletedProcess:
    script = tmp_path / "tap_broken.py"
    script.write_text(PLUGIN)
    return subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        env={**os.environ, "BROKEN_BY": broken_by, **env},
        timeout=60,
        check=False,
    )


def test_expected_failure_is_one_line_and_exit_code_1(tmp_path):
    result = run_plugin(tmp_path, "expected")
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert "no export in s3://bucket/molo/: upload it" in lines[-1]
    assert "Traceback" not in result.stderr


def test_expected_failure_traceback_at_debug(tmp_path):
    result = run_plugin(tmp_path, "expected", TAP_BROKEN_LOGLEVEL="debug")
    assert result.returncode == 1
    assert "Traceback of the error above" in result.stderr
    assert "Expected: no export" in result.stderr


def test_a_bug_keeps_its_traceback(tmp_path):
    result = run_plugin(tmp_path, "bug")
    assert result.returncode != 0
    assert "Traceback" in result.stderr
    assert "ValueError: a bug" in result.stderr


def record(name: str, msg: str) -> logging.LogRecord:
    return logging.LogRecord(name, logging.INFO, __file__, 1, msg, None, None)


@pytest.fixture
def root_level():
    root = logging.getLogger()
    saved = root.level
    yield root.setLevel
    root.setLevel(saved)


def test_console_drops_metrics_and_setup_chatter_at_info(root_level):
    root_level(logging.INFO)
    quiet = QuietConsole()
    assert not quiet.filter(record(METRICS_LOGGER_NAME, "METRIC: {...}"))
    assert not quiet.filter(record("tap-broken", "Skipping parse of env var settings..."))
    assert quiet.filter(record("tap-broken", "Wrote 3 rows to STG_MOLO_SLIPS"))


def test_console_keeps_everything_at_debug(root_level):
    root_level(logging.DEBUG)
    quiet = QuietConsole()
    assert quiet.filter(record(METRICS_LOGGER_NAME, "METRIC: {...}"))
    assert quiet.filter(record("tap-broken", "Skipping parse of env var settings..."))
