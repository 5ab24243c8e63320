"""meltano.yml for production: no silent fallback to the demo's local folders, every setting
described, DBT_TARGET kept visible per environment, and the README's schedule text matching the
crons. Runs the project's real Meltano (its system database redirected to a temporary file)."""

from __future__ import annotations

import os
import re
import socket
import subprocess

import pytest
from conftest import MELTANO, ROOT

PLUGIN_ENV_PREFIXES = ("TAP_MARINA_S3_", "TARGET_ORACLE_", "MARINA_", "ORACLE_", "DBT_", "MELTANO_")


def meltano_env(tmp_path, **extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(PLUGIN_ENV_PREFIXES)}
    return {
        **env,
        "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
        "MELTANO_DATABASE_URI": f"sqlite:///{tmp_path / 'meltano.db'}",
        **extra,
    }


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_prod_run_with_a_bucket_unset_fails_by_name_before_reading(tmp_path):
    """The loader has settings (a closed local port: it never gets to connect); the MOLO bucket
    variable is unset. The tap must stop before its first stream, naming the variable."""
    env = meltano_env(
        tmp_path,
        MARINA_STELLAR_BUCKET="stellar-bucket",
        ORACLE_USER="marina",
        ORACLE_PASSWORD="pw",
        ORACLE_DSN=f"127.0.0.1:{closed_port()}/svc",
    )
    result = subprocess.run(
        [str(MELTANO), "--environment=prod", "run", "tap-marina-s3", "target-oracle"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "MARINA_MOLO_BUCKET is not set for environment prod" in output, output[-3000:]
    assert "Beginning sync" not in output and "export(s) found" not in output  # nothing listed or read
    assert "output/exports" not in output
    assert "Traceback" not in output


def test_every_setting_has_a_description(project):
    missing = [
        f"{plugin['name']}.{setting['name']}"
        for kind in project["plugins"].values()
        for plugin in kind
        for setting in plugin.get("settings") or []
        if not setting.get("description")
    ]
    assert missing == []


def test_local_export_folders_only_in_dev(project):
    (tap,) = [p for p in project["plugins"]["extractors"] if p["name"] == "tap-marina-s3"]
    assert not {"molo_path", "stellar_path"} & set(tap.get("config") or {})
    for environment in project["environments"]:
        extractors = (environment.get("config") or {}).get("plugins", {}).get("extractors", [])
        paths = {k for e in extractors for k in (e.get("config") or {}) if k.endswith("_path")}
        assert bool(paths) == (environment["name"] == "dev"), environment["name"]


@pytest.mark.parametrize(("environment", "fixed"), [("dev", "duckdb"), ("staging", "oracle"), ("prod", "oracle")])
def test_dbt_target_from_the_shell_is_kept_for_the_refusal(tmp_path, environment, fixed):
    """Each environment sets DBT_TARGET; one set outside stays visible as MARINA_DBT_TARGET_REQUESTED,
    which marina-ops refuses when it differs (orchestrate/ops/tests)."""
    other = "oracle" if fixed == "duckdb" else "duckdb"
    result = subprocess.run(
        [
            str(MELTANO),
            f"--environment={environment}",
            "invoke",
            "--print-var",
            "DBT_TARGET",
            "--print-var",
            "MARINA_DBT_TARGET_REQUESTED",
            "marina-ops",
            "--help",
        ],
        cwd=ROOT,
        env=meltano_env(tmp_path, DBT_TARGET=other),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert f"DBT_TARGET={fixed}\n" in result.stdout, result.stdout + result.stderr[-2000:]
    assert f"MARINA_DBT_TARGET_REQUESTED={other}\n" in result.stdout


def test_readme_schedule_text_matches_the_crons(project):
    crons = {s["name"]: s["interval"] for s in project["schedules"]}
    assert crons["marina-daily"] == "30 6 * * *"
    minute, hours, *_ = crons["marina-hourly"].split()
    assert minute == "30" and sorted(map(int, hours.split(","))) == [h for h in range(24) if h != 6]
    readme = (ROOT / "README.md").read_text()
    text = re.search(r"\*\*Schedules\*\* \(UTC\):(.*?)\n- ", readme, re.S).group(1)
    text = " ".join(text.split())
    assert "`marina-daily` at 06:30" in text and "`marina-hourly` at :30 of every hour except 06" in text
    assert "every other hour" not in readme
