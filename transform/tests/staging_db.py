"""Test helper: a DuckDB file with the loader's STG_* tables, filled the way the loader would.

Tables and types come from the catalog (marina_common); the DuckDB types are the loader's
(design.md §1), written here independently, as is SDC_ROW_HASH (design.md §4).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from decimal import Decimal
from pathlib import Path

import duckdb

from marina_common.catalog import AUDIT, LINEAGE, LOADER, REJECTS, load_catalog

CATALOG = {t.stream: t for t in load_catalog()}
LINEAGE_COLUMNS = (*LINEAGE, *LOADER)
_DUCKDB_TYPES = {
    "integer": "BIGINT",
    "double": "DOUBLE",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
    "text": "VARCHAR",
    "json": "VARCHAR",
    "list": "VARCHAR",
    "boolean": "BOOLEAN",
}


def duckdb_type(column) -> str:
    """The loader's DuckDB type of a catalog or bookkeeping column."""
    if getattr(column, "precision_scale", None):
        return "DECIMAL({},{})".format(*column.precision_scale)
    return _DUCKDB_TYPES[column.kind]


def canonical_text(value, oracle_type: str):
    """Canonical text of one typed value (design.md §4); None stays None (JSON null)."""
    if value is None:
        return None
    base = oracle_type.split("(", maxsplit=1)[0].strip().upper()
    if base == "NUMBER":
        scale = int(oracle_type.split(",")[1].rstrip(")")) if "," in oracle_type else 0
        if scale == 0:
            return str(int(value))
        return str(Decimal(str(value)).quantize(Decimal(1).scaleb(-scale)))
    if base == "BINARY_DOUBLE":
        return repr(float(value))
    if base == "DATE":
        return value.isoformat()
    if base == "TIMESTAMP":
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")
    return str(value)


def row_hash(stream: str, row: dict) -> str:
    cols = CATALOG[stream].columns
    texts = [canonical_text(row.get(c.name), c.oracle_type) for c in cols]
    return hashlib.md5(json.dumps(texts, ensure_ascii=False, separators=(",", ":")).encode("utf-8")).hexdigest()


def record_key(stream: str, row: dict) -> str:
    t = CATALOG[stream]
    return "|".join(canonical_text(row[k], t.column(k).oracle_type) for k in t.primary_key)


def dw_id(stream: str, row: dict) -> str:
    t = CATALOG[stream]
    return hashlib.md5(f"{t.system}|{t.name}|{record_key(stream, row)}".encode()).hexdigest()


def create_all(path: Path) -> None:
    """All 79 staging tables + rejects + audit, empty (as after the loader's SCHEMA messages)."""
    con = duckdb.connect(str(path))
    try:
        for t in CATALOG.values():
            cols = [f'"{c.name}" {duckdb_type(c)}' for c in (*t.columns, *LINEAGE_COLUMNS)]
            con.execute(f"create table main.{t.staging_table} ({', '.join(cols)})")
        for side in (REJECTS, AUDIT):
            cols = ", ".join(f"{c.name} {duckdb_type(c)}" for c in side.columns)
            con.execute(f"create table main.{side.staging_table} ({cols})")
    finally:
        con.close()


def load_export(
    path: Path,
    stream: str,
    source_key: str,
    rows: list[dict],
    rejected: list[dict] = (),
    run_id: str = "run",
    audit_rows_emitted: int | None = None,
) -> None:
    """Replace the staging snapshot of `stream` by one complete export (as ACTIVATE_VERSION does),
    append its rejects and a completed audit row. rows: business values keyed by column name, in
    file order (SDC_ROW_NUMBER = position); rejected: key values of rows the tap rejected;
    audit_rows_emitted: a wrong count for reconciliation tests."""
    t = CATALOG[stream]
    exported = dt.datetime(2025, 1, 1) + dt.timedelta(hours=len(source_key))
    names = [c.name for c in t.columns]
    con = duckdb.connect(str(path))
    try:
        con.execute("begin")
        con.execute(f"delete from main.{t.staging_table}")
        # inserted in reverse file order, so that "last row wins" cannot rely on physical order
        for i, row in reversed(list(enumerate(rows, start=1))):
            values = [row.get(n) for n in names] + [
                source_key,
                t.source_file,
                i,
                exported,
                None,
                row_hash(stream, row),
                1,
                dt.datetime.now(),
            ]
            cols = ", ".join([f'"{n}"' for n in names] + [c.name for c in LINEAGE_COLUMNS])
            con.execute(f"insert into main.{t.staging_table} ({cols}) values ({', '.join('?' * len(values))})", values)
        for j, rej in enumerate(rejected, start=len(rows) + 1):
            con.execute(
                "insert into main.STG_MARINA_REJECTS values (?,?,?,?,?,?,?,?,?,?,?)",
                [
                    run_id,
                    t.system,
                    stream,
                    source_key,
                    t.source_file,
                    j,
                    exported,
                    record_key(stream, rej),
                    "{}",
                    "[]",
                    dt.datetime.now(),
                ],
            )
        audit = {
            "RUN_ID": run_id,
            "SYSTEM": t.system,
            "TABLE_NAME": stream,
            "SOURCE_KEY": source_key,
            "SOURCE_MEMBER": t.source_file,
            "EXPORTED_AT": exported,
            "PRESENT": True,
            "COMPLETED": True,
            "ROWS_READ": len(rows) + len(rejected),
            "ROWS_COUNTED": len(rows) + len(rejected),
            "ROWS_EMITTED": len(rows) if audit_rows_emitted is None else audit_rows_emitted,
            "ROWS_REJECTED": len(rejected),
            "ROWS_DECODED_CP1252": 0,
            "BYTES_READ": 1000,
            "MISSING_COLUMNS": "[]",
            "EXTRA_COLUMNS": "[]",
            "STARTED_AT": exported,
            "FINISHED_AT": exported + dt.timedelta(seconds=5),
            "TABLE_VERSION": 1,
        }
        con.execute(
            f"insert into main.STG_MARINA_LOAD_AUDIT ({', '.join(audit)}) values ({', '.join('?' * len(audit))})",
            list(audit.values()),
        )
        con.execute("commit")
    finally:
        con.close()


def query(path: Path, sql: str) -> list[dict]:
    con = duckdb.connect(str(path), config={})
    try:
        cur = con.execute(sql)
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r)) for r in cur.fetchall()]
    finally:
        con.close()
