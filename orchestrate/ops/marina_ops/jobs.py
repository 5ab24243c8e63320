"""Running the pipeline with notifications: `run JOB` (meltano run) and `build-if-new` (dbt build).

Meltano has no on-failure hook, so this wrapper is the scheduled command (cron, make): it streams
the command's output, writes it to a log file per run (MARINA_LOG_DIR/<job>/, files older than
MARINA_LOG_RETENTION_DAYS removed), keeps its tail, and on failure sends the failure notification
with that tail (and the run-log summary when dbt logged this run); on success it prints the summary
and sends the success notification when MARINA_NOTIFY_ON includes success. A late export the tap
only warned about (late_export=warn) is sent as a warning; one that failed the run leads the
failure's message.
"""

from __future__ import annotations

import collections
import datetime as dt
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import TextIO

from . import env as envmod
from . import runlog
from .env import Env
from .notify import Notification, send, settings_from_env
from .warehouse import WarehouseError, connect, dbt_target

LATE = re.compile(r"\bLate .+? export: .*")  # the tap's message (tap_marina_s3/preflight.py)


def environment_name(env: Env) -> str:
    return envmod.get(env, "MELTANO_ENVIRONMENT")


# Set by `marina-ops run` for the job it runs: the job's own marina-ops steps (report, build-if-new)
# then leave the summary and the notification to the wrapper, which sends one of each at the end.
WRAPPED = "MARINA_OPS_WRAPPED"
# Set by the Airflow DAGs: Airflow retries a failed task and its failure callback notifies once
# the retries are used up, so a failure is not also notified here at every try.
FAILURE_NOTIFIED_BY = "MARINA_FAILURE_NOTIFIED_BY"


def notify(env: Env, status: str, job: str, message: str, summary: dict | None = None, log=print) -> list[str]:
    if envmod.get(env, WRAPPED):
        log(f"notification ({status}) left to `marina-ops run {envmod.get(env, WRAPPED)}`")
        return []
    if status == "failure" and (by := envmod.get(env, FAILURE_NOTIFIED_BY)):
        log(f"failure notification left to {by}")
        return []
    n = Notification(status=status, job=job, message=message, summary=summary, environment=environment_name(env))
    return send(n, settings_from_env(env), log=log)


def log_file(env: Env, job: str, now: dt.datetime | None = None) -> Path:
    """A new log file for one run of `job`; files of that job older than the retention go."""
    folder = Path(envmod.get(env, "MARINA_LOG_DIR") or envmod.project_root(env) / "output" / "logs")
    folder = folder / re.sub(r"[^A-Za-z0-9_.-]+", "_", job)
    folder.mkdir(parents=True, exist_ok=True)
    days = envmod.number(env, "MARINA_LOG_RETENTION_DAYS", 30)
    cutoff = time.time() - days * 86400
    for old in folder.glob("*.log"):
        if old.stat().st_mtime < cutoff:
            old.unlink(missing_ok=True)
    now = now or dt.datetime.now(dt.UTC)
    return folder / f"{folder.name}_{now:%Y-%m-%dT%H%M%S}Z.log"


def late_exports(lines: list[str]) -> list[str]:
    """The tap's late-export messages in a run's output, without log prefixes, once each."""
    return list(dict.fromkeys(m.group(0).strip() for line in lines if (m := LATE.search(line))))


def run_streamed(
    cmd: list[str], env: Env, tail_lines: int, log: TextIO | None = None, keep=lambda _line: False
) -> tuple[int, list[str], list[str]]:
    """Run `cmd`, copy its output (stdout + stderr) to our stdout and to `log`; return (exit code,
    last lines, every line for which `keep(line)` is true)."""
    tail: collections.deque[str] = collections.deque(maxlen=tail_lines)
    kept: list[str] = []
    print(f"$ {' '.join(cmd)}", flush=True)
    if log:
        log.write(f"$ {' '.join(cmd)}\n")
    try:
        proc = subprocess.Popen(
            cmd, env=dict(env), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace", bufsize=1
        )
    except OSError as exc:
        line = f"cannot start {cmd[0]}: {exc}"
        print(line, file=sys.stderr)
        if log:
            log.write(line + "\n")
        return 127, [line], []
    assert proc.stdout is not None
    for line in proc.stdout:
        sys.stdout.write(line)
        if log:
            log.write(line)
        tail.append(line.rstrip("\n"))
        if keep(line):
            kept.append(line.rstrip("\n"))
    sys.stdout.flush()
    return proc.wait(), list(tail), kept


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
    if send_notification:
        notify(env, "success" if summary.ok else "failure", job, text, summary.as_dict())
    if envmod.get(env, WRAPPED):  # printed once, last, by the wrapper
        print(f"dbt run {'OK' if summary.ok else 'FAILED'}: the summary follows at the end of the job")
    else:
        print(text)  # the last thing printed
    return 0 if summary.ok else 1


