"""Batch mode through the tap: BATCH messages with Parquet files, versions and bookkeeping.

Values in the files are compared with record mode in test_values.py; here, what the tap sends:
one BATCH message per export and table, with the stream version, followed by its
ACTIVATE_VERSION; rejects and audit stay RECORD messages and still reconcile.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import duckdb
from conftest import member_of, row_for, run_tap, write_zip

from tap_marina_s3.run import _remove_empty_folders

T0 = 1_763_300_000


def batch_config(root: Path) -> dict:
    return {"encoding": {"format": "parquet"}, "storage": {"root": root.as_uri()}}


def write_molo(folder: Path, day: int, piers: list[list[str]]) -> str:
    name = f"molo_backup_2025-11-{day:02d}_08-30-00.zip"
    write_zip(folder / "molo" / name, dict([member_of("molo_piers", piers)]), mtime=T0 + day * 86400)
    return name


def test_batch_messages_files_versions_and_rejects(tmp_path):
    piers = [
        row_for("molo_piers", ID="1", NAME="A", MARINA_LOCATION_ID="7"),
        row_for("molo_piers", ID="x2", NAME="bad id"),
        row_for("molo_piers", ID="3", NAME="C"),
    ]
    write_molo(tmp_path, 17, piers)
    config = {
        "molo_path": str(tmp_path / "molo"),
        "stellar_enabled": False,
        "mode": "all",
        "max_reject_ratio": 0.5,
        "batch_config": batch_config(tmp_path / "batches"),
    }
    run = run_tap(config)

    assert not run.of_type("RECORD", "molo_piers")  # rows go in the file, not as RECORDs
    (batch,) = run.of_type("BATCH", "molo_piers")
    (activate,) = run.of_type("ACTIVATE_VERSION", "molo_piers")
    assert batch["version"] == activate["version"]
    assert run.messages.index(batch) < run.messages.index(activate)
    assert batch["encoding"]["format"] == "parquet" and batch["encoding"].get("compression") is None
    (uri,) = batch["manifest"]
    path = Path(uri.removeprefix("file://"))
    assert path.parent.parent == tmp_path / "batches" and path.exists()
    rows = (
        duckdb.connect()
        .execute(
            f"SELECT id, name, marina_location_id, _sdc_row_number, _sdc_source_member "
            f"FROM read_parquet('{path}') ORDER BY _sdc_row_number"
        )
        .fetchall()
    )
    assert rows == [(1, "A", 7, 1, "Piers.csv"), (3, "C", None, 3, "Piers.csv")]

    (reject,) = run.records("marina_rejects")
    assert (reject["table_name"], reject["source_row_number"]) == ("molo_piers", 2)
    assert reject["errors"][0]["column"] == "ID"
    (audit,) = [a for a in run.records("marina_load_audit") if a["table_name"] == "molo_piers"]
    assert (audit["rows_read"], audit["rows_emitted"], audit["rows_rejected"]) == (3, 2, 1)
    # tables missing from the export: no BATCH (nothing to load), no ACTIVATE_VERSION
    assert not run.of_type("BATCH", "molo_slips") and not run.of_type("ACTIVATE_VERSION", "molo_slips")


def test_each_export_is_its_own_batch_and_version(tmp_path):
    write_molo(tmp_path, 17, [row_for("molo_piers", ID="1")])
    write_molo(tmp_path, 18, [row_for("molo_piers", ID="1"), row_for("molo_piers", ID="2")])
    config = {
        "molo_path": str(tmp_path / "molo"),
        "stellar_enabled": False,
        "mode": "all",
        "batch_config": batch_config(tmp_path / "batches"),
    }
    run = run_tap(config)
    sequence = [
        (m["type"], m["version"])
        for m in run.messages
        if m.get("stream") == "molo_piers" and m["type"] in ("BATCH", "ACTIVATE_VERSION")
    ]
    first, second = sorted({v for _, v in sequence})
    # every export's table is activated only once the whole run was read (see test_state)
    assert sequence == [("BATCH", first), ("BATCH", second), ("ACTIVATE_VERSION", first), ("ACTIVATE_VERSION", second)]
    counts = [
        duckdb.connect()
        .execute(f"SELECT count(*) FROM read_parquet('{m['manifest'][0].removeprefix('file://')}')")
        .fetchone()[0]
        for m in run.of_type("BATCH", "molo_piers")
    ]
    assert counts == [1, 2]


def test_other_batch_setups_fall_back_to_the_sdk_batcher(tmp_path):
    """JSON Lines batches are the SDK's own (records written by its batcher): still complete."""
    write_molo(tmp_path, 17, [row_for("molo_piers", ID="1", NAME="A")])
    config = {
        "molo_path": str(tmp_path / "molo"),
        "stellar_enabled": False,
        "batch_config": {"encoding": {"format": "jsonl"}, "storage": {"root": (tmp_path / "b").as_uri()}},
    }
    run = run_tap(config)
    (batch,) = run.of_type("BATCH", "molo_piers")
    assert batch["encoding"]["format"] == "jsonl" and len(batch["manifest"]) == 1


def test_empty_run_folders_of_earlier_runs_are_removed(tmp_path, caplog):
    for name in ("old", "recent", "loading", "orphaned"):
        (tmp_path / name).mkdir()
    for name in ("loading", "orphaned"):
        (tmp_path / name / "table.parquet").write_bytes(b"x")
    for name, age in (("old", 7200), ("loading", 7200), ("orphaned", 2 * 86400)):
        os.utime(tmp_path / name, (time.time() - age,) * 2)
    _remove_empty_folders(tmp_path, older_than=3600)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["loading", "recent"]
    assert "never loaded" in caplog.text
