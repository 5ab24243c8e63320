"""DW_ETL_RUN_LOG end to end on DuckDB, through the CLI (`marina-ops build-if-new` runs the real
`dbt build` of a small copy of the project; the on-run-end hook writes the log).

One scenario, run once for the module (two dbt builds: each costs seconds):
  S1 export e1 loaded (slip types with a rejected row, holidays)  -> build-if-new builds (all but the
     run-log model: the hook creates the table); success notified
  S2 nothing loaded                                               -> build-if-new: "nothing new"
  S3 export e2 of slip types (insert, update, delete, unchanged, rejected key kept), export e3
     of holidays with a column renamed in staging, a duplicate key in DW_STELLAR_LOCATIONS
                                                                  -> holidays skipped, a locations
     test fails, slip types merged; failure notified with the summary; `report` exits 1
"""

from __future__ import annotations

import datetime as dt
import time

import pytest
import staging_db as sdb
from conftest import MINI_STREAMS, TRANSFORM, base_env, dw_models, load, mini_project, run_cli, serve_webhook

SLIPS = "molo_slip_types"
HOLIDAYS = "stellar_holidays"
BOAT_TYPES = "molo_boat_types"  # e1: 1,497 rows; e2: the export has none (an empty snapshot)
STREAMS = [*MINI_STREAMS, BOAT_TYPES]


def slip(i: int, name: str | None = None) -> dict:
    return {"ID": i, "NAME": name or f"type {i}"}


E1_SLIPS, E1_REJECTED = [slip(1), slip(2), slip(3), slip(4), slip(5)], [slip(6)]
# e2: 1 and 3 unchanged, 2 renamed, 4 gone (soft delete), 5 gone but rejected in e2 (kept),
# 6 valid now (insert), 7 new (insert)
E2_SLIPS, E2_REJECTED = [slip(1), slip(2, "renamed"), slip(3), slip(6), slip(7)], [slip(5)]
E1_HOLIDAYS = [
    {"LOCATION_ID": 10, "HOLIDAY_DATE": dt.date(2025, 12, 25)},
    {"LOCATION_ID": 10, "HOLIDAY_DATE": dt.date(2026, 1, 1)},
]


def log_rows(db) -> list[dict]:
    return sdb.query(db, "select * from main.DW_ETL_RUN_LOG order by LOGGED_AT, DW_TABLE")


def invocations(db) -> list[str]:
    seen = []
    for r in log_rows(db):
        if r["DBT_INVOCATION_ID"] not in seen:
            seen.append(r["DBT_INVOCATION_ID"])
    return seen


def by_table(db, invocation: str) -> dict[str, dict]:
    return {r["TABLE_NAME"]: r for r in log_rows(db) if r["DBT_INVOCATION_ID"] == invocation}


def dw_state(db, stream: str) -> dict[int, dict]:
    return {int(r["ID"]): r for r in sdb.query(db, f"select * from main.{sdb.CATALOG[stream].dw_table}")}


def expected_changes(before: dict[int, dict], after: dict[int, dict]) -> dict[str, int]:
    """What the run did to the DW table, from its rows before and after (independent of the log)."""
    ins = sum(1 for k in after if k not in before)
    upd = sum(
        1
        for k in after
        if k in before
        and not after[k]["DW_IS_DELETED"]
        and (after[k]["DW_ROW_HASH"] != before[k]["DW_ROW_HASH"] or before[k]["DW_IS_DELETED"])
    )
    dele = sum(1 for k in after if k in before and after[k]["DW_IS_DELETED"] and not before[k]["DW_IS_DELETED"])
    unch = sum(
        1
        for k in after
        if k in before
        and not after[k]["DW_IS_DELETED"]
        and not before[k]["DW_IS_DELETED"]
        and after[k]["DW_ROW_HASH"] == before[k]["DW_ROW_HASH"]
    )
    return {"DW_ROWS_INSERTED": ins, "DW_ROWS_UPDATED": upd, "DW_ROWS_DELETED": dele, "DW_ROWS_UNCHANGED": unch}


def audit_of(db, stream: str, key: str) -> dict:
    rows = sdb.query(
        db,
        f"select * from main.STG_MARINA_LOAD_AUDIT where TABLE_NAME = '{stream}' "
        f"and SOURCE_KEY = '{key}' order by FINISHED_AT desc",
    )
    return rows[0]


