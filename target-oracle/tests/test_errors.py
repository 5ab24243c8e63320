"""The installed `target-oracle` command on expected failures: exit code 1, one line naming
what failed, where and the setting to fix, no traceback at the default log level (DEBUG has
it). Connection failures use the real python-oracledb driver against this machine only: a
closed port on 127.0.0.1 and a host name under the reserved `.invalid` domain."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

EXE = Path(sys.executable).with_name("target-oracle")
SCHEMA = {
    "type": "SCHEMA",
    "stream": "molo_slips",
    "key_properties": ["id"],
    "schema": {"properties": {"id": {"type": "integer"}, "name": {"type": ["string", "null"]}}},
}
RECORD = {"type": "RECORD", "stream": "molo_slips", "record": {"id": 1, "name": "A"}}
OPERATIONS = Path(__file__).resolve().parents[2] / "docs" / "operations.md"


def documented(*fragments: str) -> None:
    """docs/operations.md's error table quotes the message an operator sees."""
    text = OPERATIONS.read_text(encoding="utf-8")
    assert [f for f in fragments if f not in text] == []


def target(tmp_path: Path, config: dict, **env: str) -> subprocess.CompletedProcess:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("TARGET_ORACLE_", "MELTANO_"))}
    lines = "".join(json.dumps(m) + "\n" for m in (SCHEMA, RECORD))
    return subprocess.run(
        [str(EXE), "--config", str(path)],
        input=lines,
        capture_output=True,
        text=True,
        timeout=120,
        env={**environ, **env},
        check=False,
    )


def failure(result: subprocess.CompletedProcess) -> str:
    """The last ERROR line's message, after checking exit code and the absence of a traceback."""
    assert result.returncode == 1, result.stderr[-2000:]
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    return [line.split(" | ", 3)[-1] for line in result.stderr.splitlines() if "| ERROR" in line][-1]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


ORACLE = {"oracle_user": "marina", "oracle_password": "secret"}


def test_no_oracle_settings_in_prod(tmp_path):
    # what the prod environment passes when no ORACLE_* is set: only its batch sizes
    message = failure(
        target(tmp_path, {"batch_size_rows": 100000, "oracle_array_size": 20000}, MELTANO_ENVIRONMENT="prod")
    )
    assert message.startswith(
        "no warehouse configured for environment prod: set ORACLE_DSN, ORACLE_USER and ORACLE_PASSWORD"
    ), message
    documented("no warehouse configured for environment prod")


def test_some_oracle_settings_missing(tmp_path):
    message = failure(target(tmp_path, {"oracle_dsn": "db.example.invalid:1521/svc"}))
    assert message.startswith("ORACLE_USER, ORACLE_PASSWORD not set"), message
    documented("ORACLE_USER, ORACLE_PASSWORD not set")


def test_unresolvable_host(tmp_path):
    message = failure(target(tmp_path, {**ORACLE, "oracle_dsn": "adb.example.invalid:1522/svc_high"}))
    assert message.startswith(
        "Oracle marina@adb.example.invalid:1522/svc_high: the database host in ORACLE_DSN cannot be resolved"
    ), message
    assert "check the host name" in message
    documented("the database host in ORACLE_DSN cannot be resolved")


def test_refused_connection(tmp_path):
    port = closed_port()
    message = failure(target(tmp_path, {**ORACLE, "oracle_dsn": f"127.0.0.1:{port}/svc"}))
    assert message.startswith(
        f"Oracle marina@127.0.0.1:{port}/svc: cannot connect to the host/port in "
        "ORACLE_DSN: check the port, the firewall"
    ), message
    assert "DPY-6005" in message
    documented("cannot connect to the host/port in ORACLE_DSN")


def test_traceback_at_debug(tmp_path):
    result = target(
        tmp_path, {**ORACLE, "oracle_dsn": f"127.0.0.1:{closed_port()}/svc"}, TARGET_ORACLE_LOGLEVEL="debug"
    )
    assert result.returncode == 1 and "Traceback" in result.stderr


@pytest.mark.parametrize(
    ("setting", "variable", "needed"),
    [
        ("oracle_config_dir", "ORACLE_CONFIG_DIR", "tnsnames.ora"),
        ("oracle_wallet_location", "ORACLE_WALLET_LOCATION", "ewallet.pem"),
    ],
)
def test_missing_wallet(tmp_path, setting, variable, needed):
    folder = tmp_path / "wallet"  # never created
    message = failure(target(tmp_path, {**ORACLE, "oracle_dsn": "marina_high", setting: str(folder)}))
    assert message.startswith(
        f"Oracle marina@marina_high: no {needed} in {folder} ({variable}): unzip the "
        "Autonomous Database wallet there (docs/operations.md, first production run)"
    )
    documented(f"no {needed} in")


def test_quiet_console_on_success(tmp_path):
    config = {"duckdb_path": str(tmp_path / "w.duckdb")}
    result = target(tmp_path, config)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "METRIC" not in result.stderr and "Skipping parse" not in result.stderr
    assert "METRIC" in target(tmp_path, config, TARGET_ORACLE_LOGLEVEL="debug").stderr
