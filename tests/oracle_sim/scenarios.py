"""TEST ONLY: the Oracle scenario matrix, shared by the simulator tests and the live-Oracle tests.

A scenario is a list of steps run in one schema (one simulated dictionary, or one fresh schema
of a real Oracle): loads of the real tap's output by the real loader, and dbt invocations of the
real project on the `oracle` target. Each step runs in its plugin's venv, in a subprocess
(run_loader.py / run_dbt.py), as Meltano would run it.

Exports: two consecutive sample exports of both systems (the tap's generator), read by the real
tap once per session; a scenario may change the Singer messages of an export (a long text, a
new column) and the dbt project (a catalog column added, models regenerated).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
SIM_DIR = Path(__file__).resolve().parent
TAP_BIN = ROOT / ".meltano" / "extractors" / "tap-marina-s3" / "venv" / "bin"
LOADER_PY = ROOT / ".meltano" / "loaders" / "target-oracle" / "venv" / "bin" / "python"
DBT_PY = ROOT / ".meltano" / "utilities" / "dbt" / "venv" / "bin" / "python"
SCHEMA = "MARINA"


# --- steps -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SetText:
    """The first record of `stream` gets a text of `length` characters in `column` ('é' x n:
    two bytes each in UTF-8, so byte-semantics columns overflow)."""

    stream: str
    column: str
    length: int


@dataclass(frozen=True)
class AddColumn:
    """A column added to the catalog (and so to the tap's SCHEMA and every RECORD)."""

    stream: str
    column: str
    oracle_type: str
    value: str


@dataclass(frozen=True)
class Load:
    export: int  # 1 or 2
    changes: tuple = ()  # SetText / AddColumn
    crash_at: str | None = None  # regex: the process dies at this statement (simulator only)
    expect_ok: bool = True


@dataclass(frozen=True)
class Dbt:
    command: str = "run"  # run | snapshot
    catalog_changes: tuple = ()  # AddColumn: the project is regenerated from a changed catalog
    select: str = ""  # dbt --select (empty: the whole project)
    expect_ok: bool = True


NEW_COLUMN = AddColumn("molo_piers", "BERTH_NOTE", "NVARCHAR2(50)", "north side")
OVER_2000_IN_NCLOB = SetText("stellar_customers", "NOTES", 5000)
JUST_OVER_CATALOG = SetText("molo_marina_locations", "PRIMARY_PHONE_NUMBER", 1001)  # NVARCHAR2(1000)
FAR_OVER_CATALOG = SetText("molo_marina_locations", "RULES", 2500)  # NVARCHAR2(1000)
HISTORY = "dw_molo_contacts_hist dw_stellar_customers_hist"
BASE = (Load(1), Dbt())
# After the first (whole) run, a scenario runs dbt on the models its change reaches (the `+`
# takes the DW model, the marts and the run-log hook along): dbt on ~165 models costs ~1 min.
SCENARIOS: dict[str, tuple] = {
    # first run: every STG table created by the loader, every DW table by dbt's CTAS, marts, run log
    "first_load": BASE,
    # incremental MERGE into every existing DW table; a rerun of dbt changes nothing
    "second_load": (*BASE, Load(2), Dbt(), Dbt(select="stg_molo__piers+ stg_stellar__customers+")),
    # a text over 2,000 characters in a free-text (NCLOB) column after the DW table exists
    "text_over_2000": (*BASE, Load(2, (OVER_2000_IN_NCLOB,)), Dbt(select="stg_stellar__customers+")),
    # texts over the catalog size (one within STANDARD's 2,000, one beyond): the size is a hint,
    # the value loads uncut into the fixed NVARCHAR2 of the database's limit, no type changes
    "text_over_catalog_size": (
        *BASE,
        Load(2, (JUST_OVER_CATALOG, FAR_OVER_CATALOG)),
        Dbt(select="stg_molo__marina_locations+"),
    ),
    # a text over the column itself (16,384 > NVARCHAR2's 16,383): the load stops with the row
    # named and the previous export stays; the corrected export loads
    "text_over_column_limit": (
        *BASE,
        Load(2, (SetText("molo_marina_locations", "RULES", 16384),), expect_ok=False),
        Load(2),
        Dbt(select="stg_molo__marina_locations+"),
    ),
    # a catalog column added between two loads: STG and DW get it, the next run merges normally
    "new_catalog_column": (
        *BASE,
        Load(2, (NEW_COLUMN,)),
        Dbt(catalog_changes=(NEW_COLUMN,), select="stg_molo__piers+"),
        Dbt(catalog_changes=(NEW_COLUMN,), select="stg_molo__piers+"),
    ),
    # the loader dies in the middle of the export's activation; the rerun recovers
    "interrupted_load": (
        *BASE,
        Load(2, crash_at=r"^\s*INSERT INTO \S*STG_MOLO_PIERS\s*\(", expect_ok=False),
        Load(2),
        Dbt(select="stg_molo__piers+"),
    ),
    # history: the first build creates the HIST tables, later runs merge (and add columns)
    "snapshots": (
        *BASE,
        Dbt("snapshot", select=HISTORY),
        Load(2),
        Dbt(select="stg_molo__contacts+ stg_stellar__customers+"),
        Dbt("snapshot", select=HISTORY),
        Dbt("snapshot", select=HISTORY),
    ),
}


# --- exports and their Singer messages --------------------------------------------------------


def tap_messages(work: Path) -> list[Path]:
    """The real tap's output for export 1 and export 2 (generated once per work folder)."""
    out = [work / "export1.jsonl", work / "export2.jsonl"]
    if all(p.exists() for p in out):
        return out
    samples = work / "samples"
    subprocess.run(
        [str(TAP_BIN / "marina-sample-exports"), str(samples), "--rows", "400", "--exports", "2"],
        check=True,
        capture_output=True,
    )
    manifest = json.loads((samples / "manifest.json").read_text())
    for n, path in enumerate(out, 1):
        folder = work / f"live{n}"
        for export in manifest["exports"]:
            if export["version"] == n:
                (folder / export["system"]).mkdir(parents=True, exist_ok=True)
                shutil.copy2(samples / export["path"], folder / export["path"])
        config = {"molo_path": str(folder / "molo"), "stellar_path": str(folder / "stellar"), "late_export": "warn"}
        (work / f"tap{n}.json").write_text(json.dumps(config))
        with open(path, "wb") as fh:
            proc = subprocess.run(
                [str(TAP_BIN / "tap-marina-s3"), "--config", str(work / f"tap{n}.json")],
                stdout=fh,
                stderr=subprocess.PIPE,
                text=False,
                check=False,
            )
        if proc.returncode != 0:
            raise AssertionError(f"tap failed on export {n}: {proc.stderr.decode()[-3000:]}")
    return out


def changed_messages(source: Path, changes: tuple, dest: Path) -> Path:
    """A copy of a message file with the scenario's changes applied."""
    if not changes:
        return source
    lines = source.read_text(encoding="utf-8").splitlines()
    out, done = [], set()
    for line in lines:
        msg = json.loads(line)
        for ch in changes:
            if msg.get("stream") != ch.stream:
                continue
            prop = ch.column.lower()
            if isinstance(ch, AddColumn) and msg["type"] == "SCHEMA":
                size = int(ch.oracle_type.split("(")[1].rstrip(")"))
                msg["schema"]["properties"][prop] = {"type": ["string", "null"], "maxLength": size}
            elif isinstance(ch, AddColumn) and msg["type"] == "RECORD":
                msg["record"][prop] = ch.value
            elif isinstance(ch, SetText) and msg["type"] == "RECORD" and ch not in done:
                assert prop in msg["record"], f"{ch.stream} has no column {prop}"
                msg["record"][prop] = "é" * ch.length
                done.add(ch)
        out.append(json.dumps(msg, ensure_ascii=False))
    missing = [ch for ch in changes if isinstance(ch, SetText) and ch not in done]
    assert not missing, f"no RECORD to change for {missing}"
    dest.write_text("\n".join(out) + "\n", encoding="utf-8")
    return dest


def records(path: Path) -> dict[str, int]:
    """RECORD messages per stream of a message file."""
    counts: dict[str, int] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith('{"type":"RECORD"') or '"type": "RECORD"' in line[:20]:
            stream = json.loads(line)["stream"]
            counts[stream] = counts.get(stream, 0) + 1
    return counts


# --- the dbt project ---------------------------------------------------------------------------


def project(work: Path, transform: Path, catalog_changes: tuple) -> Path:
    """The dbt project to run: the repository's, or a copy regenerated from a changed catalog."""
    if not catalog_changes:
        return transform
    dest = work / ("project_" + "_".join(c.column.lower() for c in catalog_changes))
    if dest.exists():
        return dest
    shutil.copytree(
        transform, dest, ignore=shutil.ignore_patterns("target", "logs", "tests", "dbt_packages", "__pycache__")
    )
    catalog_src = transform.parent / "marina-common" / "marina_common" / "catalog.yml"
    catalog = yaml.safe_load(catalog_src.read_text())
    for ch in catalog_changes:
        table = next(t for t in catalog if t["stream"] == ch.stream)
        table["columns"].append(
            {
                "name": ch.column,
                "source": ch.column,
                "oracle_type": ch.oracle_type,
                "parser": "string",
                "nullable": True,
            }
        )
    catalog_path = work / "catalog_changed.yml"
    catalog_path.write_text(yaml.safe_dump(catalog, sort_keys=False))
    code = (
        "import sys; from pathlib import Path; sys.path.insert(0, sys.argv[1]); import generate_models as g; "
        "g.write(Path(sys.argv[2]), Path(sys.argv[3]))"
    )
    subprocess.run([str(DBT_PY), "-c", code, str(transform / "scripts"), str(catalog_path), str(dest)], check=True)
    return dest


# --- running steps -----------------------------------------------------------------------------


@dataclass
class Pipeline:
    """One scenario's schema. `state`: the simulator's dictionary file (None: the real Oracle
    named by ORACLE_* in `env`)."""

    work: Path
    state: Path | None
    env: dict = field(default_factory=dict)
    transform: Path = ROOT / "transform"
    loader_path: list = field(default_factory=list)  # extra PYTHONPATH for the loader (another checkout)
    targets: Path | None = None  # dbt target folders (shared between scenarios: partial parsing)
    log: list = field(default_factory=list)

    def loader_config(self) -> dict:
        if self.state is not None:
            return {
                "oracle_user": "marina_app",
                "oracle_password": "not-used",
                "oracle_dsn": "sim.invalid:1522/marina",
                "default_target_schema": SCHEMA,
            }
        keys = {
            "oracle_user": "ORACLE_USER",
            "oracle_password": "ORACLE_PASSWORD",
            "oracle_dsn": "ORACLE_DSN",
            "oracle_config_dir": "ORACLE_CONFIG_DIR",
            "oracle_wallet_location": "ORACLE_WALLET_LOCATION",
            "oracle_wallet_password": "ORACLE_WALLET_PASSWORD",
            "default_target_schema": "ORACLE_SCHEMA",
        }
        return {k: self.env[v] for k, v in keys.items() if self.env.get(v)}

    def process_env(self) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ORACLE_", "DBT_"))}
        env.update(self.env)
        env["PYTHONPATH"] = os.pathsep.join([*map(str, self.loader_path), str(SIM_DIR.parent)])
        if self.state is not None:
            env.update(
                {
                    "ORACLE_USER": "marina_app",
                    "ORACLE_PASSWORD": "not-used",
                    "ORACLE_DSN": "sim.invalid:1522/marina",
                    "ORACLE_SCHEMA": SCHEMA,
                }
            )
        env["DBT_TARGET"] = "oracle"
        for ours, theirs in (
            ("ORACLE_CONFIG_DIR", "CONFIG_DIR"),
            ("ORACLE_WALLET_LOCATION", "WALLET_LOCATION"),
            ("ORACLE_WALLET_PASSWORD", "WALLET_PASSWORD"),
        ):
            if env.get(ours) and not env.get(theirs):
                env[theirs] = env[ours]
        return env

    def load(self, step: Load, messages: Path, n: int) -> tuple[bool, str]:
        env = self.process_env()
        if step.crash_at:
            env["ORACLE_SIM_CRASH_AT"] = step.crash_at
        args = [str(LOADER_PY), str(SIM_DIR / "run_loader.py"), str(messages), json.dumps(self.loader_config())]
        if self.state is not None:
            args.append(str(self.state))
        if step.crash_at and self.state is None:
            proc = self._killed_midway(args, env)
        else:
            proc = subprocess.run(args, env=env, capture_output=True, text=True, timeout=900, check=False)
        tail = proc.stderr.strip().splitlines()[-1:] if proc.returncode else []
        self.log.append(f"load export {step.export} #{n}: rc={proc.returncode} {' '.join(tail)[:1500]}")
        return proc.returncode == 0, proc.stderr[-4000:]

    def _killed_midway(self, args: list, env: dict) -> subprocess.CompletedProcess:
        """A real Oracle: the loader is killed (SIGKILL) once it has created a shadow table, i.e.
        between the steps of a load (the simulator kills it at a chosen statement instead)."""
        import oracledb

        proc = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        params = {
            "user": self.env["ORACLE_USER"],
            "password": self.env["ORACLE_PASSWORD"],
            "dsn": self.env["ORACLE_DSN"],
        }
        for key, var in (
            ("config_dir", "ORACLE_CONFIG_DIR"),
            ("wallet_location", "ORACLE_WALLET_LOCATION"),
            ("wallet_password", "ORACLE_WALLET_PASSWORD"),
        ):
            if self.env.get(var):
                params[key] = self.env[var]
        with oracledb.connect(**params) as con, con.cursor() as cur:
            while proc.poll() is None:
                cur.execute(
                    "SELECT COUNT(*) FROM all_tables WHERE owner = :o AND table_name LIKE '%\\_\\_LOADING' ESCAPE '\\'",
                    o=self.env.get("ORACLE_SCHEMA", self.env["ORACLE_USER"]).upper(),
                )
                if cur.fetchone()[0]:
                    proc.kill()
                    break
                time.sleep(0.2)
        out, err = proc.communicate()
        return subprocess.CompletedProcess(args, proc.returncode if proc.returncode else 0, out, err)

    def dbt(self, step: Dbt, n: int) -> tuple[bool, str]:
        proj = project(self.work, self.transform, step.catalog_changes)
        target = (self.targets or self.work) / f"target_{proj.name}"
        common = [
            "--project-dir",
            str(proj),
            "--profiles-dir",
            str(proj),
            "--target",
            "oracle",
            "--threads",
            "2",
            "--target-path",
            str(target),
            "--log-path",
            str(self.work / "logs"),
            "--log-level-file",
            "none",
        ]
        out = self.work / f"dbt_{n}.json"
        select = ["--select", *step.select.split()] if step.select else []
        args = [str(DBT_PY), str(SIM_DIR / "run_dbt.py"), str(out), json.dumps([[step.command, *select, *common]])]
        if self.state is not None:
            args.append(str(self.state))
        proc = subprocess.run(args, env=self.process_env(), capture_output=True, text=True, timeout=1800, check=False)
        if proc.returncode != 0 or not out.exists():
            self.log.append(f"dbt {step.command} #{n}: crashed {proc.stderr[-1500:]}")
            return False, proc.stderr[-4000:]
        (res,) = json.loads(out.read_text())["results"]
        detail = "; ".join(res["errors"])[:3000] or res["exception"][:1500]
        self.log.append(f"dbt {step.command} #{n}: {'ok' if res['success'] else 'FAILED ' + detail}")
        return res["success"], detail

    def run(self, steps: tuple, messages: list[Path], start: int = 0) -> list[str]:
        """Run steps[start:]; returns the problems (a step that did not do what it should)."""
        problems = []
        for n, step in enumerate(steps[start:], start + 1):
            began = time.monotonic()
            if isinstance(step, Load):
                msgs = changed_messages(messages[step.export - 1], step.changes, self.work / f"messages_{n}.jsonl")
                ok, detail = self.load(step, msgs, n)
                what = f"step {n} load of export {step.export}"
            else:
                ok, detail = self.dbt(step, n)
                what = f"step {n} dbt {step.command}"
            self.log[-1] += f" [{time.monotonic() - began:.1f} s]"
            if ok != step.expect_ok:
                problems.append(
                    f"{what}: {'failed: ' + detail if not ok else 'succeeded though it should have failed'}"
                )
                break
        return problems


# --- what a scenario must leave behind ----------------------------------------------------------
# Facts: {name: {"kind": TABLE|VIEW|INDEX, "columns": {column: type SQL}, "compress": None or a
# kind, "status": VALID|INVALID, "keys": [[columns of a PK / unique index]], "rows": n or None}},
# read from the simulator's dictionary (sim_facts) or from a real Oracle (live test).
PRODUCT = "[needs the issue-12 product change: {}]"
LEFTOVER = re.compile(r"(__LOADING|__DBT_ALTER|__NCLOB|__DBT_TMP)$|^O\$PT_", re.I)


def type_sql(data_type: str, char_length, precision, scale, char_used) -> str:
    """One spelling of a column type for both the simulator and ALL_TAB_COLUMNS."""
    if data_type in ("NVARCHAR2", "NCHAR"):
        return f"{data_type}({char_length})"
    if data_type in ("VARCHAR2", "CHAR"):
        return f"{data_type}({char_length}{' CHAR' if char_used == 'C' else ''})"
    if data_type == "NUMBER" and precision is not None:
        return f"NUMBER({precision},{scale or 0})"
    if data_type == "NUMBER" and scale == 0:
        return "INTEGER"
    return data_type


def sim_facts(state_path: Path) -> dict:
    from oracle_sim.sim import type_from_json

    state = json.loads(Path(state_path).read_text())
    objects = state["objects"]
    facts = {}
    for name, o in objects.items():
        cols = {}
        for cname, ty, *_ in o["columns"] if o["kind"] in ("TABLE", "VIEW") else []:
            t = type_from_json(ty)
            cols[cname] = type_sql(t.base, t.size, t.prec, t.scale, "C" if t.base.startswith("N") else t.unit)
        keys = [c["columns"] for c in o.get("constraints", [])]
        keys += [
            x["columns"] for x in objects.values() if x["kind"] == "INDEX" and x.get("table") == name and x["unique"]
        ]
        facts[name] = {
            "kind": o["kind"],
            "columns": cols,
            "compress": o.get("compress"),
            "keys": keys,
            "status": o.get("status", "VALID"),
            "rows": o.get("rows"),
            "temporary": o.get("temporary"),
        }
    return facts


def catalog_tables(transform: Path = ROOT / "transform", changes: tuple = ()) -> list[dict]:
    catalog = yaml.safe_load((transform.parent / "marina-common" / "marina_common" / "catalog.yml").read_text())
    for ch in changes:
        next(t for t in catalog if t["stream"] == ch.stream)["columns"].append(
            {"name": ch.column, "oracle_type": ch.oracle_type}
        )
    return catalog


def check(
    facts: dict,
    catalog: list[dict],
    *,
    before: dict | None = None,
    marts: list[str] = (),
    history: list[str] = (),
    loaded: dict | None = None,
) -> list[str]:
    """Problems of a schema after a scenario (an empty list when all is well).
    before: the facts after the first run (no column may change its type since);
    loaded: {stream: RECORDs of the last load} with 'rejects_added' (rows added to
    STG_MARINA_REJECTS by that load, minus the tap's own rejects) for the count reconciliation."""
    problems = []
    for name, o in sorted(facts.items()):
        if LEFTOVER.search(name) and not o.get("temporary"):
            problems.append(f"leftover object {name}")
        for col in o["columns"]:
            if LEFTOVER.search(col):
                problems.append(f"leftover column {name}.{col}")
        if o["status"] != "VALID":
            problems.append(f"{o['kind']} {name} is {o['status']}")
    for t in catalog:
        stg, dw = facts.get(t["staging_table"]), facts.get(t["dw_table"])
        if stg is None or dw is None:
            problems.append(f"{t['stream']}: missing {'STG' if stg is None else 'DW'} table")
            continue
        for c in t["columns"]:
            name = c["name"]
            if name not in stg["columns"] or name not in dw["columns"]:
                problems.append(
                    f"{t['stream']}: column {name} missing in {'STG' if name not in stg['columns'] else 'DW'}"
                )
                continue
            s_type, d_type = stg["columns"][name], dw["columns"][name]
            if d_type != s_type:
                problems.append(
                    f"{t['dw_table']}.{name} is {d_type} but {t['staging_table']}.{name} is {s_type} "
                    + PRODUCT.format("item 1, staging views cast to the STG types")
                )
            if c["oracle_type"].startswith(("NVARCHAR2", "NCLOB")) and d_type.startswith(("VARCHAR2", "CLOB", "CHAR")):
                problems.append(
                    f"{t['dw_table']}.{name}: national text became {d_type} (dbt column expansion, finding 3)"
                )
        for _kind, o, table in (("STG", stg, t["staging_table"]), ("DW", dw, t["dw_table"])):
            if o["compress"]:
                problems.append(f"{table} is compressed ({o['compress']}) " + PRODUCT.format("item 3, NOCOMPRESS"))
        if ["DW_ID"] not in dw["keys"]:
            problems.append(f"{t['dw_table']} has no primary key / unique index on DW_ID " + PRODUCT.format("item 3"))
    if before is not None:
        for name, o in before.items():
            if (
                name in facts
                and o["kind"] == "TABLE"
                and name.startswith(("STG_", "DW_"))
                and not LEFTOVER.search(name)
            ):
                for col, ty in o["columns"].items():
                    now = facts[name]["columns"].get(col)
                    if now is not None and now != ty:
                        problems.append(
                            f"{name}.{col} changed type from {ty} to {now} "
                            + PRODUCT.format("item 1, no column type changes at load time")
                        )
    for m in marts:
        if m not in facts:
            problems.append(f"mart {m} missing")
    if "DW_ETL_RUN_LOG" not in facts:
        problems.append("run log DW_ETL_RUN_LOG missing (on-run-end hook)")
    for h in history:
        hist, dw = facts.get(h), facts.get(h.removesuffix("_HIST"))
        if hist is None:
            problems.append(f"snapshot table {h} missing")
            continue
        for col, ty in dw["columns"].items():
            if hist["columns"].get(col) != ty:
                problems.append(f"{h}.{col} is {hist['columns'].get(col)}, {ty} in the DW table")
    if loaded is not None:
        tables = {t["stream"]: t["staging_table"] for t in catalog}
        missing = 0
        for stream, n in loaded.items():
            if stream in tables and facts.get(tables[stream], {}).get("rows") is not None:
                missing += n - facts[tables[stream]]["rows"]
        if missing != loaded.get("rejects_added", 0):
            problems.append(
                f"rows do not reconcile: {missing} RECORDs not in their STG table, "
                f"{loaded.get('rejects_added', 0)} rejects added by the loader"
            )
    return problems


def marts(transform: Path = ROOT / "transform") -> list[str]:
    return sorted(p.stem.upper() for p in (transform / "models" / "marts").rglob("*.sql"))


# --- a real Oracle (test_oracle_live_scenarios.py) ------------------------------------------------


def live_facts(con, schema: str) -> dict:
    """The same facts as sim_facts, read from a real Oracle's dictionary (and COUNT(*) of the
    STG tables)."""
    facts: dict = {}
    cur = con.cursor()
    cur.execute(
        "SELECT object_name, object_type, status FROM all_objects WHERE owner = :o "
        "AND object_type IN ('TABLE', 'VIEW', 'INDEX')",
        o=schema,
    )
    for name, kind, status in cur.fetchall():
        facts[name] = {
            "kind": kind,
            "columns": {},
            "compress": None,
            "keys": [],
            "status": status,
            "rows": None,
            "temporary": False,
        }
    cur.execute("SELECT table_name, compression, compress_for, temporary FROM all_tables WHERE owner = :o", o=schema)
    for name, compression, compress_for, temporary in cur.fetchall():
        if name in facts:
            facts[name]["compress"] = (compress_for or "BASIC") if compression == "ENABLED" else None
            facts[name]["temporary"] = temporary == "Y"
    cur.execute(
        "SELECT table_name, column_name, data_type, char_length, data_precision, data_scale, char_used "
        "FROM all_tab_columns WHERE owner = :o ORDER BY table_name, column_id",
        o=schema,
    )
    for table, col, *ty in cur.fetchall():
        if table in facts:
            facts[table]["columns"][col] = type_sql(*ty)
    cur.execute(
        "SELECT c.table_name, c.constraint_name, cc.column_name FROM all_constraints c JOIN all_cons_columns cc "
        "ON cc.owner = c.owner AND cc.constraint_name = c.constraint_name WHERE c.owner = :o "
        "AND c.constraint_type IN ('P', 'U') ORDER BY c.constraint_name, cc.position",
        o=schema,
    )
    keys: dict = {}
    for table, cname, col in cur.fetchall():
        keys.setdefault((table, cname), []).append(col)
    cur.execute(
        "SELECT i.table_name, i.index_name, ic.column_name FROM all_indexes i JOIN all_ind_columns ic "
        "ON ic.index_owner = i.owner AND ic.index_name = i.index_name WHERE i.owner = :o "
        "AND i.uniqueness = 'UNIQUE' ORDER BY i.index_name, ic.column_position",
        o=schema,
    )
    for table, iname, col in cur.fetchall():
        keys.setdefault((table, iname), []).append(col)
    for (table, _), cols in keys.items():
        if table in facts:
            facts[table]["keys"].append(cols)
    for name, o in facts.items():
        if o["kind"] == "TABLE" and name.startswith("STG_") and not LEFTOVER.search(name):
            cur.execute(f'SELECT COUNT(*) FROM "{schema}"."{name}"')
            o["rows"] = cur.fetchone()[0]
    return facts


def dw_rows(con, tables: list[str], schema: str | None = None) -> dict[str, list[tuple]]:
    """Every DW table's rows without the run-time columns (DW_LAST_*, DW_DELETED_AT), sorted,
    values normalized so that an Oracle and a DuckDB warehouse compare equal."""
    import datetime as dt
    from decimal import Decimal

    def norm(v):
        if isinstance(v, bool):
            return int(v)
        if isinstance(v, float):
            return Decimal(repr(v)).normalize()
        if isinstance(v, (int, Decimal)):
            return Decimal(v).normalize()
        if isinstance(v, dt.datetime) and v.time() == dt.time(0):
            return v.date()  # an Oracle DATE comes back as a datetime
        if hasattr(v, "read"):
            return v.read()
        if v == "":
            return None  # '' is NULL in Oracle
        return v

    out = {}
    cur = con.cursor()
    for table in tables:
        name = f'"{schema}"."{table}"' if schema else table
        cur.execute(f"SELECT * FROM {name} WHERE 1 = 0")
        cols = [d[0].upper() for d in cur.description]
        keep = [c for c in cols if c not in ("DW_LAST_INSERTED", "DW_LAST_UPDATED", "DW_DELETED_AT", "DW_SOURCE_KEY")]
        cur.execute(f"SELECT {', '.join(keep)} FROM {name}")
        out[table] = sorted((tuple(norm(v) for v in row) for row in cur.fetchall()), key=repr)
    return out


def duckdb_warehouse(work: Path, messages: list[Path], transform: Path = ROOT / "transform") -> Path:
    """The same exports loaded into DuckDB by the loader and transformed by dbt (duckdb target)."""
    db = work / "marina.duckdb"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ORACLE_", "DBT_"))}
    env.update(
        {
            "MARINA_DUCKDB_PATH": str(db),
            "DBT_TARGET": "duckdb",
            "PYTHONPATH": str(SIM_DIR.parent),
            "DBT_PROJECT_DIR": str(transform),
        }
    )
    for path in messages:
        proc = subprocess.run(
            [
                str(LOADER_PY),
                str(SIM_DIR / "run_loader.py"),
                str(path),
                json.dumps({"sqlalchemy_url": f"duckdb:///{db}"}),
            ],
            env=env,
            capture_output=True,
            check=False,
            text=True,
        )
        assert proc.returncode == 0, proc.stderr[-3000:]
        common = [
            "--project-dir",
            str(transform),
            "--profiles-dir",
            str(transform),
            "--target",
            "duckdb",
            "--target-path",
            str(work / "target_duckdb"),
            "--log-path",
            str(work / "logs"),
        ]
        out = work / "dbt_duckdb.json"
        subprocess.run(
            [str(DBT_PY), str(SIM_DIR / "run_dbt.py"), str(out), json.dumps([["run", *common]])],
            env=env,
            check=True,
            capture_output=True,
        )
        (res,) = json.loads(out.read_text())["results"]
        assert res["success"], res
    return db
