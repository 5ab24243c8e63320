"""Airflow DAG file: one DAG per Meltano schedule of this project (orchestrate/README.md).

The schedules come from `meltano schedule list --format=json` (cached in meltano_schedules.json
by `make dags`); each job task becomes a task running `meltano run <task>`, chained in order.
The logic lives in marina_orchestrate/ (listed in .airflowignore, so Airflow does not parse it
as DAG files).
"""

import sys
from pathlib import Path

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:  # Airflow puts its dags folder on sys.path; a DagBag elsewhere may not
    sys.path.insert(0, _HERE)

from marina_orchestrate.airflow_dags import build_dags  # noqa: E402
from marina_orchestrate.settings import Settings  # noqa: E402

for _dag in build_dags(Settings.from_env()):
    globals()[_dag.dag_id] = _dag
