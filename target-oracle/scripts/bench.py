"""Measure the loader's records/s into DuckDB on a synthetic 40-column table stream.

    .venv/bin/python scripts/bench.py [ROWS]

Writes a Singer file (SCHEMA, RECORDs with version, ACTIVATE_VERSION) under a temp dir, then
runs the target in-process on it and reports wall and CPU time. The column mix follows the
catalog (NUMBER(10,0), NVARCHAR2, NUMBER(10,2), TIMESTAMP, NUMBER(1,0), BINARY_DOUBLE, DATE,
lineage columns).
"""

from __future__ import annotations

import json
import random
import sys
import tempfile
import time
from pathlib import Path

from target_oracle.target import TargetOracle

KINDS = (
    [("int", {"type": ["integer", "null"], "x-sql-datatype": "NUMBER(10,0)"})] * 9
    + [("str", {"type": ["string", "null"], "maxLength": 1000})] * 9
    + [("dec", {"type": ["number", "null"], "multipleOf": 0.01, "x-sql-datatype": "NUMBER(10,2)"})] * 7
    + [("ts", {"type": ["string", "null"], "format": "date-time"})] * 4
    + [("flag", {"type": ["integer", "null"], "x-sql-datatype": "NUMBER(1,0)"})] * 2
    + [("dbl", {"type": ["number", "null"]})] * 1
    + [("date", {"type": ["string", "null"], "format": "date"})] * 1
)
LINEAGE = {
    "_sdc_source_key": {"type": ["string", "null"]},
    "_sdc_source_member": {"type": ["string", "null"]},
    "_sdc_row_number": {"type": ["integer", "null"]},
    "_sdc_exported_at": {"type": ["string", "null"], "format": "date-time"},
    "_sdc_extra": {"type": ["object", "null"]},
    "_sdc_row_hash": {"type": ["string", "null"]},
}


def value(kind: str, i: int, rnd: random.Random) -> object:
    if rnd.random() < 0.1:
        return None
    return {
        "int": lambda: rnd.randint(0, 10**9),
        "str": lambda: f"text {i} " + "x" * rnd.randint(0, 30),
        "dec": lambda: json.loads(f"{rnd.randint(0, 10**7)}.{rnd.randint(0, 99):02d}"),
        "ts": lambda: f"2024-0{rnd.randint(1, 9)}-1{rnd.randint(0, 9)}T1{rnd.randint(0, 9)}:2{rnd.randint(0, 9)}:00",
        "flag": lambda: rnd.randint(0, 1),
        "dbl": lambda: rnd.random() * 100,
        "date": lambda: f"2023-1{rnd.randint(0, 2)}-0{rnd.randint(1, 9)}",
    }[kind]()


def write_stream(path: Path, rows: int) -> None:
    rnd = random.Random(1)
    props = {f"col_{n:02d}_{kind}": schema for n, (kind, schema) in enumerate(KINDS)}
    props.update(LINEAGE)
    version = 1_700_000_000_000
    with path.open("w") as out:
        out.write(
            json.dumps(
                {
                    "type": "SCHEMA",
                    "stream": "molo_bench",
                    "key_properties": ["col_00_int"],
                    "schema": {"type": "object", "properties": props},
                }
            )
            + "\n"
        )
        for i in range(rows):
            rec = {f"col_{n:02d}_{kind}": value(kind, i, rnd) for n, (kind, _) in enumerate(KINDS)}
            rec.update(
                {
                    "_sdc_source_key": "exports/molo/2024-01-01.zip",
                    "_sdc_source_member": "Bench.csv",
                    "_sdc_row_number": i + 1,
                    "_sdc_exported_at": "2024-01-01T00:00:00",
                    "_sdc_extra": None,
                    "_sdc_row_hash": "0123456789abcdef0123456789abcdef",
                }
            )
            out.write(json.dumps({"type": "RECORD", "stream": "molo_bench", "record": rec, "version": version}) + "\n")
        out.write(json.dumps({"type": "ACTIVATE_VERSION", "stream": "molo_bench", "version": version}) + "\n")
        out.write(json.dumps({"type": "STATE", "value": {"done": True}}) + "\n")


def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 300_000
    with tempfile.TemporaryDirectory() as tmp:
        stream = Path(tmp) / "bench.singer"
        write_stream(stream, rows)
        size_mb = stream.stat().st_size / 1e6
        cpu = time.process_time()
        with stream.open() as fh:
            for line in fh:
                json.loads(line)
        parse_cpu = time.process_time() - cpu
        target = TargetOracle(config={"sqlalchemy_url": f"duckdb:///{tmp}/bench.duckdb"})
        start, cpu = time.perf_counter(), time.process_time()
        with stream.open() as fh:  # text lines, as singer-sdk reads stdin
            target.listen(fh)
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu
        print(
            f"{rows} records x {len(KINDS) + len(LINEAGE)} columns ({size_mb:.0f} MB): "
            f"{wall:.1f} s wall, {cpu:.1f} s CPU -> {rows / wall:,.0f} records/s "
            f"(for scale: stdlib json.loads of the same lines alone takes {parse_cpu:.1f} s CPU)",
            file=sys.stderr,
        )


if __name__ == "__main__":
    main()
