"""`marina-sample-exports`: write sample MOLO/Stellar exports and manifest.json."""

from __future__ import annotations

import argparse
import sys
import time

from marina_common.catalog import SYSTEMS, load_catalog

from .generate import generate
from .relations import describe_relations

SCALE_ROWS = 10_000


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="marina-sample-exports", description=__doc__)
    p.add_argument("out_dir", nargs="?", default="output/samples", help="output folder (default: %(default)s)")
    p.add_argument("--seed", type=int, default=42)
    size = p.add_mutually_exclusive_group()
    size.add_argument("--rows", type=int, help="total rows over all tables of one export (default 5000)")
    size.add_argument("--scale", type=float, help=f"rows = scale x {SCALE_ROWS:,}")
    p.add_argument("--exports", type=int, default=1, help="exports per system, each derived from the previous")
    p.add_argument("--change-rate", type=float, default=0.01, help="fraction of rows updated per export")
    p.add_argument("--insert-rate", type=float, default=0.005, help="fraction of rows added per export")
    p.add_argument("--delete-rate", type=float, default=0.005, help="fraction of rows removed per export")
    p.add_argument(
        "--omit-table",
        action="append",
        default=[],
        metavar="STREAM",
        help="leave this table out of the last export (repeatable), e.g. molo_piers",
    )
    p.add_argument("--systems", default=",".join(SYSTEMS), help="comma list: molo,stellar")
    p.add_argument("--jobs", type=int, default=None, help="processes (one per system; default 2)")
    p.add_argument("--show-relations", action="store_true", help="print the FK/interval mapping and exit")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.show_relations:
        print("\n".join(describe_relations(load_catalog())))
        return 0
    rows = args.rows if args.rows is not None else int((args.scale or 0.5) * SCALE_ROWS)
    systems = [s.strip() for s in args.systems.split(",") if s.strip()]
    if set(systems) - set(SYSTEMS):
        print(f"unknown system in --systems {args.systems!r}", file=sys.stderr)
        return 2
    started = time.perf_counter()
    try:
        manifest = generate(
            args.out_dir,
            seed=args.seed,
            rows=rows,
            exports=args.exports,
            change_rate=args.change_rate,
            omit_tables=args.omit_table,
            systems=systems,
            insert_rate=args.insert_rate,
            delete_rate=args.delete_rate,
            jobs=args.jobs,
        )
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    elapsed = time.perf_counter() - started
    for export in manifest["exports"]:
        present = [t for t in export["tables"].values() if t["present"]]
        n = sum(t["rows"] for t in present)
        print(f"{export['path']}: {len(present)} tables, {n:,} rows")
    print(f"manifest: {args.out_dir}/manifest.json ({elapsed:.1f}s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
