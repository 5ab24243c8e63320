"""on_failure_callback of every task: `meltano invoke marina-ops notify --status failure ...`.

Airflow calls it on the worker once a task has failed for good (retries used up). The command
is the setting MARINA_NOTIFY_COMMAND (settings.py); an empty setting turns notifications off,
which is logged at every failure.
"""

from __future__ import annotations

import logging
import subprocess
from collections.abc import Mapping

from .settings import Settings

logger = logging.getLogger(__name__)

MAX_EXCEPTION_CHARS = 500


def failure_fields(context: Mapping) -> dict[str, str]:
    ti = context.get("ti") or context.get("task_instance")
    exception = context.get("exception")
    fields = {
        "dag_id": str(getattr(ti, "dag_id", "")),
        "task_id": str(getattr(ti, "task_id", "")),
        "run_id": str(getattr(ti, "run_id", "") or context.get("run_id", "")),
        "try_number": str(getattr(ti, "try_number", "")),
        "log_url": str(getattr(ti, "log_url", "") or ""),
        "exception": str(exception or "")[:MAX_EXCEPTION_CHARS],
    }
    message = f"{fields['dag_id']}.{fields['task_id']} failed (run {fields['run_id']}, try {fields['try_number']})"
    if fields["exception"]:
        message += f": {fields['exception']}"
    if fields["log_url"]:
        message += f" - log: {fields['log_url']}"
    fields["message"] = message
    return fields


def failure_command(context: Mapping, settings: Settings) -> list[str] | None:
    """The notification's argv, or None when notifications are off."""
    if not settings.notify_command:
        return None
    fields = failure_fields(context)
    return settings.meltano_argv(*(part.format(**fields) for part in settings.notify_command))


def notify_failure(context: Mapping) -> None:
    """Run the notification command; its failure is logged (Airflow shows it in the task log)."""
    settings = Settings.from_env()
    argv = failure_command(context, settings)
    fields = failure_fields(context)
    if argv is None:
        logger.warning("MARINA_NOTIFY_COMMAND is empty: not notifying: %s", fields["message"])
        return
    try:
        result = subprocess.run(
            argv,
            cwd=settings.project_root,
            capture_output=True,
            text=True,
            timeout=settings.notify_timeout,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        logger.error("failure notification could not run (%s): %s", error, fields["message"])
        return
    if result.returncode != 0:
        logger.error(
            "failure notification exited %d: %s\n%s",
            result.returncode,
            fields["message"],
            result.stderr[-2000:],
        )
    else:
        logger.info("failure notification sent: %s", fields["message"])
