"""The generator's pure function against the project's real `meltano schedule list` output."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from marina_orchestrate.notify import notify_failure
from marina_orchestrate.settings import Settings
from marina_orchestrate.specs import dag_arguments, dag_specs, task_environment, task_id


@pytest.fixture(scope="module")
def specs(schedule_export):
    return {spec.schedule_name: spec for spec in dag_specs(schedule_export)}


def test_cached_schedules_match_meltano(schedule_export, cached_schedules):
    assert cached_schedules == schedule_export, "meltano_schedules.json is stale: run `make dags`"


def test_one_dag_per_schedule_with_its_cron(specs, project):
    assert {s["name"]: s["interval"] for s in project["schedules"]} == {name: spec.cron for name, spec in specs.items()}
    assert len({spec.dag_id for spec in specs.values()}) == len(specs)


def test_tasks_are_the_job_tasks_in_order(specs, project):
    jobs = {job["name"]: job["tasks"] for job in project["jobs"]}
    for spec in specs.values():
        expected = [("run", *task.split()) for task in jobs[spec.job_name]]
        assert [t.args for t in spec.tasks] == expected, spec.schedule_name
        ids = [t.task_id for t in spec.tasks]
        assert len(set(ids)) == len(ids)
        assert all(re.fullmatch(r"[A-Za-z0-9_.-]{1,250}", i) for i in ids), ids


def test_daily_and_hourly_pipelines(specs, project):
    """The schedules run their job through `marina-ops run` (which notifies on failure and
    writes the log file). The daily job loads then builds everything; the hourly one loads then
    builds only if new; both load through the same extractor/loader pair, i.e. share one
    Meltano state id."""
    daily, hourly = specs["marina-daily"], specs["marina-hourly"]
    assert [t.args for t in daily.tasks] == [("run", "marina-ops:run-marina")]
    assert [t.args for t in hourly.tasks] == [("run", "marina-ops:run-marina-hourly")]
    ops = next(p for p in project["plugins"]["utilities"] if p["name"] == "marina-ops")
    assert ops["commands"]["run-marina"] == "run marina"
    assert ops["commands"]["run-marina-hourly"] == "run marina-hourly"
    jobs = {job["name"]: job["tasks"] for job in project["jobs"]}
    assert jobs["marina"][:2] == ["tap-marina-s3 target-oracle", "dbt:build"]
    assert jobs["marina-hourly"] == ["tap-marina-s3 target-oracle", "marina-ops:build-if-new"]
    minute, hours = hourly.cron.split()[:2]
    daily_minute, daily_hour = daily.cron.split()[:2]
    assert minute == daily_minute and daily_hour not in hours.split(","), "runs would overlap"
    assert len(hours.split(",")) == 23


def test_scheduled_tasks_leave_failure_notices_to_the_airflow_callback(specs):
    """Airflow retries a task and notifies once the retries are used up: the wrapper must not
    also notify at every try."""
    settings = Settings.from_env({"MELTANO_ENVIRONMENT": "prod"})
    for spec in specs.values():
        assert task_environment(spec, settings)["MARINA_FAILURE_NOTIFIED_BY"] == "airflow"


def test_dag_arguments_prevent_overlap_and_retry_with_backoff(specs):
    settings = Settings.from_env({"MELTANO_ENVIRONMENT": "dev"})
    for spec in specs.values():
        args = dag_arguments(spec, settings)
        assert args["max_active_runs"] == 1 and args["catchup"] is False
        assert args["schedule"] == spec.cron and args["dag_id"] == spec.dag_id
        defaults = args["default_args"]
        assert defaults["retries"] == 3
        assert defaults["retry_delay"] == timedelta(minutes=5)
        assert defaults["retry_exponential_backoff"] == 2.0
        assert defaults["max_retry_delay"] == timedelta(hours=1)
        assert defaults["on_failure_callback"] is notify_failure
        assert task_environment(spec, settings)["MELTANO_ENVIRONMENT"] == "dev"


def test_settings_from_environment_variables(specs):
    settings = Settings.from_env(
        {
            "MARINA_TASK_RETRIES": "5",
            "MARINA_RETRY_DELAY_SECONDS": "60",
            "MARINA_RETRY_BACKOFF": "3",
            "MELTANO_ENVIRONMENT": "prod",
            "MARINA_MELTANO_BIN": "/opt/meltano",
            "MELTANO_PROJECT_ROOT": "/srv/marina",
        }
    )
    defaults = dag_arguments(specs["marina-daily"], settings)["default_args"]
    assert (defaults["retries"], defaults["retry_delay"], defaults["retry_exponential_backoff"]) == (
        5,
        timedelta(seconds=60),
        3.0,
    )
    assert settings.meltano_argv("run", "dbt:build") == ["/opt/meltano", "--environment=prod", "run", "dbt:build"]
    assert str(settings.project_root) == "/srv/marina"


def test_list_tasks_run_as_one_invocation_and_ids_stay_unique():
    export = {
        "schedules": {
            "elt": [],
            "job": [
                {
                    "name": "x",
                    "interval": "@daily",
                    "cron_interval": "0 0 * * *",
                    "env": {"A": "1"},
                    "job": {"name": "j", "tasks": [["tap-a target-b", "dbt:run"], "dbt:run", "dbt:run"]},
                }
            ],
        }
    }
    (spec,) = dag_specs(export)
    assert [t.args for t in spec.tasks] == [
        ("run", "tap-a", "target-b", "dbt:run"),
        ("run", "dbt:run"),
        ("run", "dbt:run"),
    ]
    assert [t.task_id for t in spec.tasks] == ["tap-a_target-b_dbt.run", "dbt.run", "dbt.run_2"]
    assert task_environment(spec, Settings.from_env({}))["A"] == "1"


def test_schedules_without_cron_are_skipped_and_logged(caplog):
    export = {
        "schedules": {
            "job": [
                {
                    "name": "once",
                    "interval": "@once",
                    "cron_interval": None,
                    "env": {},
                    "job": {"name": "j", "tasks": ["dbt:run"]},
                }
            ],
            "elt": [
                {
                    "name": "old",
                    "interval": "@hourly",
                    "cron_interval": "0 * * * *",
                    "extractor": "tap-a",
                    "loader": "target-b",
                    "transform": "skip",
                    "env": {},
                }
            ],
        }
    }
    specs = dag_specs(export)
    assert [(s.dag_id, [t.args for t in s.tasks]) for s in specs] == [("meltano_old", [("schedule", "run", "old")])]
    assert "'once' has no cron interval" in caplog.text


def test_rejects_other_json():
    with pytest.raises(ValueError, match="schedule list"):
        dag_specs({"jobs": []})


@pytest.mark.parametrize(
    "text, expected",
    [
        ("tap-marina-s3 target-oracle", "tap-marina-s3_target-oracle"),
        ("marina-ops:build-if-new", "marina-ops.build-if-new"),
        ("a  b/c", "a_b_c"),
    ],
)
def test_task_id(text, expected):
    assert task_id(text) == expected
