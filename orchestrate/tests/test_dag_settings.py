"""Settings guards: remote state in staging/prod, valid numbers and notification template."""

from __future__ import annotations

import pytest

from marina_orchestrate.settings import Settings, SettingsError


@pytest.mark.parametrize(
    "env",
    [
        {"MELTANO_ENVIRONMENT": "prod"},
        {"MELTANO_ENVIRONMENT": "prod", "MELTANO_STATE_BACKEND_URI": "systemdb"},
        {"MELTANO_ENVIRONMENT": "staging", "MELTANO_STATE_BACKEND_URI": "file:///tmp/state"},
        {"MELTANO_ENVIRONMENT": "prod", "MELTANO_DATABASE_URI": "sqlite:////tmp/meltano.db"},
    ],
)
def test_staging_and_prod_refuse_state_on_the_worker(env):
    with pytest.raises(SettingsError, match="MELTANO_STATE_BACKEND_URI"):
        Settings.from_env(env).check_state_backend()


@pytest.mark.parametrize(
    "env",
    [
        {},
        {"MELTANO_ENVIRONMENT": "dev"},
        {"MELTANO_ENVIRONMENT": "prod", "MELTANO_STATE_BACKEND_URI": "s3://bucket/marina-state"},
        {"MELTANO_ENVIRONMENT": "prod", "MELTANO_DATABASE_URI": "postgresql://db/meltano"},
        {"MELTANO_ENVIRONMENT": "prod", "MARINA_REMOTE_STATE_ENVIRONMENTS": "staging"},
    ],
)
def test_remote_or_dev_state_is_accepted(env):
    Settings.from_env(env).check_state_backend()


@pytest.mark.parametrize(
    "env, message",
    [
        ({"MARINA_TASK_RETRIES": "two"}, "MARINA_TASK_RETRIES"),
        ({"MARINA_RETRY_DELAY_SECONDS": "-1"}, "negative"),
        ({"MARINA_SCHEDULES_SOURCE": "web"}, "MARINA_SCHEDULES_SOURCE"),
        ({"MARINA_NOTIFY_COMMAND": "invoke x {dag}"}, "placeholder"),
    ],
)
def test_bad_settings_fail_at_parse_time(env, message):
    with pytest.raises(SettingsError, match=message):
        Settings.from_env(env)
