"""Oracle SQL of the project, checked without a database.

dbt runs (in a subprocess) against the `oracle` target with a stubbed `oracledb` driver
(tests/oracle_stub.py: every DW_* table "exists", so the incremental MERGE path runs). The recorded
statements and the compiled data tests are parsed with sqlglot (dialect oracle) and checked for
Oracle-specific rules.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import sqlglot
from conftest import TRANSFORM_DIR
from sqlglot import exp

STUB = Path(__file__).resolve().parent / "oracle_stub.py"
# snapshots run through the stub (the SQL is one macro's; their data tests are compiled for all)
HISTORY_CHECKED = ["dw_molo_contacts_hist", "dw_stellar_coupons_hist"]


@pytest.fixture(scope="module")
def oracle_run(tmp_path_factory):
    work = tmp_path_factory.mktemp("dbt_oracle_stub")
    common = [
        "--project-dir",
        str(TRANSFORM_DIR),
        "--profiles-dir",
        str(TRANSFORM_DIR),
        "--target",
        "oracle",
        "--threads",
        "2",
        "--target-path",
        str(work / "target"),
        "--log-path",
        str(work / "logs"),
        "--log-level-file",
        "none",
    ]
    invocations = [
        ["run", *common],
        ["compile", "--select", "test_type:data", *common],
        ["snapshot", "--select", *HISTORY_CHECKED, *common],
    ]
    env = {
        "PATH": "/usr/bin:/bin",
        "ORACLE_USER": "marina_app",
        "ORACLE_PASSWORD": "not-used",
        "ORACLE_DSN": "stub.invalid:1522/marina_high",
        "ORACLE_SCHEMA": "marina",
        "DBT_TARGET": "oracle",
    }
    proc = subprocess.run(
        [sys.executable, str(STUB), str(work / "out.json"), json.dumps(invocations)],
        env=env,
        check=False,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = json.loads((work / "out.json").read_text())
    for r in data["results"]:
        assert r["success"], (r["args"][0], r["exception"], proc.stdout[-3000:])
    first, last = data["results"][-1]["statements"]  # `dbt snapshot`: checked on its own
    data["snapshot_statements"] = data["statements"][first:last]
    data["statements"] = data["statements"][:first]
    data["compiled_tests"] = {
        f"{p.parent.name}/{p.name}": p.read_text() for p in (work / "target" / "compiled").rglob("*.sql")
    }
    return data


def _strip_comment(sql: str) -> str:
    return re.sub(r"^\s*/\*.*?\*/", "", sql, flags=re.S).strip()


def _statements(run, pattern: str) -> list[str]:
    return [_strip_comment(s) for s in run["statements"] if re.search(pattern, s, flags=re.I | re.S)]


def _merge_of(run, table: str) -> str:
    blocks = _statements(run, rf"merge\s+into\s+MARINA\.{table}\s")
    assert len(blocks) == 1, f"one MERGE for {table}"
    m = re.search(r"BEGIN\s+(merge.*?);\s*EXCEPTION", blocks[0], flags=re.I | re.S)
    return m.group(1)


def _model_select_of(run, table: str) -> str:
    ctas = _statements(run, rf"create\s+global\s+temporary\s+table\s+o\$pt_{table}\d+")
    assert len(ctas) == 1, f"one temp-table CTAS for {table}"
    return re.split(r"\bas\b", ctas[0], maxsplit=1, flags=re.I)[1]


def _oracle_rules(sql: str) -> None:
    """Things Oracle rejects or treats differently, that DuckDB would accept."""
    literal = r"'(?:[^']|'')*'"
    assert "''" not in re.findall(literal, sql), "'' is NULL in Oracle"
    code = re.sub(literal, "'x'", sql)  # keywords inside string literals do not count
    assert not re.search(r"(\bfrom|\bjoin)\s+[\w.$\"]+\s+as\s+\w", code, re.I), "no AS before a table alias"
    assert not re.search(r"\)\s+as\s+\w+\s+(on|where|join|cross|left)\b", code, re.I), "no AS for subquery aliases"
    assert not re.search(r"\b(md5|strftime|hugeint)\s*\(|::|\b(true|false)\b|\blimit\s+\d", code, re.I)


@pytest.mark.parametrize(
    "table", ["DW_MOLO_SLIPS", "DW_STELLAR_HOLIDAYS", "DW_STELLAR_COUPONS", "DW_STELLAR_BOOKING_ACCESSORIES"]
)
def test_incremental_merge_is_oracle_merge_on_dw_id(oracle_run, table):
    merge = sqlglot.parse_one(_merge_of(oracle_run, table), dialect="oracle")
    assert isinstance(merge, exp.Merge)
    assert merge.this.name.upper() == table
    on = merge.args["on"].sql(dialect="oracle").upper()
    assert "DBT_INTERNAL_SOURCE.DW_ID = DBT_INTERNAL_DEST.DW_ID" in on
    updated = {
        e.this.name.upper()
        for w in merge.find_all(exp.When)
        for e in w.find_all(exp.EQ)
        if isinstance(e.this, exp.Column) and e.this.table.upper() == "DBT_INTERNAL_DEST"
    }
    assert "DW_LAST_UPDATED" in updated and "DW_IS_DELETED" in updated
    assert "DW_LAST_INSERTED" not in updated, "DW_LAST_INSERTED is set on insert only"
    assert "DW_ID" not in updated, "ORA-38104: the ON column cannot be updated"


@pytest.mark.parametrize(
    "table,key_text",
    [
        ("DW_STELLAR_HOLIDAYS", "TO_CHAR(t.HOLIDAY_DATE, 'YYYY-MM-DD')"),
        ("DW_MOLO_SLIPS", "TO_CHAR(t.ID)"),
    ],
)
def test_incremental_select_uses_oracle_functions(oracle_run, table, key_text):
    sql = _model_select_of(oracle_run, table)
    _oracle_rules(sql)
    tree = sqlglot.parse_one(sql, dialect="oracle")
    assert isinstance(tree, (exp.Select, exp.Union))
    assert "STANDARD_HASH(" in sql and "RAWTOHEX(" in sql, "md5 via STANDARD_HASH"
    assert re.search(r"TO_TIMESTAMP\('\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}', 'YYYY-MM-DD HH24:MI:SS\.FF6'\)", sql)
    assert key_text in sql, "record key text for the rejects lookup"
    assert "MARINA.STG_MARINA_REJECTS" in sql and f"MARINA.{table}" in sql


def test_every_model_statement_parses_as_oracle(oracle_run):
    created = _statements(oracle_run, r"create\s+(or\s+replace\s+view|global\s+temporary\s+table)")
    mart_views = _statements(oracle_run, rf"create\s+or\s+replace\s+view\s+MARINA\.({'|'.join(_marts())})\s")
    assert len(created) - len(mart_views) == 158, "79 views + 79 DW temp tables (marts: test_marts_are_oracle_sql)"
    for stmt in created:
        body = re.split(r"\bas\b", stmt, maxsplit=1, flags=re.I)[1]
        _oracle_rules(body)
        sqlglot.parse_one(body, dialect="oracle")
    for table in [s for s in oracle_run["statements"] if re.search(r"merge\s+into", s, re.I)]:
        m = re.search(r"BEGIN\s+(merge.*?);\s*EXCEPTION", table, flags=re.I | re.S)
        assert isinstance(sqlglot.parse_one(m.group(1), dialect="oracle"), exp.Merge)


def _marts() -> list[str]:
    """Relation names of the analytics marts (models/marts: alias = upper-case model name)."""
    return sorted(p.stem.upper() for p in (TRANSFORM_DIR / "models" / "marts").rglob("*.sql"))


def test_marts_are_oracle_sql(oracle_run):
    """Each mart is created once (view, or table via __dbt_tmp) and parses as Oracle SQL; the daily
    marts' day spine is CONNECT BY LEVEL over TRUNC'ed (time-free) days, LOA text parsed NLS-safe."""
    bodies = {}
    for name in _marts():
        stmts = _statements(oracle_run, rf"create\s+(or\s+replace\s+view|table)\s+MARINA\.{name}(__dbt_tmp)?\s")
        assert len(stmts) == 1, name
        bodies[name] = re.split(r"\bas\b", stmts[0], maxsplit=1, flags=re.I)[1]
        _oracle_rules(bodies[name])
        sqlglot.parse_one(bodies[name], dialect="oracle")
    daily = [n for n in bodies if "_DAILY_" in n]
    assert len(bodies) == 6 and len(daily) == 4
    for name in daily:
        assert "connect by LEVEL <= b.DAY_TO - b.DAY_FROM + 1" in bodies[name] and "TRUNC(" in bodies[name]
        assert not re.search(r"generate_series|unnest|\bcast\([^()]*\bas\s+date\)", bodies[name], re.I)
    assert "NLS_NUMERIC_CHARACTERS=''.,''" in bodies["DW_MOLO_RATE_OVER_LINEAR_FOOT"]


def test_staging_view_casts_numbers_and_dates_but_not_text(oracle_run):
    (view,) = _statements(oracle_run, r"create or replace view MARINA\.stg_stellar__coupons\b")
    tree = sqlglot.parse_one(view, dialect="oracle")
    assert isinstance(tree, exp.Create)
    assert "CAST(COUPON_AMOUNT AS NUMBER(10,2)) as COUPON_AMOUNT" in view
    assert "CAST(COUPON_END AS DATE) as COUPON_END" in view
    assert re.search(r"^\s*VALID_STYLES as VALID_STYLES,", view, re.M), "NCLOB passed through"
    assert "TO_CHAR(SDC_ROW_HASH) as SDC_ROW_HASH" in view


@pytest.mark.parametrize(
    "yml,test",
    [
        ("stg_molo__slips.yml", "marina_audit_reconciles"),
        ("stg_stellar__holidays.yml", "marina_duplicate_keys"),
        ("dw_stellar_holidays.yml", "marina_unique_combination"),
    ],
)
def test_custom_data_tests_compile_to_oracle_sql(oracle_run, yml, test):
    hits = [sql for name, sql in oracle_run["compiled_tests"].items() if name.startswith(f"{yml}/{test}")]
    assert len(hits) == 1
    _oracle_rules(hits[0])
    sqlglot.parse_one(hits[0], dialect="oracle")


def _history_tables() -> list[str]:
    import yaml

    doc = yaml.safe_load((TRANSFORM_DIR / "snapshots" / "marina_history.yml").read_text())
    return [s["config"]["alias"].upper() for s in doc["snapshots"]]


def test_snapshots_merge_without_ora_hash(oracle_run):
    statements = [_strip_comment(s) for s in oracle_run["snapshot_statements"]]
    assert not any(re.search(r"\bORA_HASH\s*\(", s, re.I) for s in statements), "no 32-bit hash"
    tables = [name.upper() for name in HISTORY_CHECKED]
    assert set(tables) <= set(_history_tables())
    for table in tables:
        (ctas,) = [
            s for s in statements if re.search(rf"create\s+global\s+temporary\s+table\s+\S*o\$pt_{table}\d*\s", s, re.I)
        ]
        body = re.split(r"\bas\b", ctas, maxsplit=1, flags=re.I)[1]
        _oracle_rules(body)
        sqlglot.parse_one(body, dialect="oracle")
        # version id: md5 hex of key and version timestamp, as DW_ID; the timestamp in an explicit
        # format down to microseconds (the session's NLS format may have no fractions: ORA-30926)
        assert (
            "LOWER(RAWTOHEX(STANDARD_HASH(TO_CHAR(TO_CHAR(DW_ID) || '|' || "
            "TO_CHAR(coalesce(DW_DELETED_AT, DW_LAST_UPDATED), 'YYYY-MM-DD HH24:MI:SS.FF6')), "
            "'MD5'))) as DW_VERSION_ID"
        ) in body
        assert "snapshotted_data.DW_ROW_HASH != source_data.DW_ROW_HASH" in body
        assert "snapshotted_data.DW_IS_DELETED != source_data.DW_IS_DELETED" in body
        # a key gone from the DW table: its version closes at the run timestamp (snapshot_get_time)
        assert re.search(r"TO_TIMESTAMP\('[\d\- :.]+', 'YYYY-MM-DD HH24:MI:SS\.FF6'\) as DW_VALID_TO", body)
        (merge,) = [s for s in statements if re.search(rf"merge\s+into\s+MARINA\.{table}\s", s, re.I)]
        tree = sqlglot.parse_one(merge, dialect="oracle")
        assert isinstance(tree, exp.Merge) and tree.this.name.upper() == table
        on = tree.args["on"].sql(dialect="oracle").upper()
        assert "DBT_INTERNAL_SOURCE.DW_VERSION_ID = DBT_INTERNAL_DEST.DW_VERSION_ID" in on


def test_history_data_tests_compile_to_oracle_sql(oracle_run):
    tables = _history_tables()
    for test in ("marina_scd_versions", "marina_scd_current"):
        hits = {
            name: sql
            for name, sql in oracle_run["compiled_tests"].items()
            if name.startswith(f"marina_history.yml/{test}_")
        }
        assert len(hits) == len(tables), test
        for sql in hits.values():
            _oracle_rules(sql)
            sqlglot.parse_one(sql, dialect="oracle")
            assert re.search(r"MARINA\.DW_\w+_HIST\b", sql)
        if test == "marina_scd_current":
            assert all(re.search(r"from MARINA\.DW_\w+\s", sql) for sql in hits.values()), "reads the DW table"
