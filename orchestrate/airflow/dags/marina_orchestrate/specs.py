"""Meltano schedules -> what each Airflow DAG holds. Pure (no Airflow import), so it is tested in
the project's own venv against the real `meltano schedule list --format=json`.

- A job schedule gives one DAG whose tasks are the job's tasks in order, each one
  `meltano run <task>` (a task that is a list of blocks is one `meltano run` of all of them).
- An old-style elt schedule (extractor/loader/transform) gives one task, `meltano schedule run`.
- A schedule without a cron interval (`@once`) gives no DAG; it is logged.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from .notify import notify_failure
from .settings import Settings

logger = logging.getLogger(__name__)

DAG_PREFIX = "meltano_"
# Fixed and in the past: with catchup off, Airflow schedules only the latest interval.
DEFAULT_START = datetime(2025, 1, 1, tzinfo=UTC)
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


@dataclass(frozen=True)
class TaskSpec:
    task_id: str
    args: tuple[str, ...]  # meltano arguments after the global options: ("run", "tap", "target")


@dataclass(frozen=True)
class DagSpec:
    dag_id: str
    schedule_name: str
    job_name: str | None
    cron: str
    start_date: datetime
    tasks: tuple[TaskSpec, ...]
    env: Mapping[str, str] = field(default_factory=dict)

    @property
    def tags(self) -> list[str]:
        tags = ["meltano", f"schedule:{self.schedule_name}"]
        return tags + ([f"job:{self.job_name}"] if self.job_name else [])


def dag_specs(schedule_export: Mapping) -> list[DagSpec]:
    """All DAGs of a `meltano schedule list --format=json` document (Meltano 2+ layout)."""
    schedules = schedule_export.get("schedules")
    if not isinstance(schedules, Mapping):
        raise ValueError("not the output of `meltano schedule list --format=json` (no 'schedules')")
    specs = [_job_dag(s) for s in schedules.get("job") or []]
    specs += [_elt_dag(s) for s in schedules.get("elt") or []]
    return [spec for spec in specs if spec is not None]


def task_id(block_text: str) -> str:
    """`tap-marina-s3 target-oracle` -> `tap-marina-s3_target-oracle`; `dbt:build` -> `dbt.build`."""
    return _UNSAFE.sub("_", block_text.replace(":", ".")).strip("_") or "task"


def _job_dag(schedule: Mapping) -> DagSpec | None:
    if not _has_interval(schedule):
        return None
    job = schedule["job"]
    blocks = [_split(task) for task in _job_tasks(job)]
    ids = _unique(task_id(" ".join(b)) for b in blocks)
    tasks = tuple(TaskSpec(i, ("run", *b)) for i, b in zip(ids, blocks, strict=True))
    if not tasks:
        raise ValueError(f"schedule {schedule['name']!r}: job {job['name']!r} has no tasks")
    return _dag(schedule, job["name"], tasks)


def _elt_dag(schedule: Mapping) -> DagSpec | None:
    if not _has_interval(schedule):
        return None
    name = schedule["name"]
    return _dag(schedule, None, (TaskSpec(task_id(name), ("schedule", "run", name)),))


def _dag(schedule: Mapping, job_name: str | None, tasks: tuple[TaskSpec, ...]) -> DagSpec:
    return DagSpec(
        dag_id=DAG_PREFIX + task_id(schedule["name"]),
        schedule_name=schedule["name"],
        job_name=job_name,
        cron=schedule["cron_interval"],
        start_date=_start_date(schedule.get("start_date")),
        tasks=tasks,
        env=dict(schedule.get("env") or {}),
    )


def _has_interval(schedule: Mapping) -> bool:
    if schedule.get("cron_interval"):
        return True
    logger.warning(
        "Meltano schedule %r has no cron interval (interval %r): no DAG created",
        schedule.get("name"),
        schedule.get("interval"),
    )
    return False


def _job_tasks(job: Mapping) -> list:
    tasks = job.get("tasks") or []
    return [tasks] if isinstance(tasks, str) else list(tasks)


def _split(task: str | Iterable[str]) -> tuple[str, ...]:
    """One job task -> the blocks of one `meltano run` (a list task is run as one invocation)."""
    parts = [task] if isinstance(task, str) else list(task)
    return tuple(word for part in parts for word in part.split())


def _unique(ids: Iterable[str]) -> list[str]:
    seen: dict[str, int] = {}
    result = []
    for i in ids:
        seen[i] = seen.get(i, 0) + 1
        result.append(i if seen[i] == 1 else f"{i}_{seen[i]}")
    return result


def _start_date(raw) -> datetime:
    if not raw:
        return DEFAULT_START
    value = raw if isinstance(raw, datetime) else datetime.fromisoformat(str(raw))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def task_defaults(settings: Settings) -> dict:
    """Airflow default_args of every task: retries with exponential backoff, a timeout, and the
    failure notification (called once the retries are used up)."""
    return {
        "owner": "marina",
        "depends_on_past": False,
        "retries": settings.retries,
        "retry_delay": settings.retry_delay,
        "retry_exponential_backoff": settings.retry_backoff,
        "max_retry_delay": settings.max_retry_delay,
        "execution_timeout": settings.task_timeout,
        "on_failure_callback": notify_failure,
    }


def dag_arguments(spec: DagSpec, settings: Settings) -> dict:
    """Keyword arguments of airflow DAG(...). One run at a time (max_active_runs=1) and no
    catch-up: a run loads whatever is new, so missed intervals need no runs of their own."""
    return {
        "dag_id": spec.dag_id,
        "schedule": spec.cron,
        "start_date": spec.start_date,
        "catchup": False,
        "max_active_runs": 1,
        "max_active_tasks": 1,
        "default_args": task_defaults(settings),
        "tags": spec.tags,
        "description": f"Meltano schedule {spec.schedule_name}" + (f" (job {spec.job_name})" if spec.job_name else ""),
    }


def task_environment(spec: DagSpec, settings: Settings) -> dict[str, str]:
    """Variables added to the worker's own environment for each task."""
    env = dict(spec.env)
    # marina-ops run (the scheduled jobs' wrapper) leaves failures to the DAG's failure callback,
    # which fires once after the retries (marina_ops/jobs.py FAILURE_NOTIFIED_BY).
    env["MARINA_FAILURE_NOTIFIED_BY"] = "airflow"
    if settings.environment:
        env["MELTANO_ENVIRONMENT"] = settings.environment
    return env
