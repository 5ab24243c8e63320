"""Airflow DAGs from Meltano schedules (see orchestrate/README.md).

settings.py (environment variables), source.py (the schedule list: cached JSON or the Meltano
CLI), specs.py (schedules -> DAG/task specs, pure), notify.py (failure callback),
airflow_dags.py (specs -> Airflow DAG objects; the only module that imports Airflow).
"""
