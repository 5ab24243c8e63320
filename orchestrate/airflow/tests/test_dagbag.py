"""The DAG file as Airflow loads it: no import errors, one DAG per Meltano schedule, the job's
tasks chained in order, each running `meltano run <task>` in the project."""

from __future__ import annotations

import json
import shlex
from datetime import timedelta
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
DAGS = ROOT / "orchestrate" / "airflow" / "dags"
MELTANO = "/opt/marina/.venv/bin/meltano"  # any path: the DAGs only build command lines


def dagbag(monkeypatch, **env):
    for name in ("MELTANO_ENVIRONMENT", "MELTANO_STATE_BACKEND_URI", "MELTANO_DATABASE_URI"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MARINA_MELTANO_BIN", MELTANO)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    try:
        from airflow.dag_processing.dagbag import DagBag
    except ImportError:  # Airflow 2.x
        from airflow.models.dagbag import DagBag
    return DagBag(dag_folder=str(DAGS))


@pytest.fixture(scope="module")
def schedules() -> list[dict]:
    """Expected DAGs: the cached schedule list (orchestrate/tests checks it is Meltano's own)."""
    export = json.loads((DAGS / "meltano_schedules.json").read_text())
    return export["schedules"]["job"]


def chain(dag) -> list:
    """The DAG's tasks in dependency order; fails unless they form one straight line."""
    (first,) = [t for t in dag.tasks if not t.upstream_task_ids]
    order = [first]
    while order[-1].downstream_task_ids:
        (next_id,) = order[-1].downstream_task_ids
        order.append(dag.get_task(next_id))
    assert len(order) == len(dag.tasks)
    return order


def test_dags_match_the_schedules(monkeypatch, schedules):
    bag = dagbag(monkeypatch, MELTANO_ENVIRONMENT="prod", MELTANO_STATE_BACKEND_URI="s3://b/state")
    assert bag.import_errors == {}
    assert sorted(bag.dag_ids) == sorted(f"meltano_{s['name']}" for s in schedules)
    for schedule in schedules:
        dag = bag.dags[f"meltano_{schedule['name']}"]
        assert dag.max_active_runs == 1 and dag.catchup is False
        assert dag.timetable.expression == schedule["cron_interval"]
        assert str(dag.timetable.timezone) == "UTC"  # meltano.yml's times are UTC
        tasks = chain(dag)
        assert [t.bash_command for t in tasks] == [
            shlex.join([MELTANO, "--environment=prod", "run", *task.split()]) for task in schedule["job"]["tasks"]
        ]
        for task in tasks:
            assert task.cwd == str(ROOT)
            assert task.env["MELTANO_ENVIRONMENT"] == "prod" and task.append_env
            assert task.retries == 3 and task.retry_exponential_backoff == 2.0
            assert task.max_retry_delay == timedelta(hours=1)
            assert task.execution_timeout == timedelta(hours=6)
            assert task.skip_on_exit_code in (None, set(), [])
            callbacks = task.on_failure_callback
            callbacks = callbacks if isinstance(callbacks, list) else [callbacks]
            assert [c.__name__ for c in callbacks] == ["notify_failure"]


def test_prod_without_remote_state_is_an_import_error(monkeypatch):
    bag = dagbag(monkeypatch, MELTANO_ENVIRONMENT="prod")
    assert not bag.dags
    (error,) = bag.import_errors.values()
    assert "MELTANO_STATE_BACKEND_URI" in error


def test_missing_cache_is_an_import_error(monkeypatch, tmp_path):
    bag = dagbag(monkeypatch, MARINA_SCHEDULES_JSON=str(tmp_path / "none.json"))
    (error,) = bag.import_errors.values()
    assert "make dags" in error


def test_dev_dags_run_the_default_environment(monkeypatch, schedules):
    bag = dagbag(monkeypatch)
    assert bag.import_errors == {}
    dag = bag.dags[f"meltano_{schedules[0]['name']}"]
    first = chain(dag)[0]
    assert first.bash_command.startswith(f"{MELTANO} run ") and "MELTANO_ENVIRONMENT" not in first.env