@pytest.fixture(scope="module")
def scenario(tmp_path_factory):
    work = tmp_path_factory.mktemp("runlog")
    project = mini_project(work, STREAMS)
    db = work / "warehouse.duckdb"
    sdb.create_all(db)
    out: dict = {"db": db}
    with serve_webhook() as hook:
        env = {
            **base_env(),
            "DBT_TARGET": "duckdb",
            "MARINA_DUCKDB_PATH": str(db),
            "DBT_PROJECT_DIR": str(project),
            "DBT_PROFILES_DIR": str(project),
            "MARINA_WEBHOOK_URL": hook.url,
            "MARINA_NOTIFY_ON": "failure,success",
        }
        # S1
        load(db, SLIPS, "molo/e1.zip", E1_SLIPS, E1_REJECTED, run_id="tap-1")
        load(db, HOLIDAYS, "stellar/e1-DATA.sql.gz", E1_HOLIDAYS, run_id="tap-1")
        load(db, BOAT_TYPES, "molo/e1.zip", [slip(i) for i in range(1, 1498)], run_id="tap-1")
        # without the run-log model: the on-run-end hook creates the table
        out["s1"] = run_cli(["build-if-new", "--exclude", "dw_etl_run_log"], env)
        out["s1_hooks"] = list(hook.requests)
        # S2
        t0 = time.monotonic()
        out["s2"] = run_cli(["build-if-new"], env)
        out["s2_seconds"] = time.monotonic() - t0
        out["s2_log"] = log_rows(db)
        # S3
        out["before_s3"] = dw_state(db, SLIPS)
        load(db, SLIPS, "molo/e2.zip", E2_SLIPS, E2_REJECTED, run_id="tap-2")
        load(db, BOAT_TYPES, "molo/e2.zip", [], run_id="tap-2")
        load(db, HOLIDAYS, "stellar/e3-DATA.sql.gz", E1_HOLIDAYS[:1], run_id="tap-2")
        sdb.query(db, "alter table main.STG_STELLAR_HOLIDAYS rename column HOLIDAY_DATE to HOLIDAY_DAY")
        # a DW table that breaks its own tests (the same key twice): the model runs, its test fails
        sdb.query(
            db,
            "insert into main.DW_STELLAR_LOCATIONS (ID, DW_ID, DW_ROW_HASH, DW_LAST_INSERTED, "
            "DW_LAST_UPDATED, DW_IS_DELETED) values (1, 'a', 'h', now(), now(), 0), "
            "(1, 'b', 'h', now(), now(), 0)",
        )
        n = len(hook.requests)
        out["s3"] = run_cli(["build-if-new"], env)
        out["s3_hooks"] = hook.requests[n:]
        out["after_s3"] = dw_state(db, SLIPS)
        out["report"] = run_cli(["report", "--no-notify", "--all"], env)
    return out


def test_first_build_logs_one_row_per_dw_model_reconciled_with_the_audit(scenario):
    db, s1 = scenario["db"], scenario["s1"]
    assert s1.returncode == 0, s1.stdout[-3000:] + s1.stderr[-3000:]
    assert "table(s) loaded since their last dbt run" in s1.stdout
    (first, *_) = invocations(db)
    rows = by_table(db, first)
    assert sorted(rows) == sorted(m.removeprefix("dw_") for m in dw_models(STREAMS))
    slips = rows[SLIPS]
    audit = audit_of(db, SLIPS, "molo/e1.zip")
    assert (slips["SOURCE_KEY"], slips["AUDIT_RUN_ID"], slips["EXPORT_IS_NEW"]) == ("molo/e1.zip", "tap-1", 1)
    assert (slips["ROWS_READ"], slips["ROWS_REJECTED"], slips["ROWS_EMITTED"]) == (
        audit["ROWS_READ"],
        audit["ROWS_REJECTED"],
        audit["ROWS_EMITTED"],
    )
    assert slips["ROWS_READ"] == len(E1_SLIPS) + len(E1_REJECTED) and slips["ROWS_REJECTED"] == len(E1_REJECTED)
    assert slips["ROWS_STAGED"] == len(E1_SLIPS) == slips["ROWS_EMITTED"]
    assert (
        slips["DW_ROWS_INSERTED"],
        slips["DW_ROWS_UPDATED"],
        slips["DW_ROWS_DELETED"],
        slips["DW_ROWS_UNCHANGED"],
    ) == (len(E1_SLIPS), 0, 0, 0)
    assert (slips["MODEL_STATUS"], slips["SYSTEM"], slips["DW_TABLE"], slips["DBT_COMMAND"]) == (
        "success",
        "molo",
        "DW_MOLO_SLIP_TYPES",
        "build",
    )
    assert float(slips["LOAD_SECONDS"]) == pytest.approx(2.0)
    assert rows[HOLIDAYS]["DW_ROWS_INSERTED"] == len(E1_HOLIDAYS)
    locations = rows["stellar_locations"]  # nothing loaded yet: no export, no audit, empty DW table
    assert locations["SOURCE_KEY"] is None and locations["AUDIT_RUN_ID"] is None
    assert locations["EXPORT_IS_NEW"] is None and locations["DW_ROWS_INSERTED"] == 0
    # the run's own timestamp is what the DW audit columns carry
    e1_keys = ", ".join(str(r["ID"]) for r in E1_SLIPS)
    dw_ts = {
        r["DW_LAST_INSERTED"]
        for r in sdb.query(db, f"select DW_LAST_INSERTED from main.DW_MOLO_SLIP_TYPES where ID in ({e1_keys})")
    }
    assert dw_ts == {slips["RUN_STARTED_AT"]}, (log_rows(db), sdb.query(db, "select * from main.DW_MOLO_SLIP_TYPES"))


