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
import shutil
import subprocess
import sys
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
    export: int                       # 1 or 2
    changes: tuple = ()               # SetText / AddColumn
    crash_at: str | None = None       # regex: the process dies at this statement (simulator only)
    expect_ok: bool = True


@dataclass(frozen=True)
class Dbt:
    command: str = "run"              # run | snapshot
    catalog_changes: tuple = ()       # AddColumn: the project is regenerated from a changed catalog
    expect_ok: bool = True


NEW_COLUMN = AddColumn("molo_piers", "BERTH_NOTE", "NVARCHAR2(50)", "north side")
OVER_2000_IN_NCLOB = SetText("stellar_customers", "NOTES", 5000)
JUST_OVER_CATALOG = SetText("molo_marina_locations", "PRIMARY_PHONE_NUMBER", 1001)   # NVARCHAR2(1000)
FAR_OVER_CATALOG = SetText("molo_marina_locations", "RULES", 2500)                   # NVARCHAR2(1000)
BASE = (Load(1), Dbt())

SCENARIOS: dict[str, tuple] = {
    # first run: every STG table created by the loader, every DW table by dbt's CTAS, marts, run log
    "first_load": BASE,
    # incremental MERGE into existing DW tables; the rerun of dbt changes nothing
    "second_load": (*BASE, Load(2), Dbt(), Dbt()),
    # a text over 2,000 characters in a free-text (NCLOB) column after the DW table exists
    "text_over_2000": (*BASE, Load(2, (OVER_2000_IN_NCLOB,)), Dbt()),
    # texts over the catalog size (one within NVARCHAR2's 2,000, one beyond): rejects, no type change
    "text_over_catalog_size": (*BASE, Load(2, (JUST_OVER_CATALOG, FAR_OVER_CATALOG)), Dbt()),
    # a catalog column added between two loads: STG and DW get it, the next run merges normally
    "new_catalog_column": (*BASE, Load(2, (NEW_COLUMN,)), Dbt(catalog_changes=(NEW_COLUMN,)),
                           Dbt(catalog_changes=(NEW_COLUMN,))),
    # the loader dies in the middle of the export's activation; the rerun recovers
    "interrupted_load": (*BASE, Load(2, crash_at=r"^\s*INSERT INTO \S*STG_MOLO_PIERS\s*\(", expect_ok=False),
                         Load(2), Dbt()),
    # history: the first build creates the HIST tables, later runs merge (and add columns)
    "snapshots": (*BASE, Dbt("snapshot"), Load(2), Dbt(), Dbt("snapshot"), Dbt("snapshot")),
}


# --- exports and their Singer messages --------------------------------------------------------

def tap_messages(work: Path) -> list[Path]:
    """The real tap's output for export 1 and export 2 (generated once per work folder)."""
    out = [work / "export1.jsonl", work / "export2.jsonl"]
    if all(p.exists() for p in out):
        return out
    samples = work / "samples"
    subprocess.run([str(TAP_BIN / "marina-sample-exports"), str(samples), "--rows", "400", "--exports", "2"],
                   check=True, capture_output=True)
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
            proc = subprocess.run([str(TAP_BIN / "tap-marina-s3"), "--config", str(work / f"tap{n}.json")],
                                  stdout=fh, stderr=subprocess.PIPE, text=False)
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
    shutil.copytree(transform, dest, ignore=shutil.ignore_patterns("target", "logs", "tests", "dbt_packages", "__pycache__"))
    catalog_src = transform.parent / "tap-marina-s3" / "tap_marina_s3" / "catalog.yml"
    catalog = yaml.safe_load(catalog_src.read_text())
    for ch in catalog_changes:
        table = next(t for t in catalog if t["stream"] == ch.stream)
        table["columns"].append({"name": ch.column, "source": ch.column, "oracle_type": ch.oracle_type,
                                 "parser": "string", "nullable": True})
    catalog_path = work / "catalog_changed.yml"
    catalog_path.write_text(yaml.safe_dump(catalog, sort_keys=False))
    code = ("import sys; from pathlib import Path; sys.path.insert(0, sys.argv[1]); import generate_models as g; "
            "g.write(Path(sys.argv[2]), Path(sys.argv[3]))")
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
    loader_path: list = field(default_factory=list)   # extra PYTHONPATH for the loader (another checkout)
    log: list = field(default_factory=list)

    def loader_config(self) -> dict:
        if self.state is not None:
            return {"oracle_user": "marina_app", "oracle_password": "not-used", "oracle_dsn": "sim.invalid:1522/marina",
                    "default_target_schema": SCHEMA}
        keys = {"oracle_user": "ORACLE_USER", "oracle_password": "ORACLE_PASSWORD", "oracle_dsn": "ORACLE_DSN",
                "oracle_config_dir": "ORACLE_CONFIG_DIR", "oracle_wallet_location": "ORACLE_WALLET_LOCATION",
                "oracle_wallet_password": "ORACLE_WALLET_PASSWORD", "default_target_schema": "ORACLE_SCHEMA"}
        return {k: self.env[v] for k, v in keys.items() if self.env.get(v)}

    def process_env(self) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ORACLE_", "DBT_"))}
        env.update(self.env)
        env["PYTHONPATH"] = os.pathsep.join([*map(str, self.loader_path), str(SIM_DIR.parent)])
        if self.state is not None:
            env.update({"ORACLE_USER": "marina_app", "ORACLE_PASSWORD": "not-used",
                        "ORACLE_DSN": "sim.invalid:1522/marina", "ORACLE_SCHEMA": SCHEMA})
        env["DBT_TARGET"] = "oracle"
        for ours, theirs in (("ORACLE_CONFIG_DIR", "CONFIG_DIR"), ("ORACLE_WALLET_LOCATION", "WALLET_LOCATION"),
                             ("ORACLE_WALLET_PASSWORD", "WALLET_PASSWORD")):
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
        proc = subprocess.run(args, env=env, capture_output=True, text=True, timeout=900)
        tail = proc.stderr.strip().splitlines()[-1:] if proc.returncode else []
        self.log.append(f"load export {step.export} #{n}: rc={proc.returncode} {' '.join(tail)[:1500]}")
        return proc.returncode == 0, proc.stderr[-4000:]

    def dbt(self, step: Dbt, n: int) -> tuple[bool, str]:
        proj = project(self.work, self.transform, step.catalog_changes)
        target = self.work / f"target_{proj.name}"
        common = ["--project-dir", str(proj), "--profiles-dir", str(proj), "--target", "oracle", "--threads", "2",
                  "--target-path", str(target), "--log-path", str(self.work / "logs"), "--log-level-file", "none"]
        out = self.work / f"dbt_{n}.json"
        args = [str(DBT_PY), str(SIM_DIR / "run_dbt.py"), str(out), json.dumps([[step.command, *common]])]
        if self.state is not None:
            args.append(str(self.state))
        proc = subprocess.run(args, env=self.process_env(), capture_output=True, text=True, timeout=1800)
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
                problems.append(f"{what}: {'failed: ' + detail if not ok else 'succeeded though it should have failed'}")
                break
        return problems
