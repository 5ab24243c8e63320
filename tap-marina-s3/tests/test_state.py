"""Which exports a run loads (local folder), and what the state remembers."""

from __future__ import annotations

import datetime as dt
import logging
import os
import time
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import TABLES, csv_bytes, header_of, loaded_keys, row_for, run_tap, select_catalog, write_targz, write_zip

DAY = 86_400
T0 = 1_751_000_000
TEXT = next(c for c in TABLES["molo_slips"].columns if c.kind == "text")  # marks the export in a row


def molo_name(day: int) -> str:
    return f"molo_backup_2025-07-{day:02d}_08-00-00.zip"


def stellar_name(day: int) -> str:
    return f"prod_resilient_2025-07-{day:02d}_09_00-DATA.sql.gz"


def version_of(day: int, hour: int) -> int:
    """Table version = the export's timestamp (from its name) in ms since the epoch."""
    return int(dt.datetime(2025, 7, day, hour, tzinfo=dt.UTC).timestamp() * 1000)


def add_molo(folder: Path, day: int, rows: int = 3) -> str:
    slips = [row_for("molo_slips", ID=str(i), **{TEXT.name: f"day{day}"}) for i in range(1, rows + 1)]
    piers = [row_for("molo_piers", ID=str(day))]
    write_zip(
        folder / "molo" / molo_name(day),
        {
            "Slips.csv": csv_bytes(header_of("molo_slips"), slips, "\r\n"),
            "Piers.csv": csv_bytes(header_of("molo_piers"), piers, "\r\n"),
        },
        mtime=T0 + day * DAY,
    )
    return molo_name(day)


def add_stellar(folder: Path, day: int) -> str:
    rows = [row_for("stellar_holidays", LOCATION_ID=str(day), HOLIDAY_DATE=f"2025-07-{day:02d}")]
    write_targz(
        folder / "stellar" / stellar_name(day),
        {"data/holidays.csv": csv_bytes(header_of("stellar_holidays"), rows)},
        mtime=T0 + day * DAY + 3600,
    )
    return stellar_name(day)


def cfg(folder: Path, **extra) -> dict:
    return {"molo_path": str(folder / "molo"), "stellar_path": str(folder / "stellar"), **extra}


def days_of(run, stream: str = "molo_slips") -> list[str]:
    return [r[TEXT.property_name] for r in run.records(stream)]


@pytest.fixture
def three_exports(tmp_path):
    for day in (1, 2, 3):
        add_molo(tmp_path, day)
    for day in (1, 2):
        add_stellar(tmp_path, day)
    return tmp_path


