"""The Oracle scenario matrix against a real Oracle (ADB, or the free 23ai container).

Runs only when ORACLE_USER, ORACLE_PASSWORD and ORACLE_DSN are set (plus ORACLE_CONFIG_DIR /
ORACLE_WALLET_LOCATION / ORACLE_WALLET_PASSWORD for an ADB wallet). ORACLE_USER must be allowed
to create users (ADB: ADMIN; 23ai free: SYSTEM): every scenario runs in a fresh schema (a user
MARINA_T<random>), dropped afterwards unless ORACLE_KEEP_SCHEMA=1. The scenarios are the
simulator's (tests/oracle_sim/scenarios.py), run by the same runners with the real driver, and
the schema each leaves is checked by the same checks. On top (issue 12 item 8): STG counts
equal the load audit; DW contents equal a DuckDB run on the same exports; a reader polling the
STG tables during the second load never sees an empty or partial table; a load killed midway
is recovered by its rerun (scenario interrupted_load); a rerun changes nothing. See README.md,
"Testing against a live Oracle".
"""

from __future__ import annotations

import os
import secrets
import sys
import threading
from pathlib import Path

import pytest

REQUIRED = ("ORACLE_USER", "ORACLE_PASSWORD", "ORACLE_DSN")
MISSING = [v for v in REQUIRED if not os.environ.get(v)]
if MISSING:
    pytest.skip(
        f"live Oracle scenario matrix: {', '.join(MISSING)} not set (README.md, 'Testing against a live Oracle')",
        allow_module_level=True,
    )

import oracledb  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests"))
from oracle_sim import scenarios as sc  # noqa: E402

WALLET = ("ORACLE_CONFIG_DIR", "ORACLE_WALLET_LOCATION", "ORACLE_WALLET_PASSWORD")
HISTORY = ["DW_MOLO_CONTACTS_HIST", "DW_STELLAR_CUSTOMERS_HIST"]
oracledb.defaults.fetch_lobs = False
oracledb.defaults.fetch_decimals = True


def connect(user: str | None = None, password: str | None = None):
    params = {
        "user": user or os.environ["ORACLE_USER"],
        "password": password or os.environ["ORACLE_PASSWORD"],
        "dsn": os.environ["ORACLE_DSN"],
    }
    for key, var in zip(("config_dir", "wallet_location", "wallet_password"), WALLET, strict=True):
        if os.environ.get(var):
            params[key] = os.environ[var]
    return oracledb.connect(**params)


@pytest.fixture
def schema():
    """A fresh schema (user) for one scenario: (name, password)."""
    name = f"MARINA_T{secrets.token_hex(4).upper()}"
    password = "Mt1_" + secrets.token_urlsafe(18).replace("-", "x").replace("_", "y")
    with connect() as con, con.cursor() as cur:
        try:
            cur.execute(f'CREATE USER {name} IDENTIFIED BY "{password}"')
        except oracledb.DatabaseError as exc:
            pytest.skip(f"ORACLE_USER cannot create the scenario's schema: {exc}")
        cur.execute(f"GRANT CREATE SESSION, CREATE TABLE, CREATE VIEW TO {name}")
        for tablespace in ("DATA", "USERS"):  # ADB / 23ai free
            try:
                cur.execute(f"ALTER USER {name} QUOTA UNLIMITED ON {tablespace}")
            except oracledb.DatabaseError:
                continue
    yield name, password
    if os.environ.get("ORACLE_KEEP_SCHEMA") != "1":
        with connect() as con, con.cursor() as cur:
            cur.execute(f"DROP USER {name} CASCADE")


@pytest.fixture(scope="module")
def exports(tmp_path_factory) -> list[Path]:
    return sc.tap_messages(tmp_path_factory.mktemp("oracle_live_exports"))


def pipeline(tmp_path: Path, schema: tuple[str, str]) -> sc.Pipeline:
    env = {v: os.environ[v] for v in (*REQUIRED, *WALLET) if os.environ.get(v)}
    env.update({"ORACLE_USER": schema[0], "ORACLE_PASSWORD": schema[1], "ORACLE_SCHEMA": schema[0]})
    return sc.Pipeline(work=tmp_path, state=None, env=env)


