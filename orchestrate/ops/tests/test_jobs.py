"""`marina-ops run JOB`: the wrapper around `meltano run` (Meltano has no on-failure hook).

The meltano executable is replaced by a small script (MARINA_MELTANO_BIN) that prints lines and
exits with a chosen code: what is tested is the wrapper (streaming, tail, notification, exit code).
The wrapper on a real dbt run is covered by test_runlog.py (build-if-new uses the same code).
"""

from __future__ import annotations

import stat
import textwrap

import pytest
from conftest import MARINA_OPS

from marina_ops.cli import main


def fake_meltano(folder, exit_code: int, lines: int = 60):
    script = folder / "meltano"
    script.write_text(
        textwrap.dedent(f"""\
        #!/bin/sh
        echo "meltano called with: $*"
        i=1
        while [ $i -le {lines} ]; do echo "output line $i"; i=$((i+1)); done
        echo "last words on stderr" >&2
        exit {exit_code}
        """)
    )
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


def test_under_airflow_failures_are_left_to_its_callback_and_successes_are_sent(
    job_env, tmp_path, webhook_server, capsys
):
    """Airflow retries a failed task and its callback notifies once the retries are used up."""
    job_env.setenv("MARINA_FAILURE_NOTIFIED_BY", "airflow")
    job_env.setenv("MARINA_NOTIFY_ON", "success,failure")
    job_env.setenv("MARINA_MELTANO_BIN", str(fake_meltano(tmp_path, exit_code=3)))
    assert main(["run", "marina"]) == 3
    assert webhook_server.requests == []
    assert "failure notification left to airflow" in capsys.readouterr().out
    job_env.setenv("MARINA_MELTANO_BIN", str(fake_meltano(tmp_path, exit_code=0, lines=3)))
    assert main(["run", "marina"]) == 0
    (req,) = webhook_server.requests
    assert req["json"]["status"] == "success"


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


# --- log files, late exports, DBT_TARGET -----------------------------------------------------------
LATE_LINE = (
    "2026-12-07T06:30:05Z [info     ] tap-marina-s3 Late Stellar Business (boat rentals) export: nothing new since "
    "2026-12-05 06:00 UTC (48 h ago, newest prod_resilient_2026-12-05_06_00-DATA.sql.gz in s3://b/; "
    "stellar_max_export_age_hours=30)"
)


def meltano_printing(folder, line: str, exit_code: int):
    script = folder / "meltano"
    script.write_text(f"#!/bin/sh\necho 'starting'\necho '{line}' >&2\nexit {exit_code}\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return script


def test_each_run_writes_its_own_log_file_and_old_ones_go(job_env, tmp_path, capsys):
    import os
    import time

    job_env.setenv("MARINA_MELTANO_BIN", str(fake_meltano(tmp_path, exit_code=0, lines=3)))
    job_env.setenv("MARINA_LOG_DIR", str(tmp_path / "logs"))
    job_env.setenv("MARINA_LOG_RETENTION_DAYS", "7")
    old = tmp_path / "logs" / "marina" / "marina_2026-01-01T063000Z.log"
    old.parent.mkdir(parents=True)
    old.write_text("old run\n")
    os.utime(old, (time.time() - 8 * 86400,) * 2)
    kept = old.with_name("marina_2026-01-05T063000Z.log")
    kept.write_text("recent run\n")
    os.utime(kept, (time.time() - 6 * 86400,) * 2)
    assert main(["run", "marina"]) == 0
    logs = sorted((tmp_path / "logs" / "marina").glob("*.log"))
    assert old not in logs and kept in logs and len(logs) == 2
    (new,) = [p for p in logs if p != kept]
    text = new.read_text()
    assert "meltano called with: run marina" in text and "output line 3" in text and text.endswith("exit code 0\n")
    assert f"log file: {new}" in capsys.readouterr().out


def test_late_export_failure_names_the_vendor_first(job_env, tmp_path, webhook_server):
    job_env.setenv("MARINA_MELTANO_BIN", str(meltano_printing(tmp_path, LATE_LINE, exit_code=1)))
    assert main(["run", "molo"]) == 1
    (req,) = webhook_server.requests
    message = req["json"]["message"]
    assert req["json"]["status"] == "failure"
    assert message.splitlines()[0] == LATE_LINE.split("tap-marina-s3 ", 1)[1]
    assert "since 2026-12-05 06:00 UTC" in message.splitlines()[0]


def test_late_export_warning_is_notified_when_the_run_went_on(job_env, tmp_path, webhook_server):
    job_env.setenv("MARINA_MELTANO_BIN", str(meltano_printing(tmp_path, LATE_LINE, exit_code=0)))
    assert main(["run", "molo"]) == 0
    (req,) = webhook_server.requests  # MARINA_NOTIFY_ON's default has warning, not success
    assert req["json"]["status"] == "warning"
    assert req["json"]["title"].endswith("molo WARNING")
    assert (
        "Late Stellar Business (boat rentals) export: nothing new since 2026-12-05 06:00 UTC" in req["json"]["message"]
    )


def test_dbt_target_the_environment_does_not_use_is_refused(job_env, tmp_path, webhook_server, capsys):
    job_env.setenv("MARINA_MELTANO_BIN", str(fake_meltano(tmp_path, exit_code=0, lines=1)))
    job_env.setenv("MELTANO_ENVIRONMENT", "dev")
    job_env.setenv("DBT_TARGET", "duckdb")
    job_env.setenv("MARINA_DBT_TARGET_REQUESTED", "oracle")
    assert main(["run", "marina"]) == 2
    err = capsys.readouterr()
    assert "meltano called with" not in err.out  # nothing ran
    assert "DBT_TARGET=oracle is refused: environment dev uses duckdb" in err.err
    (req,) = webhook_server.requests
    assert req["json"]["status"] == "failure" and "did not start" in req["json"]["message"]


def test_steps_inside_a_wrapped_job_leave_summary_and_notification_to_the_wrapper(
    job_env, tmp_path, webhook_server, capsys
):
    """The job's own `marina-ops:report` step runs with MARINA_OPS_WRAPPED: no notification of its
    own (the wrapper sends one), so a failed job notifies once."""
    script = tmp_path / "meltano"
    script.write_text(
        f'#!/bin/sh\necho "wrapped: $MARINA_OPS_WRAPPED"\n'
        f"MARINA_MELTANO_BIN= {MARINA_OPS} notify --status failure --job inner\nexit 1\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    job_env.setenv("MARINA_MELTANO_BIN", str(script))
    assert main(["run", "marina"]) == 1
    out = capsys.readouterr().out
    assert "wrapped: marina" in out and "notification (failure) left to `marina-ops run marina`" in out
    (req,) = webhook_server.requests  # the wrapper's only
    assert req["json"]["job"] == "marina"
