"""Orchestration: N exports per system, each derived from the previous one, plus manifest.json.

Manifest (`<out_dir>/manifest.json`)::

    {"seed": 42, "rows": 5000, "change_rate": 0.01, "insert_rate": 0.005, "delete_rate": 0.005,
     "systems": ["molo", "stellar"],
     "exports": [
       {"system": "molo", "version": 1, "path": "molo/molo_backup_2025-11-17_08-30-00.zip",
        "exported_at": "2025-11-17T08:30:00",
        "tables": {"molo_slips": {"source_file": "Slips.csv", "present": true, "rows": 27}, ...}},
       {"system": "molo", "version": 2, ...,
        "tables": {"molo_slips": {"source_file": "Slips.csv", "present": true, "rows": 27,
                                  "inserted": ["28"], "updated": ["5"], "deleted": ["10"],
                                  "unchanged_count": 25, "update_kinds": {"value_change": 1}}}}]}

Keys are canonical record_key strings (design.md §4). `version` orders the exports of one system.
A table left out with `omit_tables` (from the last export only) has `"present": false`.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from functools import lru_cache
from graphlib import TopologicalSorter
from pathlib import Path
from random import Random

from marina_common.catalog import SYSTEMS, Table, load_catalog

from .model import TableModel, seeded
from .relations import foreign_keys, plan_counts
from .state import Plan, TableState
from .writers import WRITERS

START = {"molo": dt.datetime(2025, 11, 17, 8, 30, 0), "stellar": dt.datetime(2025, 11, 17, 9, 52, 0)}
STEP = dt.timedelta(days=1)
PATTERN = {
    "molo": "molo/molo_backup_{:%Y-%m-%d_%H-%M-%S}.zip",
    "stellar": "stellar/prod_resilient_{:%Y-%m-%d_%H_%M}-DATA.sql.gz",
}
STALE = {"molo": "molo/molo_backup_*.zip", "stellar": "stellar/prod_resilient_*-DATA.sql.gz"}


def generate(
    out_dir: str | Path,
    *,
    seed: int = 42,
    rows: int = 5000,
    exports: int = 1,
    change_rate: float = 0.01,
    omit_tables: Iterable[str] = (),
    systems: Iterable[str] = SYSTEMS,
    insert_rate: float = 0.005,
    delete_rate: float = 0.005,
    jobs: int | None = None,
) -> dict:
    """Write the sample exports and manifest.json under out_dir; returns the manifest."""
    out = Path(out_dir)
    systems = tuple(s for s in SYSTEMS if s in set(systems))
    omit = set(omit_tables)
    tables = tuple(t for t in load_catalog() if t.system in systems)
    unknown = omit - {t.stream for t in tables}
    if not systems or unknown or exports < 1:
        raise ValueError(f"bad arguments: systems={systems}, unknown omit_tables={sorted(unknown)}, exports={exports}")
    counts = plan_counts(tables, rows)
    args = [(s, out, seed, counts, exports, (change_rate, insert_rate, delete_rate), omit) for s in systems]
    for system in systems:
        (out / system).mkdir(parents=True, exist_ok=True)
        for stale in out.glob(STALE[system]):  # an older, later-dated archive would win in the tap
            stale.unlink()
    if (jobs or len(systems)) > 1 and len(systems) > 1:
        with ProcessPoolExecutor(max_workers=min(jobs or 2, len(systems))) as pool:
            results = list(pool.map(_run_system, *zip(*args)))
    else:
        results = [_run_system(*a) for a in args]
    manifest = {
        "seed": seed,
        "rows": rows,
        "change_rate": change_rate,
        "insert_rate": insert_rate,
        "delete_rate": delete_rate,
        "systems": list(systems),
        "exports": sorted((e for r in results for e in r), key=lambda e: e["exported_at"]),
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    return manifest


@lru_cache(maxsize=4)
def _models(system: str, seed: int) -> tuple[tuple[Table, ...], dict, dict[str, TableModel]]:
    """Compiled tables of one system (pure function of catalog and seed, so cached)."""
    tables = tuple(t for t in load_catalog() if t.system == system)
    fks = foreign_keys(tables)
    models = {t.stream: TableModel(t, {c: p for (s, c), p in fks.items() if s == t.stream}, seed) for t in tables}
    return tables, fks, models


def _topo(tables: tuple[Table, ...], fks: dict[tuple[str, str], str]) -> list[str]:
    graph = {t.stream: set() for t in tables}
    for (child, _), parent in fks.items():
        if parent != child:
            graph[child].add(parent)
    return list(TopologicalSorter(graph).static_order())


def _change_rng(seed: int, export: int, stream: str) -> Random:
    return seeded(seed, stream, "changes", export)


def _plan_changes(states, order, parents, skip, plans, rng_for, rates) -> dict[str, list[str]]:
    """Plan each table's inserts, updates and deletes for the next export (into `plans`), parents
    first; returns the key domains the children draw their foreign keys from."""
    domains: dict[str, list[str]] = {}
    for stream in order:
        if stream in parents:
            domains[stream] = states[stream].stable_keys()
        if stream in skip:  # omitted from this export: no changes
            continue
        plans[stream] = states[stream].plan(rng_for(stream), domains, *rates)
        if stream in parents:
            domains[stream] = states[stream].stable_keys()
    return domains


def _run_system(
    system: str,
    out: Path,
    seed: int,
    counts: dict[str, int],
    exports: int,
    rates: tuple[float, float, float],
    omit: set[str],
) -> list[dict]:
    tables, fks, models = _models(system, seed)
    parents = set(fks.values())
    states: dict[str, TableState] = {}
    base: dict[str, list[str]] = {}
    order = _topo(tables, fks)
    for stream in order:
        states[stream] = TableState(models[stream], counts[stream], stream in parents, base)
        if stream in parents:
            base[stream] = states[stream].stable_keys()
    entries = []
    for e in range(exports):
        when = START[system] + e * STEP
        skip = omit if e == exports - 1 else set()
        plans: dict[str, Plan] = {}
        domains = (
            _plan_changes(states, order, parents, skip, plans, functools.partial(_change_rng, seed, e), rates)
            if e
            else base
        )
        rel = PATTERN[system].format(when)
        archive = WRITERS[system](out / rel, when)
        report = {}
        try:
            for table in tables:
                report[table.stream] = entry = {"source_file": table.source_file, "present": table.stream not in skip}
                if table.stream in skip:
                    continue
                state, plan = states[table.stream], plans.get(table.stream)
                with archive.member(table.source_file) as writer:
                    res = state.write(writer, base, domains, plan, seeded(seed, table.stream, "update", e))
                entry["rows"] = res.rows
                if e:
                    inserted = [state.record_key(o) for o in plan.inserted]
                    entry.update(
                        inserted=inserted,
                        updated=res.updated,
                        deleted=[state.record_key(o) for o in plan.deleted],
                        unchanged_count=res.rows - len(inserted) - len(res.updated),
                        update_kinds=res.kinds,
                    )
        finally:
            archive.close()
        entries.append(
            {"system": system, "version": e + 1, "path": rel, "exported_at": when.isoformat(), "tables": report}
        )
    return entries