def run_and_report(
    cmd: list[str], job: str, env: Env, log_name: str | None = None, child_env: Env | None = None
) -> int:
    """Run `cmd` (its output also to a log file); on failure notify with the output's tail (and
    the run log of this run, if dbt logged one); on success report the dbt run this command
    logged (or just notify success), and send a warning for late exports."""
    tail_lines = int(envmod.number(env, "MARINA_NOTIFY_TAIL_LINES", 40))
    # dbt's run timestamp is taken after the command starts; the margin covers clock rounding
    started = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(seconds=1)
    path = log_file(env, log_name or job)
    print(f"log file: {path}", flush=True)
    t0 = time.monotonic()
    with open(path, "w", encoding="utf-8", errors="replace") as log:
        rc, tail, late_lines = run_streamed(cmd, child_env or env, tail_lines, log, keep=LATE.search)
        late = late_exports(late_lines)
        took = time.monotonic() - t0
        rc = _finish(cmd, job, env, rc, tail, late, took, started, path)
        log.write(f"exit code {rc}\n")
    return rc


def _finish(
    cmd: list[str],
    job: str,
    env: Env,
    rc: int,
    tail: list[str],
    late: list[str],
    took: float,
    started: dt.datetime,
    path: Path,
) -> int:
    logged, log_problem = None, ""
    try:
        logged = _latest(env)
    except WarehouseError as exc:
        log_problem = str(exc)
    if logged is not None and logged.started_at < started:
        logged = None  # an earlier run: this command did not log a dbt run
    if rc == 0:
        if late:
            notify(
                env,
                "warning",
                job,
                "Late export(s), the run went on (late_export=warn):\n" + "\n".join(late) + f"\n\nlog file: {path}",
            )
        if logged is not None:
            return _report_summary(env, job, logged, all_tables=False, send_notification=True)
        text = f"`{' '.join(cmd)}` succeeded in {took:.0f} s (no dbt run logged by it)."
        print(text)
        notify(env, "success", job, text)
        return 0
    message = "".join(f"{line}\n" for line in late) + "\n" * bool(late)
    message += f"`{' '.join(cmd)}` exited with code {rc} after {took:.0f} s (log file: {path}).\n"
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
    try:
        dbt_target(env)  # a DBT_TARGET the environment does not use is refused before anything runs
    except WarehouseError as exc:
        print(f"marina-ops run: {exc}", file=sys.stderr)
        notify(env, "failure", job, f"The job did not start: {exc}")
        return 2
    meltano = envmod.meltano_bin(env)
    if not meltano:
        print("meltano not found: set MARINA_MELTANO_BIN or put meltano on PATH", file=sys.stderr)
        notify(env, "failure", job, "meltano not found (MARINA_MELTANO_BIN / PATH): the job did not start")
        return 127
    return run_and_report([meltano, "run", *meltano_args, job], job, env, child_env={**env, WRAPPED: job})


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
    print(
        f"build-if-new: {len(names)} table(s) loaded since their last dbt run: {', '.join(names[:10])}"
        + (" ..." if len(names) > 10 else ""),
        flush=True,
    )
    dbt = envmod.dbt_bin(env)
    if not dbt:
        print("dbt not found: set MARINA_DBT_BIN or install the marina-ops plugin", file=sys.stderr)
        return 127
    return run_and_report(
        [dbt, "build", *dbt_args], "dbt build (build-if-new)", envmod.dbt_env(env), log_name="build-if-new"
    )