def test_hook_creates_the_run_log_with_the_yaml_columns(scenario):
    import yaml

    doc = yaml.safe_load((TRANSFORM / "models" / "ops" / "dw_etl_run_log.yml").read_text())
    declared = [c["name"] for c in doc["models"][0]["columns"]]
    created = sdb.query(
        scenario["db"],
        "select column_name, data_type from information_schema.columns "
        "where table_name = 'DW_ETL_RUN_LOG' order by ordinal_position",
    )
    assert [c["column_name"] for c in created] == declared
    types = {c["column_name"]: c["data_type"] for c in created}
    assert (types["RUN_STARTED_AT"], types["ROWS_READ"], types["DBT_SECONDS"]) == (
        "TIMESTAMP",
        "BIGINT",
        "DECIMAL(12,3)",
    )
    assert "dw_etl_run_log" not in scenario["s1"].stdout.replace("--exclude dw_etl_run_log", "")


def test_success_notification_carries_the_summary(scenario):
    (req,) = scenario["s1_hooks"]
    payload = req["json"]
    assert payload["status"] == "success"
    assert payload["summary"]["dw"]["rows_inserted"] == len(E1_SLIPS) + len(E1_HOLIDAYS) + 1497
    assert payload["summary"]["load"]["rows_rejected"] == len(E1_REJECTED)
    assert payload["summary"]["tables"] == len(dw_models(STREAMS))
    assert "DW rows inserted 1,504, updated 0, deleted 0" in payload["text"]


def test_build_if_new_skips_when_nothing_was_loaded(scenario):
    s2 = scenario["s2"]
    assert s2.returncode == 0, s2.stderr
    assert "nothing new" in s2.stdout
    assert "dbt" not in s2.stdout.replace("dbt run", "")  # no dbt command started
    assert len({r["DBT_INVOCATION_ID"] for r in scenario["s2_log"]}) == 1
    assert scenario["s2_seconds"] < 20


def test_second_build_counts_equal_the_changes_made(scenario):
    db, s3 = scenario["db"], scenario["s3"]
    assert s3.returncode != 0  # holidays failed (below); the other tables ran
    second = invocations(db)[1]
    rows = by_table(db, second)
    slips = rows[SLIPS]
    assert slips["MODEL_STATUS"] == "success"
    expected = expected_changes(scenario["before_s3"], scenario["after_s3"])
    assert {k: slips[k] for k in expected} == expected
    # and those are the changes the scenario made
    assert expected == {"DW_ROWS_INSERTED": 2, "DW_ROWS_UPDATED": 1, "DW_ROWS_DELETED": 1, "DW_ROWS_UNCHANGED": 3}
    after = scenario["after_s3"]
    assert {after[k]["DW_LAST_INSERTED"] for k in (6, 7)} == {after[2]["DW_LAST_UPDATED"]} == {slips["RUN_STARTED_AT"]}
    audit = audit_of(db, SLIPS, "molo/e2.zip")
    assert (slips["SOURCE_KEY"], slips["AUDIT_RUN_ID"], slips["EXPORT_IS_NEW"]) == ("molo/e2.zip", "tap-2", 1)
    assert (slips["ROWS_READ"], slips["ROWS_REJECTED"], slips["ROWS_EMITTED"], slips["ROWS_STAGED"]) == (
        audit["ROWS_READ"],
        audit["ROWS_REJECTED"],
        audit["ROWS_EMITTED"],
        len(E2_SLIPS),
    )
    locations = rows["stellar_locations"]  # ran again, nothing loaded: not a new export, nothing changed
    assert (locations["MODEL_STATUS"], locations["EXPORT_IS_NEW"], locations["DW_ROWS_INSERTED"]) == (
        "success",
        None,
        0,
    )
    assert (slips["TESTS_FAILED"], locations["TESTS_FAILED"]) == (0, 1)  # unique_dw_stellar_locations_ID


