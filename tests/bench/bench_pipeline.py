"""Benchmark: the whole pipeline on the generator's ~700K-row export pair, then a second export
with ~1% changed rows. Times each stage (tap, loader, dbt) and reports peak memory.

The tap and the loader run as the Meltano plugins' executables, piped together exactly as
`meltano run` pipes them, in batch mode as meltano.yml sets it (`--records`: RECORD messages);
dbt runs through `meltano invoke dbt:run`. State is carried from the
first load to the second, as Meltano would.

    .venv/bin/python tests/bench/bench_pipeline.py [--rows 700000]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import tempfile
from pathlib import Path

from common import MELTANO, ROOT, TAP_BIN, TARGET_BIN, Watch, env, exports, machine, tap_config


def publish(source: Path, live: Path, manifest: dict, version: int) -> None:
    for export in manifest["exports"]:
        if export["version"] == version:
            target = live / export["path"]
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source / export["path"], target)


def load(live: Path, work: Path, warehouse: Path, state: dict | None, batch: bool) -> tuple[dict, dict | None]:
    # batch mode as meltano.yml configures it (Parquet files under a local root), or RECORDs
    extra = (
        {"batch_config": {"encoding": {"format": "parquet"}, "storage": {"root": (work / "batches").as_uri()}}}
        if batch
        else {}
    )
    config = tap_config(live, work / "tap.json", **extra)
    (work / "target.json").write_text(json.dumps({"duckdb_path": str(warehouse)}))
    tap_cmd = [str(TAP_BIN / "tap-marina-s3"), "--config", str(config)]
    if state:
        (work / "state.json").write_text(json.dumps(state))
        tap_cmd += ["--state", str(work / "state.json")]
    tap = subprocess.Popen(tap_cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env())
    target = subprocess.Popen(
        [str(TARGET_BIN / "target-oracle"), "--config", str(work / "target.json")],
        stdin=tap.stdout,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env(),
    )
    tap.stdout.close()
    tap_watch, target_watch = Watch(tap), Watch(target)
    out, _ = target.communicate()
    tap.wait()
    tap_usage, target_usage = tap_watch.stop(), target_watch.stop()
    if tap.returncode or target.returncode:
        raise SystemExit(f"load failed: tap {tap.returncode}, target {target.returncode}")
    states = [json.loads(line)["value"] for line in out.decode().splitlines() if '"STATE"' in line]
    return {
        "tap_seconds": round(tap_usage.wall, 1),
        "tap_cpu": round(tap_usage.cpu, 1),
        "tap_peak_mb": round(tap_usage.peak_rss_mb),
        "loader_seconds": round(target_usage.wall, 1),
        "loader_cpu": round(target_usage.cpu, 1),
        "loader_peak_mb": round(target_usage.peak_rss_mb),
    }, (states[-1] if states else state)


def dbt(warehouse: Path) -> dict:
    proc = subprocess.Popen(
        [str(MELTANO), "invoke", "dbt:run"],
        cwd=ROOT,
        env={**env(), "MARINA_DUCKDB_PATH": str(warehouse)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    watch = Watch(proc)
    proc.wait()
    usage = watch.stop()
    if proc.returncode:
        raise SystemExit("dbt run failed")
    return {"dbt_seconds": round(usage.wall, 1), "dbt_peak_mb": round(usage.peak_rss_mb)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=700_000)
    parser.add_argument("--records", action="store_true", help="RECORD messages instead of meltano.yml's batch mode")
    args = parser.parse_args()
    source, manifest = exports(args.rows, count=2)
    results: dict = {
        "machine": machine(),
        "rows_per_export": args.rows,
        "mode": "records" if args.records else "batch (Parquet)",
    }
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        live, warehouse, state = work / "live", work / "marina.duckdb", None
        for version, label in ((1, "first_load"), (2, "second_load_1pct_changes")):
            publish(source, live, manifest, version)
            stage, state = load(live, work, warehouse, state, batch=not args.records)
            stage.update(dbt(warehouse))
            stage["end_to_end_seconds"] = round(
                max(stage["tap_seconds"], stage["loader_seconds"]) + stage["dbt_seconds"], 1
            )
            results[label] = stage
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
