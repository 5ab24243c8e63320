"""`marina-ops run JOB`: the wrapper around `meltano run` (Meltano has no on-failure hook).

The meltano executable is replaced by a small script (MARINA_MELTANO_BIN) that prints lines and
exits with a chosen code: what is tested is the wrapper (streaming, tail, notification, exit code).
The wrapper on a real dbt run is covered by test_runlog.py (build-if-new uses the same code).
"""
from __future__ import annotations

import stat
import textwrap

import pytest

from marina_ops.cli import main


def fake_meltano(folder, exit_code: int, lines: int = 60):
    script = folder / "meltano"
    script.write_text(textwrap.dedent(f"""\
        #!/bin/sh
        echo "meltano called with: $*"
        i=1
        while [ $i -le {lines} ]; do echo "output line $i"; i=$((i+1)); done
        echo "last words on stderr" >&2
        exit {exit_code}
        """))
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return script


@pytest.fixture
def job_env(clean_env, tmp_path, webhook_server):
    clean_env.setenv("MARINA_WEBHOOK_URL", webhook_server.url)
    clean_env.setenv("MARINA_DUCKDB_PATH", str(tmp_path / "none.duckdb"))
    clean_env.setenv("MELTANO_PROJECT_ROOT", str(tmp_path))
    return clean_env


def test_failed_job_notifies_with_the_tail_of_its_output(job_env, tmp_path, webhook_server, capsys):
    job_env.setenv("MARINA_MELTANO_BIN", str(fake_meltano(tmp_path, exit_code=3)))
    assert main(["run", "marina", "--force"]) == 3
    out = capsys.readouterr().out
    assert "meltano called with: run --force marina" in out and "output line 60" in out  # streamed
    (req,) = webhook_server.requests
    payload = req["json"]
    assert (payload["status"], payload["job"]) == ("failure", "marina")
    message = payload["message"]
    assert "exited with code 3" in message
    assert "Last 40 lines of the output:" in message
    assert "output line 22\n" in message and "last words on stderr" in message
    assert "output line 21\n" not in message  # only the tail
    assert "run log not read: DuckDB file" in message  # said, not hidden


def test_successful_job_without_dbt_notifies_success_when_asked(job_env, tmp_path, webhook_server, capsys):
    job_env.setenv("MARINA_MELTANO_BIN", str(fake_meltano(tmp_path, exit_code=0, lines=3)))
    assert main(["run", "el-only"]) == 0
    assert webhook_server.requests == []  # MARINA_NOTIFY_ON defaults to failure
    job_env.setenv("MARINA_NOTIFY_ON", "success,failure")
    assert main(["run", "el-only"]) == 0
    (req,) = webhook_server.requests
    assert req["json"]["status"] == "success"
    assert "succeeded" in req["json"]["message"] and "no dbt run logged by it" in req["json"]["message"]


def test_missing_meltano_is_a_notified_failure(job_env, tmp_path, webhook_server):
    job_env.setenv("MARINA_MELTANO_BIN", str(tmp_path / "no-such-meltano"))
    assert main(["run", "marina"]) == 127
    (req,) = webhook_server.requests
    assert req["json"]["status"] == "failure" and "cannot start" in req["json"]["message"]
