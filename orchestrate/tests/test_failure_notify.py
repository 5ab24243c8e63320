"""The failure callback builds and really runs the configured command."""

from __future__ import annotations

import json
import logging
import sys
from types import SimpleNamespace

from marina_orchestrate.notify import failure_command, notify_failure
from marina_orchestrate.settings import DEFAULT_NOTIFY_COMMAND, Settings

TI = SimpleNamespace(
    dag_id="meltano_marina-daily",
    task_id="dbt.build",
    run_id="scheduled__x",
    try_number=4,
    log_url="http://airflow/log?x=1",
)
CONTEXT = {"ti": TI, "exception": RuntimeError("Bash command failed. exit code 1")}


def test_default_command_is_marina_ops_notify_failure():
    argv = failure_command(CONTEXT, Settings.from_env({"MARINA_MELTANO_BIN": "meltano", "MELTANO_ENVIRONMENT": "prod"}))
    assert argv[:6] == ["meltano", "--environment=prod", "invoke", "marina-ops", "notify", "--status"]
    assert argv[6] == "failure"
    assert argv[argv.index("--job") + 1] == "meltano_marina-daily"
    message = argv[argv.index("--message") + 1]  # one argument, spaces and all
    assert message.startswith("meltano_marina-daily.dbt.build failed (run scheduled__x, try 4)")
    assert "exit code 1" in message and "http://airflow/log?x=1" in message
    assert DEFAULT_NOTIFY_COMMAND.startswith("invoke marina-ops notify --status failure")


def test_empty_setting_turns_notification_off_and_says_so(monkeypatch, caplog):
    assert failure_command(CONTEXT, Settings.from_env({"MARINA_NOTIFY_COMMAND": ""})) is None
    monkeypatch.setenv("MARINA_NOTIFY_COMMAND", "")
    with caplog.at_level(logging.WARNING):
        notify_failure(CONTEXT)
    assert "not notifying: meltano_marina-daily.dbt.build failed" in caplog.text


def _recorder(tmp_path, exit_code: int):
    """A stand-in `meltano` executable that records its arguments (the callback's boundary)."""
    out = tmp_path / "argv.json"
    script = tmp_path / "meltano"
    script.write_text(
        f"#!{sys.executable}\nimport json, sys\n"
        f"open({str(out)!r}, 'w').write(json.dumps(sys.argv[1:]))\nsys.exit({exit_code})\n"
    )
    script.chmod(0o755)
    return script, out


def test_callback_runs_the_command(tmp_path, monkeypatch):
    script, out = _recorder(tmp_path, 0)
    monkeypatch.setenv("MARINA_MELTANO_BIN", str(script))
    monkeypatch.setenv("MELTANO_PROJECT_ROOT", str(tmp_path))
    monkeypatch.setenv("MARINA_NOTIFY_COMMAND", "invoke marina-ops notify --status failure --message {message}")
    notify_failure(CONTEXT)
    argv = json.loads(out.read_text())
    assert argv[:5] == ["invoke", "marina-ops", "notify", "--status", "failure"]
    assert argv[6].startswith("meltano_marina-daily.dbt.build failed")


def test_callback_logs_a_failed_notification(tmp_path, monkeypatch, caplog):
    script, _ = _recorder(tmp_path, 3)
    monkeypatch.setenv("MARINA_MELTANO_BIN", str(script))
    monkeypatch.setenv("MELTANO_PROJECT_ROOT", str(tmp_path))
    with caplog.at_level(logging.ERROR):
        notify_failure(CONTEXT)
    assert "failure notification exited 3" in caplog.text