def test_an_empty_snapshot_is_said_in_the_log_the_report_and_the_notification(scenario):
    """A table whose export has no rows keeps its DW rows (no soft delete of everything), and
    the operator is told so, in the run log, the report and the notification."""
    db = scenario["db"]
    note = f"{BOAT_TYPES}: export has 0 rows, DW keeps 1,497 live rows"
    rows = by_table(db, invocations(db)[1])
    boat_types = rows[BOAT_TYPES]
    assert (boat_types["ROWS_STAGED"], boat_types["DW_ROWS_DELETED"], boat_types["NOTE"]) == (0, 0, note)
    assert rows[SLIPS]["NOTE"] is None and rows[HOLIDAYS]["NOTE"] is None
    assert all(r["NOTE"] is None for r in by_table(db, invocations(db)[0]).values())
    assert f"NOTE {note}" in scenario["report"].stdout
    (req,) = scenario["s3_hooks"]
    assert note in req["json"]["summary"]["notes"]
    assert note in req["json"]["text"]


def test_failed_model_is_logged_and_notified_with_the_summary(scenario):
    db = scenario["db"]
    rows = by_table(db, invocations(db)[1])
    holidays = rows[HOLIDAYS]
    assert holidays["MODEL_STATUS"] == "skipped"  # its staging view failed to build
    assert holidays["SOURCE_KEY"] == "stellar/e3-DATA.sql.gz" and holidays["EXPORT_IS_NEW"] == 1
    assert (holidays["ROWS_STAGED"], holidays["DW_ROWS_INSERTED"], holidays["DW_ROWS_UNCHANGED"]) == (
        1,
        0,
        len(E1_HOLIDAYS),
    )  # the DW table kept e1
    (req,) = scenario["s3_hooks"]
    payload = req["json"]
    assert payload["status"] == "failure"
    summary = payload["summary"]
    assert [(f["table"], f["status"], f["tests_failed"]) for f in summary["failed"]] == [
        ("DW_STELLAR_HOLIDAYS", "skipped", 0),
        ("DW_STELLAR_LOCATIONS", "success", 1),
    ]
    assert summary["dw"] == {
        "rows_inserted": 2,
        "rows_updated": 1,
        "rows_deleted": 1,
        "rows_unchanged": 3 + len(E1_HOLIDAYS) + 2 + 1497,
    }
    assert summary["tables_with_new_export"] == 2
    assert summary["load"]["rows_read"] == len(E2_SLIPS) + len(E2_REJECTED) + 1
    assert "exited with code" in payload["message"] and "Last " in payload["message"]
    assert "HOLIDAY_DATE" in payload["message"]  # the tail of dbt's output names the error


def test_report_prints_the_latest_run_and_fails_on_a_failed_model(scenario):
    report = scenario["report"]
    assert report.returncode == 1, report.stderr
    out = report.stdout
    assert "FAILED (2 of 4 tables)" in out.splitlines()[0]
    assert "exports loaded since the previous run: 2 tables; rows read 7, rejected 1, landed in staging 6" in out
    assert "DW rows inserted 2, updated 1, deleted 1, unchanged 1,504" in out
    assert "FAILED DW_STELLAR_HOLIDAYS: skipped" in out
    assert "FAILED DW_STELLAR_LOCATIONS: success, 1 failed tests" in out
    (line,) = [ln for ln in out.splitlines() if ln.startswith("DW_MOLO_SLIP_TYPES")]
    assert line.split()[1:9] == ["success", "yes", "6", "1", "5", "2", "1", "1"]
    assert "export molo/e2.zip" in out.splitlines()  # the exports under the table, one per line
    assert max(len(ln) for ln in out.splitlines()) <= 120  # a terminal's width and an e-mail's
