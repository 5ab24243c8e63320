"""Specs -> Airflow DAG objects (Airflow 3; the 2.x import paths are tried second)."""

from __future__ import annotations

import shlex

try:
    from airflow.sdk import DAG
except ImportError:  # Airflow 2.x
    from airflow import DAG
try:
    from airflow.providers.standard.operators.bash import BashOperator
except ImportError:  # Airflow 2.x
    from airflow.operators.bash import BashOperator

from . import source
from .settings import Settings
from .specs import DagSpec, dag_arguments, dag_specs, task_environment


def build_dag(spec: DagSpec, settings: Settings) -> DAG:
    """One DAG: the job's tasks chained in order, each `meltano run <task>` in the project."""
    with DAG(**dag_arguments(spec, settings)) as dag:
        previous = None
        for task in spec.tasks:
            operator = BashOperator(
                task_id=task.task_id,
                bash_command=shlex.join(settings.meltano_argv(*task.args)),
                cwd=str(settings.project_root),
                env=task_environment(spec, settings),
                append_env=True,  # the worker's variables (credentials, state backend) too
                skip_on_exit_code=None,  # every non-zero exit is a failure (default 99 = skip)
            )
            if previous is not None:
                previous >> operator
            previous = operator
    return dag


def build_dags(settings: Settings) -> list[DAG]:
    settings.check_state_backend()
    return [build_dag(spec, settings) for spec in dag_specs(source.load(settings))]
