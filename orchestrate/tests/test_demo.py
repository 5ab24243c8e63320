"""`make demo` starts clean every time: the demo's warehouse folder, the sample exports and the
demo's Meltano state go (so a second demo never merges into the first), the venvs stay. Tested on
scripts/demo.py's own start step with a stand-in `meltano` that records its arguments."""

from __future__ import annotations

import importlib.util
import stat

from conftest import ROOT


def load_demo():
    spec = importlib.util.spec_from_file_location("demo", ROOT / "scripts" / "demo.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_demo_starts_from_a_clean_warehouse_exports_and_state(tmp_path, capsys):
    demo = load_demo()
    demo.ROOT = tmp_path
    demo.WAREHOUSE = tmp_path / "output" / "demo" / "marina.duckdb"
    demo.EXPORTS = tmp_path / "output" / "exports"
    for leftover in (
        demo.WAREHOUSE,
        demo.WAREHOUSE.with_suffix(".duckdb.wal"),
        demo.EXPORTS / "molo" / "molo_backup_2025-11-17_08-30-00.zip",
    ):
        leftover.parent.mkdir(parents=True, exist_ok=True)
        leftover.write_bytes(b"from the previous demo")
    venv = tmp_path / ".venv" / "bin" / "python"
    venv.parent.mkdir(parents=True)
    venv.write_text("kept")
    calls = tmp_path / "calls.txt"
    meltano = tmp_path / "meltano"
    meltano.write_text(f'#!/bin/sh\necho "$*" >> {calls}\n[ "$2" = list ] && echo \'{demo.STATE_ID}\'\nexit 0\n')
    meltano.chmod(meltano.stat().st_mode | stat.S_IEXEC)

    demo.start_clean(str(meltano))

    assert not demo.WAREHOUSE.exists() and not demo.WAREHOUSE.with_suffix(".duckdb.wal").exists()
    assert demo.WAREHOUSE.parent.is_dir() and not (demo.EXPORTS / "molo").exists()
    assert venv.read_text() == "kept"
    assert calls.read_text().splitlines() == [
        f"state list --pattern {demo.STATE_ID}",
        f"state clear --force {demo.STATE_ID}",
    ]
    said = capsys.readouterr().out
    assert said.startswith("Starting clean: removing the demo warehouse output/demo/") and "state" in said
