"""Where the schedules come from: `meltano schedule list --format=json`, read from a cached file
(default) or asked of Meltano while the DAG file is parsed.

Why a cache by default: Airflow parses DAG files every few seconds to minutes on the scheduler /
DAG processor; running Meltano each time costs ~2 s of CPU, needs Meltano and the project on
that machine, and makes DAGs vanish (import error) whenever Meltano cannot start. The cache is
written by `make dags` when meltano.yml changes (a test fails while it is stale) and shipped
with the DAGs. MARINA_SCHEDULES_SOURCE=meltano asks Meltano at parse time instead (development).
"""

from __future__ import annotations

import json
import subprocess
import sys

from .settings import Settings

MELTANO_TIMEOUT_SECONDS = 120


def schedule_list_argv(settings: Settings) -> list[str]:
    # `meltano schedule` ignores the environment; schedules are the same in every environment.
    return [settings.meltano_bin, "--log-level=warning", "schedule", "list", "--format=json"]


def from_meltano(settings: Settings) -> dict:
    result = subprocess.run(
        schedule_list_argv(settings),
        cwd=settings.project_root,
        capture_output=True,
        text=True,
        timeout=MELTANO_TIMEOUT_SECONDS,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"`{' '.join(schedule_list_argv(settings))}` failed ({result.returncode}) in "
            f"{settings.project_root}:\n{result.stderr[-4000:]}"
        )
    return json.loads(result.stdout)


def from_cache(settings: Settings) -> dict:
    path = settings.schedules_json
    if not path.exists():
        raise FileNotFoundError(
            f"{path} is missing: write it with `make dags` (or set MARINA_SCHEDULES_SOURCE=meltano)"
        )
    return json.loads(path.read_text(encoding="utf-8"))


def load(settings: Settings) -> dict:
    return from_meltano(settings) if settings.schedules_source == "meltano" else from_cache(settings)


def write_cache(settings: Settings) -> None:
    """`make dags`: ask Meltano and write the cache (only after Meltano answered)."""
    export = from_meltano(settings)
    text = json.dumps(export, indent=2, sort_keys=True) + "\n"
    tmp = settings.schedules_json.with_suffix(".json.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(settings.schedules_json)
    print(f"wrote {settings.schedules_json}", file=sys.stderr)


if __name__ == "__main__":
    write_cache(Settings.from_env())
