"""End to end on DuckDB: staging tables filled like the loader does, dbt run in-process, DW checked.

One scenario, four dbt invocations (dbt on ~170 models costs seconds per call):
  R1 `dbt run`    export e1 -> every DW table created, rows inserted
  R2 `dbt build`  export e2 -> only changed rows merged; all data tests and unit tests run
  R3 `dbt run`    same snapshots again (+ an emptied staging table) -> nothing changes
  R4 `dbt build`  export e4 brings a deleted key back; a staging table with a wrong audit count
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
import staging_db as sdb
from conftest import run_dbt

LONG = "s" * 5000
MOLO_KEY, STELLAR_KEY = "molo/backup_{}.zip", "stellar/prod_{}-DATA.sql.gz"


def coupon(i: int, **changes) -> dict:
    row = {
        "ID": i,
        "LOCATION_ID": 10,
        "CODE": f"C{i}",
        "COUPON_NAME": f"coupon {i}",
        "COUPON_TYPE": "percent",
        "COUPON_AMOUNT": Decimal("10.50"),
        "COUNT_ALLOWED": 5,
        "COUNT_USED": 1,
        "RENTAL_START": dt.date(2025, 1, 1),
        "COUPON_END": dt.date(2025, 12, 31),
        "MIN_DEPARTURE_TIME": Decimal("8.50"),
        "VALID_STYLES": LONG + "A",
        "DISABLE_CONSECUTIVE_PER_CUSTOMER": "No",
        "HOLIDAYS_ONLY_IF_VALID_DAY": 0,
        "CREATED_AT": dt.datetime(2024, 5, 1, 12, 0, 0),
    }
    row.update(changes)
    return row


E1_COUPONS = [
    coupon(1, CODE=None),
    coupon(2, COUNT_USED=None),
    coupon(3, COUPON_END=None),
    coupon(4),
    coupon(5),
    coupon(6),
    coupon(7),
]
E2_COUPONS = [
    coupon(1, CODE="~"),  # NULL -> '~'
    coupon(2, COUNT_USED=-1),  # NULL -> -1
    coupon(3, COUPON_END=dt.date(1900, 1, 1)),  # NULL -> 1900-01-01
    coupon(4, VALID_STYLES=LONG + "B"),  # change at the end of a long text (NCLOB)
    coupon(5),  # unchanged
    # 6 missing -> soft delete; 7 missing but rejected in this export -> kept
    coupon(8, COUPON_NAME="first"),  # duplicate key inside one export:
    coupon(8, COUPON_NAME="last"),  # the higher SDC_ROW_NUMBER wins
]
E4_COUPONS = [*E2_COUPONS[:5], coupon(6), coupon(7), *E2_COUPONS[5:]]
H1 = [
    {"LOCATION_ID": 10, "HOLIDAY_DATE": dt.date(2025, 12, 25)},
    {"LOCATION_ID": 10, "HOLIDAY_DATE": dt.date(2026, 1, 1)},
]
H2 = [H1[0], {"LOCATION_ID": 11, "HOLIDAY_DATE": dt.date(2025, 7, 4)}]
DW_TABLES = sorted(t.dw_table for t in sdb.CATALOG.values())


def snapshot(db) -> dict[str, dict[str, dict]]:
    return {t: {r["DW_ID"]: r for r in sdb.query(db, f"select * from main.{t}")} for t in DW_TABLES}


def by_key(snap: dict, table: str, stream: str, **key) -> dict:
    return snap[table][sdb.dw_id(stream, key)]


def result_of(res, name_part: str):
    hits = [r for r in res.result.results if name_part in r.node.unique_id]
    assert len(hits) == 1, [r.node.unique_id for r in hits]
    return hits[0]


@pytest.fixture(scope="module")
def scenario(tmp_path_factory):
    work = tmp_path_factory.mktemp("dbt_duckdb")
    db = work / "marina.duckdb"
    env = {"MARINA_DUCKDB_PATH": str(db)}
    sdb.create_all(db)
    out: dict = {"db": db, "work": work}

    sdb.load_export(db, "stellar_coupons", STELLAR_KEY.format("e1"), E1_COUPONS)
    sdb.load_export(db, "stellar_holidays", STELLAR_KEY.format("e1"), H1)
    sdb.load_export(db, "molo_slip_types", MOLO_KEY.format("e1"), [{"ID": 1, "NAME": "Wet"}])
    sdb.load_export(db, "molo_slips", MOLO_KEY.format("e1"), [{"ID": 100, "NAME": "A1", "SLIP_TYPE_ID": 99}])
    out["r1"] = run_dbt(["run"], work, env=env)
    assert out["r1"].success, out["r1"].exception
    out["s1"] = snapshot(db)

    sdb.load_export(db, "stellar_coupons", STELLAR_KEY.format("e2"), E2_COUPONS, rejected=[{"ID": 7}])
    sdb.load_export(db, "stellar_holidays", STELLAR_KEY.format("e2"), H2)
    out["r2"] = run_dbt(["build"], work, env=env)
    out["s2"] = snapshot(db)

    sdb.load_export(db, "stellar_holidays", STELLAR_KEY.format("e3"), [])  # staging without a snapshot
    out["r3"] = run_dbt(["run", "-s", "dw_stellar_coupons", "dw_stellar_holidays", "dw_molo_slips"], work, env=env)
    assert out["r3"].success, out["r3"].exception
    out["s3"] = snapshot(db)

    sdb.load_export(db, "stellar_coupons", STELLAR_KEY.format("e4"), E4_COUPONS)
    sdb.load_export(
        db,
        "molo_piers",
        MOLO_KEY.format("e4"),
        [{"ID": 1, "NAME": "P1", "MARINA_LOCATION_ID": 1}, {"ID": 2, "NAME": "P2", "MARINA_LOCATION_ID": 1}],
        audit_rows_emitted=3,
    )
    out["r4"] = run_dbt(["build", "-s", "stg_stellar__coupons+", "stg_molo__piers"], work, env=env)
    out["s4"] = snapshot(db)
    return out


def test_first_run_inserts_every_row_once(scenario):
    s1 = scenario["s1"]
    coupons = s1["DW_STELLAR_COUPONS"]
    assert sorted(int(r["ID"]) for r in coupons.values()) == [1, 2, 3, 4, 5, 6, 7]
    ts = {r["DW_LAST_INSERTED"] for t in s1.values() for r in t.values()}
    assert len(ts) == 1, "one run timestamp for the whole run"
    for r in coupons.values():
        assert r["DW_LAST_UPDATED"] == r["DW_LAST_INSERTED"]
        assert (r["DW_IS_DELETED"], r["DW_DELETED_AT"]) == (0, None)
        assert r["DW_SOURCE_KEY"] == STELLAR_KEY.format("e1")
    c4 = by_key(s1, "DW_STELLAR_COUPONS", "stellar_coupons", ID=4)
    assert c4["VALID_STYLES"] == LONG + "A" and c4["COUPON_AMOUNT"] == Decimal("10.50")
    assert c4["DW_ROW_HASH"] == sdb.row_hash("stellar_coupons", coupon(4))
    assert len(s1["DW_MOLO_PIERS"]) == 0, "tables without an export are created empty"


def test_second_run_updates_only_changed_rows(scenario):
    assert scenario["r2"].success, scenario["r2"].exception
    s1, s2 = scenario["s1"]["DW_STELLAR_COUPONS"], scenario["s2"]["DW_STELLAR_COUPONS"]
    t1 = next(iter(s1.values()))["DW_LAST_INSERTED"]
    changed = {dw for dw in s2 if dw in s1 and s2[dw]["DW_LAST_UPDATED"] != s1[dw]["DW_LAST_UPDATED"]}
    changed_ids = sorted(int(s2[dw]["ID"]) for dw in changed)
    assert changed_ids == [1, 2, 3, 4], "NULL->'~', NULL->-1, NULL->1900-01-01, long-text tail changed"
    t2 = {s2[dw]["DW_LAST_UPDATED"] for dw in changed}
    assert len(t2) == 1 and t2.pop() > t1
    for dw, row in s2.items():
        if dw in s1:
            assert row["DW_LAST_INSERTED"] == t1, "DW_LAST_INSERTED never changes"
    assert s2[sdb.dw_id("stellar_coupons", {"ID": 5})] == s1[sdb.dw_id("stellar_coupons", {"ID": 5})]
    c1 = by_key(scenario["s2"], "DW_STELLAR_COUPONS", "stellar_coupons", ID=1)
    c4 = by_key(scenario["s2"], "DW_STELLAR_COUPONS", "stellar_coupons", ID=4)
    assert c1["CODE"] == "~" and c1["DW_SOURCE_KEY"] == STELLAR_KEY.format("e2")
    assert c4["VALID_STYLES"].endswith("B")
    c2 = by_key(scenario["s2"], "DW_STELLAR_COUPONS", "stellar_coupons", ID=2)
    c3 = by_key(scenario["s2"], "DW_STELLAR_COUPONS", "stellar_coupons", ID=3)
    assert c2["COUNT_USED"] == -1 and c3["COUPON_END"] == dt.date(1900, 1, 1)


def test_missing_key_is_soft_deleted_and_rejected_key_is_not(scenario):
    s1, s2 = scenario["s1"], scenario["s2"]
    before = by_key(s1, "DW_STELLAR_COUPONS", "stellar_coupons", ID=6)
    gone = by_key(s2, "DW_STELLAR_COUPONS", "stellar_coupons", ID=6)
    assert gone["DW_IS_DELETED"] == 1 and gone["DW_DELETED_AT"] is not None
    assert gone["DW_LAST_UPDATED"] == before["DW_LAST_UPDATED"], "a delete keeps DW_LAST_UPDATED"
    assert gone["VALID_STYLES"] == before["VALID_STYLES"] and gone["DW_ROW_HASH"] == before["DW_ROW_HASH"]
    assert gone["DW_SOURCE_KEY"] == STELLAR_KEY.format("e2")
    rejected = by_key(s2, "DW_STELLAR_COUPONS", "stellar_coupons", ID=7)
    assert rejected == by_key(s1, "DW_STELLAR_COUPONS", "stellar_coupons", ID=7), "rejected key untouched"
    h_gone = by_key(s2, "DW_STELLAR_HOLIDAYS", "stellar_holidays", LOCATION_ID=10, HOLIDAY_DATE=dt.date(2026, 1, 1))
    assert h_gone["DW_IS_DELETED"] == 1
    h_new = by_key(s2, "DW_STELLAR_HOLIDAYS", "stellar_holidays", LOCATION_ID=11, HOLIDAY_DATE=dt.date(2025, 7, 4))
    assert h_new["DW_IS_DELETED"] == 0 and h_new["DW_LAST_INSERTED"] == h_new["DW_LAST_UPDATED"]


def test_duplicate_key_last_row_wins_and_warns(scenario):
    c8 = by_key(scenario["s2"], "DW_STELLAR_COUPONS", "stellar_coupons", ID=8)
    assert c8["COUPON_NAME"] == "last"
    assert c8["DW_ROW_HASH"] == sdb.row_hash("stellar_coupons", coupon(8, COUPON_NAME="last"))
    dup = result_of(scenario["r2"], "marina_duplicate_keys_stg_stellar__coupons")
    assert (str(dup.status), dup.failures) == ("warn", 1)


def test_build_runs_all_tests_with_warnings_only(scenario):
    res = scenario["r2"]
    statuses = {}
    for r in res.result.results:
        statuses.setdefault(r.node.resource_type, []).append(str(r.status))
    # What `dbt build` had to run comes from the project's own manifest, not from a fixed count.
    manifest = json.loads((scenario["work"] / "target" / "manifest.json").read_text())
    models = [n for n in manifest["nodes"].values() if n["resource_type"] == "model"]
    unit_tests = [u for u in manifest.get("unit_tests", {}).values() if u["config"].get("enabled", True)]
    assert len(models) > 2 * 79 and len(unit_tests) >= 3
    assert statuses["unit_test"] == ["pass"] * len(unit_tests)
    assert len(statuses["model"]) == len(models) and set(statuses["model"]) == {"success"}
    assert set(statuses["test"]) <= {"pass", "warn"}
    fk = result_of(res, "relationships_dw_molo_slips_SLIP_TYPE_ID")
    assert (str(fk.status), fk.failures) == ("warn", 1), "slip type 99 has no parent"
    recon = result_of(res, "marina_audit_reconciles_stg_stellar__coupons")
    assert str(recon.status) == "pass"


def test_same_snapshot_again_changes_nothing(scenario):
    # R3 ran on unchanged staging, with STG_STELLAR_HOLIDAYS emptied (no snapshot: nothing deleted)
    assert scenario["s3"] == scenario["s2"]


def test_deleted_key_comes_back(scenario):
    s3, s4 = scenario["s3"], scenario["s4"]
    back = by_key(s4, "DW_STELLAR_COUPONS", "stellar_coupons", ID=6)
    before = by_key(s3, "DW_STELLAR_COUPONS", "stellar_coupons", ID=6)
    assert (back["DW_IS_DELETED"], back["DW_DELETED_AT"]) == (0, None)
    assert back["DW_LAST_UPDATED"] > before["DW_LAST_UPDATED"]
    assert back["DW_LAST_INSERTED"] == before["DW_LAST_INSERTED"]
    assert back["DW_SOURCE_KEY"] == STELLAR_KEY.format("e4")
    others = {k: v for k, v in s4["DW_STELLAR_COUPONS"].items() if k != back["DW_ID"]}
    assert {k: s3["DW_STELLAR_COUPONS"][k] for k in others} == others
    assert s4["DW_STELLAR_HOLIDAYS"] == s3["DW_STELLAR_HOLIDAYS"]


def test_reconciliation_fails_when_audit_count_differs(scenario):
    recon = result_of(scenario["r4"], "marina_audit_reconciles_stg_molo__piers")
    assert (str(recon.status), recon.failures) == ("fail", 1)
    assert str(result_of(scenario["r4"], "marina_audit_reconciles_stg_stellar__coupons").status) == "pass"
