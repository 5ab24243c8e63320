"""The run-log hooks on Oracle, without a database: dbt runs the small project against the stubbed
oracledb driver (transform/tests/oracle_stub.py); the hook statements are parsed with sqlglot's
Oracle dialect and checked for what Oracle rejects.

Invocation 1 runs every model (the run-log model creates the table); invocation 2 runs one DW
model only, with the run log "missing", so the CREATE TABLE hook must create it.
STG_STELLAR_LOCATIONS is left "missing" to cover the branch without a staging table.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import sqlglot
from conftest import mini_project
from sqlglot import exp

RUNNER = Path(__file__).with_name("oracle_runner.py")
EXISTING_STAGING = ["STG_MOLO_SLIP_TYPES", "STG_STELLAR_HOLIDAYS", "STG_MARINA_LOAD_AUDIT", "STG_MARINA_REJECTS"]


@pytest.fixture(scope="module")
def statements(tmp_path_factory):
    work = tmp_path_factory.mktemp("oracle")
    project = mini_project(work)
    common = [
        "--project-dir",
        str(project),
        "--profiles-dir",
        str(project),
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
    invocations = [["run", *common], ["run", "--select", "stg_molo__slip_types", "dw_molo_slip_types", *common]]
    env = {
        "PATH": "/usr/bin:/bin",
        "ORACLE_USER": "marina_app",
        "ORACLE_PASSWORD": "not-used",
        "ORACLE_DSN": "stub.invalid:1522/marina_high",
        "ORACLE_SCHEMA": "marina",
        "DBT_TARGET": "oracle",
    }
    proc = subprocess.run(
        [sys.executable, str(RUNNER), str(work / "out.json"), json.dumps(invocations), ",".join(EXISTING_STAGING)],
        check=False,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = json.loads((work / "out.json").read_text())
    for r in data["results"]:
        assert r["success"], (r["args"][0], r["exception"], proc.stdout[-3000:])
    return [[re.sub(r"^\s*/\*.*?\*/", "", s, flags=re.S).strip() for s in r["statements"]] for r in data["results"]]


def _oracle_rules(sql: str) -> None:
    literal = r"'(?:[^']|'')*'"
    assert "''" not in re.findall(literal, sql), "'' is NULL in Oracle"
    code = re.sub(literal, "'x'", sql)
    assert not re.search(r"(\bfrom|\bjoin)\s+[\w.$\"]+\s+as\s+\w", code, re.I), "no AS before a table alias"
    assert not re.search(r"\)\s+as\s+\w+\s+(on|where|join|cross|left)\b", code, re.I), "no AS for subquery aliases"
    assert not re.search(
        r"\b(md5|strftime|hugeint|date_diff|epoch)\s*\(|::|\b(true|false|boolean)\b|\blimit\s+\d", code, re.I
    )
    assert not re.search(r"\b(varchar|bigint|double)\b", code, re.I), "DuckDB type names"


def _insert_of(statements: list[str]) -> str:
    (block,) = [s for s in statements if re.search(r"insert\s+into\s+MARINA\.DW_ETL_RUN_LOG\b", s, re.I)]
    m = re.fullmatch(r"BEGIN\s+(insert\s+into.*?);\s*COMMIT;\s*END;", block, flags=re.I | re.S)
    assert m, "INSERT and COMMIT in one PL/SQL block (dbt-oracle does not autocommit hooks)"
    return m.group(1)


def _hook_creates(statements: list[str]) -> list[str]:
    """The CREATE TABLE of hook 1: EXECUTE IMMEDIATE, ignoring ORA-00955 (already exists)."""
    out = []
    for s in statements:
        m = re.fullmatch(
            r"BEGIN\s+EXECUTE IMMEDIATE '(.*)';\s*EXCEPTION WHEN OTHERS THEN\s*"
            r"IF SQLCODE != -955 THEN RAISE; END IF;\s*END;",
            s,
            flags=re.S,
        )
        if m:
            out.append(m.group(1).replace("''", "'"))
    return out


def test_insert_per_invocation_is_valid_oracle(statements):
    for invocation in statements:
        sql = _insert_of(invocation)
        _oracle_rules(sql)
        tree = sqlglot.parse_one(sql, dialect="oracle")
        assert isinstance(tree, exp.Insert)
        assert re.search(r"TO_TIMESTAMP\('\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}', 'YYYY-MM-DD HH24:MI:SS\.FF6'\)", sql)
        assert "EXTRACT(SECOND FROM (a.FINISHED_AT - a.STARTED_AT))" in sql
        assert "LOWER(TO_CHAR(COMPLETED)) IN ('1', 'true', 't', 'y', 'yes')" in sql
        assert "from MARINA.DW_ETL_RUN_LOG" in sql  # exports merged by earlier runs


def test_insert_has_one_branch_per_dw_model_run(statements):
    first, second = (_insert_of(s) for s in statements)
    tables = lambda sql: re.findall(r"'(DW_[A-Z_]+)' as DW_TABLE", sql)  # noqa: E731
    assert sorted(tables(first)) == ["DW_MOLO_SLIP_TYPES", "DW_STELLAR_HOLIDAYS", "DW_STELLAR_LOCATIONS"]
    assert tables(second) == ["DW_MOLO_SLIP_TYPES"]
    # staging read from the loader's table with its key as text; a missing staging table -> DUAL
    assert (
        "select max(TO_CHAR(SDC_SOURCE_KEY)) as SOURCE_KEY, count(*) as ROWS_STAGED from MARINA.STG_MOLO_SLIP_TYPES"
    ) in first
    assert "from MARINA.STG_STELLAR_LOCATIONS" not in first
    assert re.search(
        r"cast\(null as VARCHAR2\(1024\)\) as SOURCE_KEY, cast\(null as NUMBER\(18,0\)\) "
        r"as ROWS_STAGED\s+from DUAL",
        first,
        re.I,
    )
    assert "from MARINA.DW_STELLAR_HOLIDAYS" in first


def test_create_table_when_the_run_log_is_missing(statements):
    first, second = statements
    assert any(re.match(r"create\s+table\s+MARINA\.DW_ETL_RUN_LOG\b", s, re.I) for s in first), "the model"
    (create,) = _hook_creates(second)
    _oracle_rules(create)
    tree = sqlglot.parse_one(create, dialect="oracle")
    assert isinstance(tree, exp.Create) and tree.this.name.upper() == "DW_ETL_RUN_LOG"
    types = {name: typ for typ, name in re.findall(r"cast\(null as ([A-Z0-9(), ]+?)\) as (\w+)", create, re.I)}
    assert types["DBT_INVOCATION_ID"] == "VARCHAR2(64)" and types["RUN_STARTED_AT"] == "TIMESTAMP"
    assert types["DW_ROWS_INSERTED"] == "NUMBER(18,0)" and types["EXPORT_IS_NEW"] == "NUMBER(1,0)"
    assert "NOTE" in types and len(types) == 28  # NOTE says when an export was empty
