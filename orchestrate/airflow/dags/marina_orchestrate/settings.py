"""Settings of the DAG generator, read from environment variables (no Airflow import).

Every Airflow component that parses the DAG file (scheduler / DAG processor, workers) needs the
same values; set them where Airflow's own variables are set.

| variable                          | default                                             |
|-----------------------------------|-----------------------------------------------------|
| MELTANO_PROJECT_ROOT              | the project this file is in                         |
| MARINA_MELTANO_BIN                | <root>/.venv/bin/meltano if present, else `meltano` |
| MELTANO_ENVIRONMENT               | unset: the project's default_environment (dev)      |
| MARINA_SCHEDULES_SOURCE           | `cache` (read MARINA_SCHEDULES_JSON) or `meltano`   |
| MARINA_SCHEDULES_JSON             | dags/meltano_schedules.json (`make dags` writes it) |
| MARINA_TASK_RETRIES               | 3                                                   |
| MARINA_RETRY_DELAY_SECONDS        | 300 (first retry; doubles each time)                |
| MARINA_RETRY_BACKOFF              | 2.0 (multiplier; Airflow's retry_exponential_backoff)|
| MARINA_MAX_RETRY_DELAY_SECONDS    | 3600                                                |
| MARINA_TASK_TIMEOUT_SECONDS       | 21600 (a hung task must not hold the DAG for ever)  |
| MARINA_NOTIFY_COMMAND             | see DEFAULT_NOTIFY_COMMAND; empty = no notification |
| MARINA_NOTIFY_TIMEOUT_SECONDS     | 120                                                 |
| MARINA_REMOTE_STATE_ENVIRONMENTS  | `staging,prod`: these need a remote state backend   |
| MELTANO_STATE_BACKEND_URI         | Meltano's own setting (s3://bucket/prefix in prod)  |
| MELTANO_DATABASE_URI              | Meltano's system database (state when `systemdb`)   |
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

DAGS_DIR = Path(__file__).resolve().parent.parent
DEFAULT_PROJECT_ROOT = DAGS_DIR.parents[2]  # dags -> airflow -> orchestrate -> project
DEFAULT_SCHEDULES_JSON = DAGS_DIR / "meltano_schedules.json"

# Arguments of `meltano` run by a task's on_failure_callback (marina-ops notify: orchestrate/ops);
# each is formatted with the placeholders of NOTIFY_FIELDS after splitting, so a value with
# spaces stays one argument. {message} names the DAG, task, run, try, error and log URL.
DEFAULT_NOTIFY_COMMAND = "invoke marina-ops notify --status failure --job {dag_id} --message {message}"
NOTIFY_FIELDS = ("dag_id", "task_id", "run_id", "try_number", "log_url", "exception", "message")


class SettingsError(ValueError):
    """A setting is missing or invalid; raised while the DAG file is parsed."""


@dataclass(frozen=True)
class Settings:
    project_root: Path
    meltano_bin: str
    environment: str | None
    schedules_source: str
    schedules_json: Path
    retries: int
    retry_delay: timedelta
    retry_backoff: float
    max_retry_delay: timedelta
    task_timeout: timedelta
    notify_command: tuple[str, ...]
    notify_timeout: int
    remote_state_environments: frozenset[str]
    state_backend_uri: str
    database_uri: str

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        root = Path(env.get("MELTANO_PROJECT_ROOT") or DEFAULT_PROJECT_ROOT)
        local_meltano = root / ".venv" / "bin" / "meltano"
        source = env.get("MARINA_SCHEDULES_SOURCE") or "cache"
        if source not in ("cache", "meltano"):
            raise SettingsError(f"MARINA_SCHEDULES_SOURCE must be cache or meltano, not {source!r}")
        settings = cls(
            project_root=root,
            meltano_bin=env.get("MARINA_MELTANO_BIN") or (str(local_meltano) if local_meltano.exists() else "meltano"),
            environment=env.get("MELTANO_ENVIRONMENT") or None,
            schedules_source=source,
            schedules_json=Path(env.get("MARINA_SCHEDULES_JSON") or DEFAULT_SCHEDULES_JSON),
            retries=_number(env, "MARINA_TASK_RETRIES", int, 3),
            retry_delay=timedelta(seconds=_number(env, "MARINA_RETRY_DELAY_SECONDS", int, 300)),
            retry_backoff=_number(env, "MARINA_RETRY_BACKOFF", float, 2.0),
            max_retry_delay=timedelta(seconds=_number(env, "MARINA_MAX_RETRY_DELAY_SECONDS", int, 3600)),
            task_timeout=timedelta(seconds=_number(env, "MARINA_TASK_TIMEOUT_SECONDS", int, 21600)),
            notify_command=tuple(shlex.split(env.get("MARINA_NOTIFY_COMMAND", DEFAULT_NOTIFY_COMMAND))),
            notify_timeout=_number(env, "MARINA_NOTIFY_TIMEOUT_SECONDS", int, 120),
            remote_state_environments=frozenset(
                name.strip()
                for name in env.get("MARINA_REMOTE_STATE_ENVIRONMENTS", "staging,prod").split(",")
                if name.strip()
            ),
            state_backend_uri=env.get("MELTANO_STATE_BACKEND_URI", ""),
            database_uri=env.get("MELTANO_DATABASE_URI", ""),
        )
        settings.check_notify_command()
        return settings

    def meltano_argv(self, *args: str) -> list[str]:
        """`meltano [--environment=<env>] <args>`."""
        env_option = [f"--environment={self.environment}"] if self.environment else []
        return [self.meltano_bin, *env_option, *args]

    def check_notify_command(self) -> None:
        """Fail at parse time, not at the first failure, on an unknown placeholder."""
        sample = {name: name for name in NOTIFY_FIELDS}
        try:
            for part in self.notify_command:
                part.format(**sample)
        except (KeyError, IndexError, ValueError) as error:
            raise SettingsError(
                f"MARINA_NOTIFY_COMMAND: bad placeholder {error} (known: {', '.join(NOTIFY_FIELDS)})"
            ) from error

    def check_state_backend(self) -> None:
        """staging/prod run on throw-away workers: their state must not stay on the worker."""
        if self.environment not in self.remote_state_environments:
            return
        uri = self.state_backend_uri.strip() or "systemdb"
        database = self.database_uri.strip()
        if uri == "systemdb":  # state in Meltano's system database: fine if that is a server
            local = not database or database.startswith("sqlite")
            where = f"the system database {database or '(default sqlite file)'}"
        else:
            local = uri.startswith("file:")
            where = uri
        if local:
            raise SettingsError(
                f"environment {self.environment!r} keeps Meltano state on the worker ({where}): "
                "set MELTANO_STATE_BACKEND_URI=s3://<bucket>/<prefix> (or MELTANO_DATABASE_URI to "
                "a database server); see orchestrate/README.md"
            )


def _number(env: Mapping[str, str], name: str, kind: type, default):
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = kind(raw)
    except ValueError as error:
        raise SettingsError(f"{name}={raw!r} is not a {kind.__name__}") from error
    if value < 0:
        raise SettingsError(f"{name}={raw!r} must not be negative")
    return value
