"""The README's demo: sample exports -> tap -> DuckDB staging -> dbt DW, marts, history, docs.

Runs from the top-level venv: generates exports with the tap's own generator (inside the tap's
plugin venv), runs `meltano run tap-marina-s3 target-duckdb dbt:run dbt:snapshot marina-ops:report`
(DW tables, marts and SCD2 history; the run summary from DW_ETL_RUN_LOG), prints per table the rows
in STG_* and in DW_* (and how many DW rows are marked deleted) and the marts' row counts, and
generates the dbt docs site (lineage), printing its path.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parent.parent
TAP_BIN = ROOT / ".meltano/extractors/tap-marina-s3/venv/bin"


def run(cmd: list[str], **kw) -> None:
    print("$", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True, cwd=ROOT, **kw)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=20000, help="rows per export, all tables")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    exports = ROOT / "output" / "exports"
    run([str(TAP_BIN / "marina-sample-exports"), str(exports), "--rows", str(args.rows),
         "--seed", str(args.seed)])
    meltano = str(Path(sys.executable).parent / "meltano")
    # --full-refresh: load the exports just written even if an earlier demo loaded exports
    # with the same names (the generator is deterministic).
    run([meltano, "run", "--full-refresh", "tap-marina-s3", "target-duckdb", "dbt:run", "dbt:snapshot",
         "marina-ops:report"])
    print_counts(ROOT / "output" / "marina.duckdb")
    docs = ROOT / "output" / "docs"
    run([meltano, "invoke", "dbt:docs-generate", "--target-path", str(docs)])
    print(f"\nLineage docs: {docs / 'index.html'}  (serve them: .venv/bin/meltano invoke dbt:docs-serve "
          f"--target-path {docs})")
    return 0


def print_counts(path: Path) -> None:
    con = duckdb.connect(str(path), read_only=True)
    tables = {name.upper() for (name,) in con.execute(
        "SELECT table_name FROM information_schema.tables "
        "WHERE table_schema = 'main' AND table_type = 'BASE TABLE'").fetchall()}
    # STG_<SYSTEM>_<TABLE> are the loader's tables (dbt's staging views are STG_<SYSTEM>__<TABLE>)
    stg = sorted(t for t in tables if t.startswith("STG_") and "__" not in t)
    print(f"\n{'table':<42}{'STG rows':>10}{'DW rows':>10}{'deleted':>9}")
    totals = [0, 0, 0]
    for name in stg:
        suffix = name[len("STG_"):]
        stg_rows = con.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]
        dw_rows = deleted = None
        if f"DW_{suffix}" in tables:
            dw_rows, deleted = con.execute(
                f'SELECT count(*), count(*) FILTER (WHERE "DW_IS_DELETED" = 1) FROM "DW_{suffix}"'
            ).fetchone()
        print(f"{suffix:<42}{stg_rows:>10}{'' if dw_rows is None else dw_rows:>10}"
              f"{'' if deleted is None else deleted:>9}")
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
    print(f"\nWarehouse: {path}")


def views(con) -> set[str]:
    return {name.upper() for (name,) in con.execute(
        "SELECT table_name FROM information_schema.tables "
        "WHERE table_schema = 'main' AND table_type = 'VIEW'").fetchall()}


if __name__ == "__main__":
    os.environ.setdefault("MELTANO_SEND_ANONYMOUS_USAGE_STATS", "false")
    sys.exit(main())
