"""Running the pipeline with notifications: `run JOB` (meltano run) and `build-if-new` (dbt build).

Meltano has no on-failure hook, so this wrapper is what cron / make / Airflow call: it streams the
command's output, keeps its tail, and on failure sends the failure notification with that tail (and
the run-log summary when dbt logged this run); on success it prints the summary and sends the
success notification when MARINA_NOTIFY_ON includes success.
"""
from __future__ import annotations

import collections
import datetime as dt
import subprocess
import sys
import time

from . import env as envmod
from . import runlog
from .env import Env
from .notify import Notification, send, settings_from_env
from .warehouse import WarehouseError, connect


def environment_name(env: Env) -> str:
    return envmod.get(env, "MELTANO_ENVIRONMENT")


def notify(env: Env, status: str, job: str, message: str, summary: dict | None = None, log=print) -> list[str]:
    n = Notification(status=status, job=job, message=message, summary=summary, environment=environment_name(env))
    return send(n, settings_from_env(env), log=log)


def run_streamed(cmd: list[str], env: Env, tail_lines: int) -> tuple[int, list[str]]:
    """Run `cmd`, copy its output (stdout + stderr) to our stdout, return (exit code, last lines)."""
    tail: collections.deque[str] = collections.deque(maxlen=tail_lines)
    print(f"$ {' '.join(cmd)}", flush=True)
    try:
        proc = subprocess.Popen(cmd, env=dict(env), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, errors="replace", bufsize=1)
    except OSError as exc:
        line = f"cannot start {cmd[0]}: {exc}"
        print(line, file=sys.stderr)
        return 127, [line]
    assert proc.stdout is not None
    for line in proc.stdout:
        sys.stdout.write(line)
        tail.append(line.rstrip("\n"))
    sys.stdout.flush()
    return proc.wait(), list(tail)


def _latest(env: Env) -> runlog.RunSummary | None:
    with connect(env) as wh:
        return runlog.latest_run(wh)


def report(env: Env, job: str = "report", all_tables: bool = False, send_notification: bool = True) -> int:
    """Print the latest run's summary; notify success (if wanted) or failure (failed models).
    Exit code 1 when the run log shows a failed model, 2 when there is no run log to read."""
    try:
        summary = _latest(env)
    except WarehouseError as exc:
        print(f"report: {exc}", file=sys.stderr)
        if send_notification:
            notify(env, "failure", job, f"The run log could not be read: {exc}")
        return 2
    if summary is None:
        print("report: no dbt run is logged in DW_ETL_RUN_LOG yet", file=sys.stderr)
        return 2
    return _report_summary(env, job, summary, all_tables, send_notification)


def _report_summary(env: Env, job: str, summary: runlog.RunSummary, all_tables: bool, send_notification: bool) -> int:
    text = runlog.format_summary(summary, all_tables=all_tables)
    print(text)
    if send_notification:
        notify(env, "success" if summary.ok else "failure", job, text, summary.as_dict())
    return 0 if summary.ok else 1


def run_and_report(cmd: list[str], job: str, env: Env) -> int:
    """Run `cmd`; on failure notify with the output's tail (and the run log of this run, if dbt
    logged one); on success report the dbt run this command logged (or just notify success)."""
    tail_lines = int(envmod.number(env, "MARINA_NOTIFY_TAIL_LINES", 40))
    # dbt's run timestamp is taken after the command starts; the margin covers clock rounding
    started = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None) - dt.timedelta(seconds=1)
    t0 = time.monotonic()
    rc, tail = run_streamed(cmd, env, tail_lines)
    took = time.monotonic() - t0
    logged, log_problem = None, ""
    try:
        logged = _latest(env)
    except WarehouseError as exc:
        log_problem = str(exc)
    if logged is not None and logged.started_at < started:
        logged = None  # an earlier run: this command did not log a dbt run
    if rc == 0:
        if logged is not None:
            return _report_summary(env, job, logged, all_tables=False, send_notification=True)
        text = f"`{' '.join(cmd)}` succeeded in {took:.0f} s (no dbt run logged by it)."
        print(text)
        notify(env, "success", job, text)
        return 0
    message = f"`{' '.join(cmd)}` exited with code {rc} after {took:.0f} s.\n"
    if logged is not None:
        message += "\n" + runlog.format_summary(logged) + "\n"
    elif log_problem:
        message += f"\n(run log not read: {log_problem})\n"
    message += f"\nLast {len(tail)} lines of the output:\n" + "\n".join(tail)
    errors = notify(env, "failure", job, message, logged.as_dict() if logged else None)
    if errors:
        print(f"notification errors: {'; '.join(errors)}", file=sys.stderr)
    return rc


def run_job(job: str, meltano_args: list[str], env: Env) -> int:
    meltano = envmod.meltano_bin(env)
    if not meltano:
        print("meltano not found: set MARINA_MELTANO_BIN or put meltano on PATH", file=sys.stderr)
        notify(env, "failure", job, "meltano not found (MARINA_MELTANO_BIN / PATH): the job did not start")
        return 127
    return run_and_report([meltano, "run", *meltano_args, job], job, env)


def build_if_new(dbt_args: list[str], env: Env) -> int:
    """`dbt build` only when a completed load is newer than the last logged dbt run of its table."""
    try:
        with connect(env) as wh:
            pending = runlog.pending_loads(wh)
    except WarehouseError as exc:
        print(f"build-if-new: {exc}", file=sys.stderr)
        notify(env, "failure", "build-if-new", f"The warehouse could not be read: {exc}")
        return 2
    if not pending:
        print("build-if-new: nothing new (no completed load since the last dbt run)")
        return 0
    names = sorted(pending.tables)
    print(f"build-if-new: {len(names)} table(s) loaded since their last dbt run: {', '.join(names[:10])}"
          + (" ..." if len(names) > 10 else ""), flush=True)
    dbt = envmod.dbt_bin(env)
    if not dbt:
        print("dbt not found: set MARINA_DBT_BIN or install the marina-ops plugin", file=sys.stderr)
        return 127
    return run_and_report([dbt, "build", *dbt_args], "dbt build (build-if-new)", envmod.dbt_env(env))
