"""Benchmark: the tap alone, in record mode, on a realistic export pair (~700K rows in all).

Reports records/s, MB/s (uncompressed CSV read), CPU time and peak RSS; with --scale-check it
also runs an export 4x larger and reports whether peak memory grew.

    .venv/bin/python tests/bench/bench_tap.py [--rows 700000] [--scale-check] [--typing-columns N]
"""

from __future__ import annotations

import argparse
import collections
import json
import subprocess
import tempfile
from pathlib import Path

from common import TAP_BIN, Watch, env, exports, machine, tap_config


def run_tap(rows: int, settings: dict) -> dict:
    folder, manifest = exports(rows)
    with tempfile.TemporaryDirectory() as tmp:
        config = tap_config(folder, Path(tmp) / "config.json", **settings)
        proc = subprocess.Popen(
            [str(TAP_BIN / "tap-marina-s3"), "--config", str(config)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env(),
        )
        watch = Watch(proc)
        marker = b'"type":"RECORD"'
        records = 0
        csv_bytes = 0
        last = collections.deque(maxlen=4)  # the last 4 MB: the audit records are at the end
        edge = b""
        for chunk in iter(lambda: proc.stdout.read(1 << 20), b""):
            # count markers in the new bytes, including one that straddles the chunk boundary
            records += (edge + chunk).count(marker)
            edge = chunk[-(len(marker) - 1) :]
            last.append(chunk)
        tail = b"".join(last)
        proc.wait()
        usage = watch.stop()
    if proc.returncode:
        raise SystemExit(f"tap failed with exit code {proc.returncode}")
    for line in tail.decode("utf-8", "replace").splitlines():
        if '"stream":"marina_load_audit"' in line and '"type":"RECORD"' in line:
            csv_bytes += json.loads(line)["record"]["bytes_read"]
    table_rows = sum(t.get("rows", 0) for e in manifest["exports"] for t in e["tables"].values())
    audit_rows = sum(
        1
        for line in tail.decode("utf-8", "replace").splitlines()
        if '"stream":"marina_load_audit"' in line and '"type":"RECORD"' in line
    )
    if records - audit_rows != table_rows:
        raise SystemExit(f"records ({records - audit_rows}) != rows in the export ({table_rows})")
    return {
        "rows_in_export": table_rows,
        "records": records,
        "seconds": round(usage.wall, 1),
        "cpu_seconds": round(usage.cpu, 1),
        "records_per_s": round(records / usage.wall),
        "csv_mb_per_s": round(csv_bytes / 2**20 / usage.wall, 1),
        "peak_rss_mb": round(usage.peak_rss_mb),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=700_000)
    parser.add_argument("--scale-check", action="store_true", help="also run 4x the rows")
    parser.add_argument(
        "--typing-columns", type=int, help="the tap's setting typing_columns (default: the tap's default)"
    )
    args = parser.parse_args()
    settings = {"typing_columns": args.typing_columns} if args.typing_columns else {}
    results = {"machine": machine(), **settings, "tap": run_tap(args.rows, settings)}
    if args.scale_check:
        results["tap_4x"] = run_tap(args.rows * 4, settings)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
