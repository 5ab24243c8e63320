"""The README's demo: sample exports -> tap -> DuckDB staging -> dbt DW, marts, history, docs.

Runs from the top-level venv. Every demo starts clean: it deletes the demo warehouse
(output/demo/marina.duckdb, its own file, not the dev warehouse output/marina.duckdb), the sample
exports and the demo's Meltano state, and says so; the virtual environments are left alone. It
generates exports with the tap's own generator (inside the tap's plugin venv), runs `meltano run
tap-marina-s3 target-duckdb dbt:run dbt:snapshot` (DW tables, marts and SCD2 history), prints per
table the rows in STG_* and in DW_* (and how many DW rows are marked deleted) and the marts' row
counts, generates the dbt docs site (lineage), prints where the warehouse is and how to query it,
and ends with the run summary from DW_ETL_RUN_LOG (`marina-ops report`), printed once.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parent.parent
TAP_BIN = ROOT / ".meltano/extractors/tap-marina-s3/venv/bin"
WAREHOUSE = ROOT / "output" / "demo" / "marina.duckdb"
EXPORTS = ROOT / "output" / "exports"
STATE_ID = "dev:tap-marina-s3-to-target-duckdb"  # <environment>:<extractor>-to-<loader>
# The demo's warehouse for the loader and for dbt / marina-ops (meltano.yml: target-duckdb)
DEMO_ENV = {
    "TARGET_DUCKDB_DUCKDB_PATH": str(WAREHOUSE),
    "MARINA_DUCKDB_PATH": str(WAREHOUSE),
    "MELTANO_ENVIRONMENT": "dev",
}


def run(cmd: list[str], quiet: bool = False, **kw) -> subprocess.CompletedProcess:
    """Run a step; a quiet step shows its output only when it fails."""
    print("$", " ".join(cmd), flush=True)
    env = {**os.environ, **DEMO_ENV}
    if not quiet:
        return subprocess.run(cmd, check=True, cwd=ROOT, env=env, **kw)
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, **kw, check=False)
    if done.returncode != 0:
        sys.stdout.write(done.stdout + done.stderr)
        raise subprocess.CalledProcessError(done.returncode, cmd)
    return done


def start_clean(meltano: str) -> None:
    """A demo never merges into an earlier one: no warehouse, exports or state are kept."""
    print(
        f"Starting clean: removing the demo warehouse {WAREHOUSE.parent.relative_to(ROOT)}/, the sample exports "
        f"in {EXPORTS.relative_to(ROOT)}/\nand the Meltano state {STATE_ID} (the virtual environments are kept)",
        flush=True,
    )
    shutil.rmtree(WAREHOUSE.parent, ignore_errors=True)
    for system in ("molo", "stellar"):
        shutil.rmtree(EXPORTS / system, ignore_errors=True)
    WAREHOUSE.parent.mkdir(parents=True)
    listed = run([meltano, "state", "list", "--pattern", STATE_ID], quiet=True).stdout
    if STATE_ID in listed:
        run([meltano, "state", "clear", "--force", STATE_ID], quiet=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=20000, help="rows per export, all tables")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    meltano = str(Path(sys.executable).parent / "meltano")
    start_clean(meltano)
    run(
        [str(TAP_BIN / "marina-sample-exports"), str(EXPORTS), "--rows", str(args.rows), "--seed", str(args.seed)],
        quiet=True,
    )
    run([meltano, "run", "tap-marina-s3", "target-duckdb", "dbt:run", "dbt:snapshot"])
    print_counts(WAREHOUSE)
    docs = ROOT / "output" / "docs"
    run([meltano, "invoke", "dbt:docs-generate", "--target-path", str(docs)], quiet=True)
    print(
        f"\nLineage docs: {docs / 'index.html'}  (serve them: .venv/bin/meltano invoke dbt:docs-serve "
        f"--target-path {docs})"
    )
    print(
        f"\nWarehouse: {WAREHOUSE} (DuckDB; the next `make demo` starts it again from scratch). Query it:\n"
        f"  .venv/bin/python -c \"import duckdb; duckdb.connect('{WAREHOUSE.relative_to(ROOT)}', read_only=True)"
        ".sql('select * from DW_MOLO_DAILY_SLIP_COUNT_VW limit 5').show()\"\n"
        "  (STG_* = the loaded exports, DW_* = the warehouse tables and marts, *_HIST = history)\n"
    )
    # The run summary comes last, once: the report of the dbt run above (no notification)
    print("Run summary (DW_ETL_RUN_LOG):", flush=True)
    report = subprocess.run(
        [meltano, "invoke", "marina-ops", "report", "--no-notify"],
        cwd=ROOT,
        env={**os.environ, **DEMO_ENV},
        capture_output=True,
        text=True,
        check=False,
    )
    sys.stdout.write(report.stdout)
    if report.returncode != 0:
        sys.stdout.write(report.stderr[-2000:])
    return report.returncode


def print_counts(path: Path) -> None:
    con = duckdb.connect(str(path), read_only=True)
    tables = {
        name.upper()
        for (name,) in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' AND table_type = 'BASE TABLE'"
        ).fetchall()
    }
    # STG_<SYSTEM>_<TABLE> are the loader's tables (dbt's staging views are STG_<SYSTEM>__<TABLE>)
    stg = sorted(t for t in tables if t.startswith("STG_") and "__" not in t)
    print(f"\n{'table':<42}{'STG rows':>10}{'DW rows':>10}{'deleted':>9}")
    totals = [0, 0, 0]
    for name in stg:
        suffix = name[len("STG_") :]
        stg_rows = con.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]
        dw_rows = deleted = None
        if f"DW_{suffix}" in tables:
            dw_rows, deleted = con.execute(
                f'SELECT count(*), count(*) FILTER (WHERE "DW_IS_DELETED" = 1) FROM "DW_{suffix}"'
            ).fetchone()
        print(
            f"{suffix:<42}{stg_rows:>10}{'' if dw_rows is None else dw_rows:>10}{'' if deleted is None else deleted:>9}"
        )
        totals[0] += stg_rows
        totals[1] += dw_rows or 0
        totals[2] += deleted or 0
    print(f"{'total (' + str(len(stg)) + ' staging tables)':<42}{totals[0]:>10}{totals[1]:>10}{totals[2]:>9}")
    marts = sorted(t for t in tables | views(con) if t.startswith("DW_") and (t.endswith("_VW") or "RATE_OVER" in t))
    print(f"\n{'mart':<42}{'rows':>10}")
    for name in marts:
        rows = con.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]
        print(f"{name:<42}{rows:>10}")
    hist = sorted(t for t in tables if t.endswith("_HIST"))
    if hist:
        versions = sum(con.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in hist)
        print(f"\nHistory: {len(hist)} snapshot tables, {versions} versions")


def views(con) -> set[str]:
    return {
        name.upper()
        for (name,) in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' AND table_type = 'VIEW'"
        ).fetchall()
    }


if __name__ == "__main__":
    os.environ.setdefault("MELTANO_SEND_ANONYMOUS_USAGE_STATS", "false")
    try:
        sys.exit(main())
    except subprocess.CalledProcessError as exc:  # the step's own output says why
        sys.exit(f"demo: `{' '.join(map(str, exc.cmd))}` failed with exit code {exc.returncode}")
