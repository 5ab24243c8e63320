"""The Oracle data-dictionary simulator (tests/oracle_sim, test only) refuses what Oracle refuses.

Negative control: the 13 statements that sqlglot's Oracle dialect accepted although Oracle
refuses them (issue 12) each fail with the ORA error Oracle gives, raised as python-oracledb's
DatabaseError; their valid Oracle counterparts pass, so a refusal is not the simulator refusing
everything. Then the dictionary rules the scenario matrix relies on (DDL commits, views
recompiled, LOB rules, dbt-oracle's dictionary queries)."""

from __future__ import annotations

import sys
from pathlib import Path

import oracledb
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests"))
from oracle_sim import driver

SETUP = [
    "CREATE TABLE MARINA.T (A NVARCHAR2(10), C NCLOB, N NUMBER(10,0), D DATE) NOCOMPRESS",
]

# (statement Oracle refuses, ORA code, a valid Oracle statement doing the same)
INVALID = {
    "limit": ("SELECT A FROM T LIMIT 5", 933, "SELECT A FROM T FETCH FIRST 5 ROWS ONLY"),
    "double_colon_cast": ("SELECT N::VARCHAR2(10) FROM T", 911, "SELECT CAST(N AS VARCHAR2(10)) FROM T"),
    "nvarchar2_char_qualifier": ("CREATE TABLE X (A NVARCHAR2(10 CHAR))", 907, "CREATE TABLE X (A NVARCHAR2(10))"),
    "add_column": ("ALTER TABLE T ADD COLUMN B NUMBER", 904, "ALTER TABLE T ADD (B NUMBER)"),
    "reserved_word_column": (
        "CREATE TABLE X (ID NUMBER, COMMENT NVARCHAR2(10))",
        904,
        'CREATE TABLE X (ID NUMBER, "COMMENT" NVARCHAR2(10))',
    ),
    "varchar2_union_all_clob": (
        "SELECT A FROM T UNION ALL SELECT C FROM T",
        1790,
        "SELECT A FROM T UNION ALL SELECT TO_NCHAR(A) FROM T",
    ),
    "clob_group_by": ("SELECT C FROM T GROUP BY C", 932, "SELECT TO_CHAR(C) FROM T GROUP BY TO_CHAR(C)"),
    "true_literal": ("SELECT A FROM T WHERE true", 904, "SELECT A FROM T WHERE 1 = 1"),
    "select_without_from": ("SELECT 1", 923, "SELECT 1 FROM DUAL"),
    "as_before_table_alias": ("SELECT x.A FROM T AS x", 933, "SELECT x.A FROM T x"),
    "ilike": ("SELECT A FROM T WHERE A ILIKE 'x%'", 920, "SELECT A FROM T WHERE LOWER(A) LIKE 'x%'"),
    "generate_series": (
        "SELECT * FROM generate_series(1, 3)",
        904,
        "SELECT LEVEL AS N FROM DUAL CONNECT BY LEVEL <= 3",
    ),
    "identifier_over_128_bytes": (
        f"CREATE TABLE X (A{'B' * 139} NUMBER)",
        972,
        f"CREATE TABLE X (A{'B' * 127} NUMBER)",
    ),
}


@pytest.fixture
def con(tmp_path):
    db = driver.Database(tmp_path / "dict.json")
    connection = driver.Connection(db)
    with connection.cursor() as cur:
        for statement in SETUP:
            cur.execute(statement)
    return connection


def run(con, statement):
    with con.cursor() as cur:
        cur.execute(statement)
        return cur.description, cur.fetchall()


def ora_code(info) -> int:
    (error,) = info.value.args
    assert error.full_code.startswith("ORA-") and str(error).startswith(error.full_code + ":")
    return error.code


def test_thirteen_invalid_statements():
    assert len(INVALID) == 13


@pytest.mark.parametrize("case", sorted(INVALID))
def test_invalid_statement_is_refused_and_its_oracle_form_accepted(con, case):
    bad, code, good = INVALID[case]
    with pytest.raises(oracledb.DatabaseError) as info:
        run(con, bad)
    assert ora_code(info) == code, str(info.value)
    run(con, good)