def test_latest_loads_only_the_newest_export(three_exports):
    run = run_tap(cfg(three_exports))
    assert days_of(run) == ["day3"] * 3
    assert {r["_sdc_source_key"] for r in run.records("molo_piers")} == {molo_name(3)}
    assert [r["location_id"] for r in run.records("stellar_holidays")] == [2]
    assert loaded_keys(run.state, "molo") == [molo_name(3)]
    assert loaded_keys(run.state, "stellar") == [stellar_name(2)]
    for stream, version in (("molo_slips", version_of(3, 8)), ("stellar_holidays", version_of(2, 9))):
        assert {m["version"] for m in run.of_type("RECORD", stream)} == {version}
        assert [m["version"] for m in run.of_type("ACTIVATE_VERSION", stream)] == [version]
    entry = run.state["bookmarks"]["marina_load_audit"]["loaded_exports"]["molo"][0]
    path = three_exports / "molo" / molo_name(3)
    assert entry["size"] == path.stat().st_size and entry["etag"]
    assert entry["last_modified"].startswith(
        dt.datetime.fromtimestamp(T0 + 3 * DAY, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")
    )


def test_every_table_is_activated_together_after_the_last_table_was_read(three_exports):
    """The loader swaps the staging tables at the STATE after their ACTIVATE_VERSIONs, in one
    transaction: so they must come after every table's rows, together, then that STATE."""
    run = run_tap(cfg(three_exports))
    kinds = [m["type"] for m in run.messages]
    activations = [i for i, kind in enumerate(kinds) if kind == "ACTIVATE_VERSION"]
    assert [run.messages[i]["stream"] for i in activations] == ["molo_slips", "molo_piers", "stellar_holidays"]
    assert activations == list(range(activations[0], activations[-1] + 1))
    last_row = max(
        i
        for i, m in enumerate(run.messages)
        if m["type"] == "RECORD" and m["stream"] in ("molo_slips", "molo_piers", "stellar_holidays")
    )
    assert last_row < activations[0]
    assert "STATE" in kinds[activations[-1] :]


def test_all_loads_every_export_oldest_first_each_as_its_own_version(three_exports):
    run = run_tap(cfg(three_exports, mode="all"))
    assert loaded_keys(run.state, "molo") == [molo_name(d) for d in (1, 2, 3)]
    assert loaded_keys(run.state, "stellar") == [stellar_name(d) for d in (1, 2)]
    for stream, days, hour in (
        ("molo_slips", (1, 2, 3), 8),
        ("molo_piers", (1, 2, 3), 8),
        ("stellar_holidays", (1, 2), 9),
    ):
        sequence = [
            (m["type"], m["version"])
            for m in run.messages
            if m.get("stream") == stream and m["type"] in ("RECORD", "ACTIVATE_VERSION")
        ]
        n = 3 if stream == "molo_slips" else 1
        expected = [("RECORD", version_of(day, hour)) for day in days for _ in range(n)]
        expected += [("ACTIVATE_VERSION", version_of(day, hour)) for day in days]
        assert sequence == expected, stream
    assert days_of(run) == ["day1"] * 3 + ["day2"] * 3 + ["day3"] * 3
    audits = run.audit("molo_slips")
    assert [a["source_key"] for a in audits] == [molo_name(d) for d in (1, 2, 3)]
    assert [a["table_version"] for a in audits] == [version_of(d, 8) for d in (1, 2, 3)]
    assert len({a["run_id"] for a in run.records("marina_load_audit")}) == 1


def test_second_run_finds_nothing_new_then_picks_up_a_new_export(three_exports, caplog):
    first = run_tap(cfg(three_exports, mode="all"))
    started = time.monotonic()
    second = run_tap(cfg(three_exports, mode="all"), state=first.state)
    elapsed = time.monotonic() - started
    assert second.of_type("RECORD") == []
    assert second.of_type("ACTIVATE_VERSION") == []
    assert elapsed < 10, elapsed  # nothing is opened or read
    for system in ("molo", "stellar"):
        assert loaded_keys(second.state, system) == loaded_keys(first.state, system)

    add_molo(three_exports, 4, rows=2)
    caplog.set_level(logging.INFO)
    third = run_tap(cfg(three_exports), state=second.state)
    assert days_of(third) == ["day4"] * 2
    assert third.records("stellar_holidays") == []
    assert loaded_keys(third.state, "molo") == [molo_name(d) for d in (1, 2, 3, 4)]
    assert loaded_keys(third.state, "stellar") == loaded_keys(first.state, "stellar")
    assert any("molo: 4 export(s) found, 1 to load" in r.getMessage() for r in caplog.records)


def test_exports_older_than_the_newest_loaded_are_not_loaded(three_exports, caplog):
    first = run_tap(cfg(three_exports))  # latest: day 3 only
    caplog.set_level(logging.INFO)
    second = run_tap(cfg(three_exports, mode="all"), state=first.state)
    assert second.records("molo_slips") == []  # days 1 and 2 are older than day 3: never loaded
    assert loaded_keys(second.state, "molo") == [molo_name(3)]
    skipped = [r.getMessage() for r in caplog.records if "older than the newest one" in r.getMessage()]
    assert skipped and molo_name(1) in skipped[0] and molo_name(2) in skipped[0]
    assert molo_name(3) not in skipped[0]
    # an export that arrives late but is dated before the loaded one is not loaded either
    late = add_molo(three_exports, 0)
    path = three_exports / "molo" / late
    os.utime(path, (T0, T0))
    third = run_tap(cfg(three_exports, mode="all"), state=second.state)
    assert third.records("molo_slips") == []


def test_same_key_with_new_content_is_loaded_again(three_exports):
    first = run_tap(cfg(three_exports))
    add_molo(three_exports, 3, rows=5)  # the vendor re-sends day 3, now with 5 rows
    second = run_tap(cfg(three_exports), state=first.state)
    assert days_of(second) == ["day3"] * 5
    assert loaded_keys(second.state, "molo") == [molo_name(3), molo_name(3)]


def test_molo_disabled_runs_stellar_only(three_exports):
    first = run_tap(cfg(three_exports, molo_enabled=False))
    assert not any(m["stream"].startswith("molo_") for m in first.of_type("RECORD"))
    assert not any(m["stream"].startswith("molo_") for m in first.of_type("ACTIVATE_VERSION"))
    assert {a["system"] for a in first.records("marina_load_audit")} == {"stellar"}
    assert loaded_keys(first.state, "molo") == []
    assert loaded_keys(first.state, "stellar") == [stellar_name(2)]
    # MOLO switched back on: its newest export loads, Stellar has nothing new
    second = run_tap(cfg(three_exports), state=first.state)
    assert days_of(second) == ["day3"] * 3 and second.records("stellar_holidays") == []
    assert loaded_keys(second.state, "stellar") == [stellar_name(2)]


def test_stellar_disabled_runs_molo_only(three_exports):
    run = run_tap(cfg(three_exports, stellar_enabled=False))
    assert not any(m["stream"].startswith("stellar_") for m in run.of_type("RECORD"))
    assert {a["system"] for a in run.records("marina_load_audit")} == {"molo"}
    assert loaded_keys(run.state, "stellar") == []


def test_stream_selection_and_state(three_exports):
    """Only selected streams are emitted; an export only counts as loaded for a system whose
    selected tables were all read."""
    stellar_only = select_catalog({"stellar_holidays"})
    run = run_tap(cfg(three_exports), catalog=stellar_only)
    assert {m["stream"] for m in run.of_type("RECORD")} <= {"stellar_holidays", "marina_load_audit"}
    assert {a["table_name"] for a in run.records("marina_load_audit")} == {"stellar_holidays"}
    assert loaded_keys(run.state, "molo") == []  # no MOLO table selected: no MOLO export read
    assert loaded_keys(run.state, "stellar") == [stellar_name(2)]

    molo_only = select_catalog({"molo_slips"})
    run2 = run_tap(cfg(three_exports), state=run.state, catalog=molo_only)
    assert {m["stream"] for m in run2.of_type("RECORD")} == {"molo_slips", "marina_load_audit"}
    assert run2.of_type("ACTIVATE_VERSION", "molo_piers") == []
    assert days_of(run2) == ["day3"] * 3
    assert loaded_keys(run2.state, "molo") == [molo_name(3)]
    assert loaded_keys(run2.state, "stellar") == [stellar_name(2)]  # carried over


def test_deselected_property_is_dropped_and_values_stay_exact(tmp_path):
    """With a property deselected, records go through the SDK instead of the fast path: same
    values (decimals exact), same version, the property gone."""
    table = next(
        t
        for t in TABLES.values()
        if t.system == "molo" and t.primary_key == ("ID",) and any(c.kind == "decimal" for c in t.columns)
    )
    dec = next(c for c in table.columns if c.kind == "decimal")
    text = [c for c in table.columns if c.kind == "text"]
    kept, hidden = text[0], text[1]
    p, s = dec.precision_scale
    exact = "9" * (p - s) + "." + "1" * s
    rows = [row_for(table.stream, ID="1", **{kept.name: "kept", hidden.name: "hidden", dec.name: exact})]
    write_zip(
        tmp_path / "molo" / molo_name(5),
        {table.source_file: csv_bytes(header_of(table.stream), rows)},
        mtime=T0 + 5 * DAY,
    )
    config = cfg(tmp_path, stellar_enabled=False)
    plain = run_tap(config, catalog=select_catalog({table.stream}))
    masked = run_tap(config, catalog=select_catalog({table.stream}, {table.stream: [hidden.property_name]}))
    (a,), (b,) = plain.records(table.stream), masked.records(table.stream)
    assert a[hidden.property_name] == "hidden" and hidden.property_name not in b
    assert {k: v for k, v in a.items() if k != hidden.property_name} == b
    assert b[dec.property_name] == a[dec.property_name] == Decimal(exact)
    for run in (plain, masked):
        line = next(x for x in run.lines if '"RECORD"' in x and f'"{table.stream}"' in x)
        assert f'"{dec.property_name}":{exact}' in line.replace(" ", "")  # a number, every digit
        assert {m["version"] for m in run.of_type("RECORD", table.stream)} == {version_of(5, 8)}
        assert [m["version"] for m in run.of_type("ACTIVATE_VERSION", table.stream)] == [version_of(5, 8)]
        assert loaded_keys(run.state, "molo") == [molo_name(5)]


def _marina_temp(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("marina-"))


def test_runs_leave_no_temporary_files(three_exports, tmp_path_factory, monkeypatch):
    """Extracted tars, fetched exports and chunk files are removed after a run, a connection
    test (`--test`) and a failed run."""
    import tempfile

    from conftest import run_tap_failing

    from tap_marina_s3.tap import TapMarinaS3

    scratch = tmp_path_factory.mktemp("scratch")
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    run_tap(cfg(three_exports, mode="all"))
    assert _marina_temp(scratch) == []
    tap = TapMarinaS3(config=cfg(three_exports), parse_env_config=False)
    assert tap.run_connection_test()
    assert _marina_temp(scratch) == []
    # a damaged newest Stellar export after a good one that was already extracted
    bad = three_exports / "stellar" / stellar_name(3)
    bad.write_bytes(b"\x1f\x8b" + b"\x00" * 64)
    os.utime(bad, (T0 + 3 * DAY + 3600, T0 + 3 * DAY + 3600))
    error, _ = run_tap_failing(cfg(three_exports, mode="all", molo_enabled=False))
    assert stellar_name(3) in str(error)
    assert _marina_temp(scratch) == []
