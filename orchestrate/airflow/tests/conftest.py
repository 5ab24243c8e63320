"""DagBag tests in Airflow's own venv (orchestrate/.venv-airflow). Airflow reads AIRFLOW_HOME
when first imported, so a throw-away home is set here, before any test imports it; parsing DAG
files needs no Airflow database."""

from __future__ import annotations

import os
import tempfile

os.environ["AIRFLOW_HOME"] = tempfile.mkdtemp(prefix="airflow-home-")
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