@pytest.mark.parametrize(
    "statement,code",
    [
        ("SELECT A FROM NOPE", 942),
        ("CREATE TABLE T (A NUMBER)", 955),
        ("SELECT B FROM T", 904),
        ("ALTER TABLE T ADD (A NVARCHAR2(20))", 1430),
        ("SELECT C FROM T ORDER BY C", 932),
        ("SELECT DISTINCT C FROM T", 932),
        ("SELECT ROW_NUMBER() OVER (PARTITION BY C ORDER BY N) AS R FROM T", 932),
        ("SELECT A FROM T WHERE C = 'x'", 932),
        ("SELECT A FROM T UNION SELECT TO_NCHAR(A) FROM T WHERE C IS NULL UNION SELECT A FROM T", 0),
        ("MERGE INTO T d USING (SELECT C, N FROM T) s ON (d.C = s.C) WHEN MATCHED THEN UPDATE SET d.N = s.N", 932),
        ("MERGE INTO T d USING (SELECT A, N FROM T) s ON (d.A = s.A) WHEN MATCHED THEN UPDATE SET d.A = s.A", 38104),
        ("CREATE TABLE X (A NVARCHAR2(16384))", 910),
        ("CREATE TABLE X AS SELECT N + 1 FROM T", 998),
        ("SELECT ROWS FROM T", 936),
        ("SELECT A FROM T WHERE N = D", 932),
    ],
)
def test_oracle_rules(con, statement, code):
    if code == 0:
        run(con, statement)
        return
    with pytest.raises(oracledb.DatabaseError) as info:
        run(con, statement)
    assert ora_code(info) == code, str(info.value)


def test_ddl_commits_and_views_are_recompiled(con, tmp_path):
    run(con, "CREATE VIEW V AS SELECT A, C FROM T")
    desc, _ = run(con, "SELECT * FROM V")
    assert [d[0] for d in desc] == ["A", "C"]
    with con.cursor() as cur:
        cur.execute("INSERT INTO T (A, N) VALUES (:1, :2)", ["x", 1])
    # DDL commits the open transaction: the row count survives a rollback
    run(con, "ALTER TABLE T ADD (C__NCLOB NCLOB)")
    con.rollback()
    assert run(con, "SELECT COUNT(*) FROM T")[1] == [(1,)]
    # a dropped column breaks the view until the column is back (finding 4's window)
    run(con, "ALTER TABLE T DROP COLUMN C")
    with pytest.raises(oracledb.DatabaseError) as info:
        run(con, "SELECT A FROM V")
    assert ora_code(info) == 4063
    run(con, "ALTER TABLE T RENAME COLUMN C__NCLOB TO C")
    assert run(con, "SELECT A FROM V")[0][0][0] == "A"
    # the state goes to disk (at the end of the process) for the next process of the scenario
    con.session.db.save()
    again = driver.Connection(driver.Database(con.session.db.path))
    assert run(again, "SELECT C FROM T")[0][0][0] == "C"


def test_drop_column_refused_on_hcc_table(tmp_path):
    con = driver.Connection(driver.Database(tmp_path / "d.json"))
    run(con, "CREATE TABLE H (A NVARCHAR2(10), B NUMBER)")  # ADW compresses it (QUERY HIGH)
    with pytest.raises(oracledb.DatabaseError) as info:
        run(con, "ALTER TABLE H DROP COLUMN B")
    assert ora_code(info) == 39726
    assert run(con, "SELECT compression, compress_for FROM all_tables WHERE table_name = 'H'")[1] == [
        ("ENABLED", "QUERY HIGH")
    ]


def test_batch_errors_name_the_column(con):
    with con.cursor() as cur:
        cur.executemany(
            "INSERT INTO T (A, N) VALUES (:1, :2)", [("ok", 1), ("x" * 11, 2), ("y", 10**10)], batcherrors=True
        )
        errors = cur.getbatcherrors()
    assert [(e.offset, e.message.split(":")[0]) for e in errors] == [(1, "ORA-12899"), (2, "ORA-01438")]
    assert '"MARINA"."T"."A" (actual: 11, maximum: 10)' in errors[0].message


def test_dbt_oracle_dictionary_queries(con):
    """The column list as dbt-oracle reads it: NVARCHAR2 is in CHAR semantics (char_used 'C'),
    which dbt-oracle renders as NVARCHAR2(n CHAR) (finding 2)."""
    sql = (
        "with columns as (select column_name, data_type, char_length, data_precision numeric_precision, "
        "data_scale numeric_scale, char_used, owner table_schema, table_name, column_id ordinal_position "
        'from sys.all_tab_columns) select column_name as "name", data_type as "type", char_length as '
        '"character_maximum_length", numeric_precision as "numeric_precision", numeric_scale as '
        '"numeric_scale", char_used as "char_length_unit" from columns where upper(table_name) = upper(\'T\') '
        "and upper(table_schema) = upper('MARINA') order by ordinal_position"
    )
    _, rows = run(con, sql)
    assert rows[:2] == [("A", "NVARCHAR2", 10, None, None, "C"), ("C", "NCLOB", 0, None, None, None)]
    with con.cursor() as cur:
        cur.execute(
            "SELECT column_name, data_type, char_length, data_precision, data_scale FROM all_tab_columns "
            "WHERE owner = COALESCE(:owner, SYS_CONTEXT('USERENV', 'CURRENT_SCHEMA')) AND table_name = :table_name "
            "ORDER BY column_id",
            owner=None,
            table_name="T",
        )
        assert cur.fetchall()[2] == ("N", "NUMBER", 0, 10, 0)
    assert run(con, "SELECT value FROM v$parameter WHERE name = 'max_string_size'")[1] == [("EXTENDED",)]