def audit_mismatches(con, owner: str) -> list[str]:
    """STG counts against the load audit of the latest export of each table: rows the tap
    emitted = rows in STG + rows the loader rejected (rejects of that export beyond the tap's)."""
    cur = con.cursor()
    cur.execute(f"""
        SELECT TO_CHAR(a.TABLE_NAME), a.ROWS_EMITTED, a.ROWS_REJECTED,
               (SELECT COUNT(*) FROM {owner}.STG_MARINA_REJECTS r
                 WHERE TO_CHAR(r.TABLE_NAME) = TO_CHAR(a.TABLE_NAME) AND TO_CHAR(r.SOURCE_KEY) = TO_CHAR(a.SOURCE_KEY))
          FROM {owner}.STG_MARINA_LOAD_AUDIT a
         WHERE a.FINISHED_AT = (SELECT MAX(b.FINISHED_AT) FROM {owner}.STG_MARINA_LOAD_AUDIT b
                                 WHERE TO_CHAR(b.TABLE_NAME) = TO_CHAR(a.TABLE_NAME))""")
    problems = []
    for stream, emitted, tap_rejected, rejects in cur.fetchall():
        cur2 = con.cursor()
        cur2.execute(f"SELECT COUNT(*) FROM {owner}.STG_{stream.upper()}")
        stg = cur2.fetchone()[0]
        loader_rejected = rejects - (tap_rejected or 0)
        if stg + loader_rejected != emitted:
            problems.append(
                f"{stream}: audit says {emitted} rows emitted, STG has {stg}, loader rejected {loader_rejected}"
            )
    return problems


class SwapReader(threading.Thread):
    """Counts a few STG tables over and over while a load runs (another session)."""

    TABLES = ("STG_MOLO_SLIPS", "STG_MOLO_PIERS", "STG_STELLAR_CUSTOMERS", "STG_STELLAR_BOOKINGS")

    def __init__(self, user: str, password: str):
        super().__init__(daemon=True)
        self.user, self.password = user, password
        self.seen: dict[str, set[int]] = {t: set() for t in self.TABLES}
        self.stop = threading.Event()

    def run(self):
        with connect(self.user, self.password) as con, con.cursor() as cur:
            while not self.stop.is_set():
                for table in self.TABLES:
                    cur.execute(f"SELECT COUNT(*) FROM {table}")
                    self.seen[table].add(cur.fetchone()[0])


@pytest.mark.parametrize("name", list(sc.SCENARIOS))
def test_scenario_on_live_oracle(name, schema, exports, tmp_path):
    steps = sc.SCENARIOS[name]
    owner, password = schema
    pipe = pipeline(tmp_path, schema)
    problems = pipe.run(sc.BASE, exports)
    assert not problems, "\n".join([*problems, *pipe.log])
    with connect(owner, password) as con:
        before = sc.live_facts(con, owner)
    reader = SwapReader(owner, password) if name == "second_load" else None
    if reader:
        counts_before = {t: before[t]["rows"] for t in reader.TABLES}
        reader.start()
    problems = pipe.run(steps, exports, start=len(sc.BASE))
    if reader:
        reader.stop.set()
        reader.join()
    assert not problems, "\n".join([*problems, *pipe.log])
    changes = tuple(c for s in steps if isinstance(s, sc.Dbt) for c in s.catalog_changes)
    with connect(owner, password) as con:
        facts = sc.live_facts(con, owner)
        problems = sc.check(
            facts,
            sc.catalog_tables(changes=changes),
            before=before,
            marts=sc.marts(),
            history=HISTORY if name == "snapshots" else [],
        )
        if name in ("first_load", "second_load", "interrupted_load"):
            problems += audit_mismatches(con, owner)
        if reader:
            for table, seen in reader.seen.items():
                allowed = {counts_before[table], facts[table]["rows"]}
                if not seen <= allowed:
                    problems.append(
                        f"a reader saw {table} with {sorted(seen - allowed)} rows during the load "
                        f"(before {counts_before[table]}, after {facts[table]['rows']})"
                    )
        if name == "second_load":
            dw_tables = [t["dw_table"] for t in sc.catalog_tables()]
            oracle_dw = sc.dw_rows(con, dw_tables, owner)
            import duckdb

            db = sc.duckdb_warehouse(tmp_path / "duckdb", exports)
            with duckdb.connect(str(db), read_only=True) as dcon:
                duck_dw = sc.dw_rows(dcon.cursor(), dw_tables)
            for table in dw_tables:
                if oracle_dw[table] != duck_dw[table]:
                    problems.append(
                        f"{table}: Oracle and DuckDB DW rows differ "
                        f"({len(oracle_dw[table])} / {len(duck_dw[table])} rows)"
                    )
            # a rerun of the last load and dbt run changes nothing (not even DW_LAST_UPDATED)
            full_before = _all_rows(con, owner, dw_tables)
            again = pipe.run((sc.Load(2), sc.Dbt()), exports)
            problems += again
            if not again and _all_rows(con, owner, dw_tables) != full_before:
                problems.append("rerunning the second load and dbt changed DW rows")
    assert not problems, "\n".join(problems[:50] + pipe.log)


def _all_rows(con, owner: str, tables: list[str]) -> dict:
    cur = con.cursor()
    out = {}
    for table in tables:
        cur.execute(f"SELECT * FROM {owner}.{table}")
        out[table] = sorted(map(repr, cur.fetchall()))
    return out
