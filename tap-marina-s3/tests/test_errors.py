"""The installed `tap-marina-s3` command on expected failures: exit code 1, one line that says
what failed, where and what to do, and no traceback at the default log level (it is there at
DEBUG). Also the pre-read checks: no silent fallback to a local folder, late exports."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import TABLES, csv_bytes, header_of, row_for, write_targz, write_zip

EXE = Path(sys.executable).with_name("tap-marina-s3")
MOLO = "molo_backup_2026-01-02_06-00-00.zip"
STELLAR = "prod_resilient_2026-01-02_06_00-DATA.sql.gz"
HOUR = 3600
OPERATIONS = Path(__file__).resolve().parents[2] / "docs" / "operations.md"


def documented(*fragments: str) -> None:
    """docs/operations.md's error table quotes the message an operator sees."""
    text = OPERATIONS.read_text(encoding="utf-8")
    assert [f for f in fragments if f not in text] == []


def tap(tmp_path: Path, config: dict, **env: str) -> subprocess.CompletedProcess:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("TAP_MARINA_S3_", "MELTANO_"))}
    return subprocess.run(
        [str(EXE), "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**environ, **env},
        check=False,
    )


def errors(result: subprocess.CompletedProcess) -> list[str]:
    return [line.split(" | ", 3)[-1] for line in result.stderr.splitlines() if "| ERROR" in line]


def assert_one_line_failure(result: subprocess.CompletedProcess, *expected: str) -> str:
    assert result.returncode == 1, result.stderr[-2000:]
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    last = errors(result)[-1]
    for text in expected:
        assert text in last, last
    return last


def slips(n: int = 3) -> bytes:
    return csv_bytes(header_of("molo_slips"), [row_for("molo_slips", ID=str(i)) for i in range(1, n + 1)])


def molo_only(tmp_path: Path, **extra) -> dict:
    return {"molo_path": str(tmp_path / "molo"), "stellar_enabled": False, **extra}


def test_missing_folder_is_one_line_before_any_read(tmp_path):
    result = tap(tmp_path, molo_only(tmp_path))
    last = assert_one_line_failure(
        result, f"export folder {tmp_path / 'molo'} does not exist", "molo_path", "TAP_MARINA_S3_MOLO_PATH"
    )
    assert last.startswith("molo: ")
    documented("export folder", "does not exist (setting molo_path)")
    assert "Beginning sync" not in result.stderr  # raised before the first stream


def test_traceback_only_at_debug(tmp_path):
    result = tap(tmp_path, molo_only(tmp_path), TAP_MARINA_S3_LOGLEVEL="debug")
    assert result.returncode == 1
    assert "Traceback" in result.stderr and "StorageError" in result.stderr


def test_file_named_like_an_export_that_is_not_an_archive(tmp_path):
    (tmp_path / "molo").mkdir()
    (tmp_path / "molo" / MOLO).write_bytes(b"<html>not found</html>")
    assert_one_line_failure(tap(tmp_path, molo_only(tmp_path)), MOLO, "neither a zip nor a gzip")
    documented("neither a zip nor a gzip archive")


def test_member_over_the_size_limit(tmp_path):
    write_zip(tmp_path / "molo" / MOLO, {"Slips.csv": slips(50)})
    assert_one_line_failure(
        tap(tmp_path, molo_only(tmp_path, max_member_bytes=200)), MOLO, "'Slips.csv'", "max_member_bytes"
    )
    documented("(setting max_member_bytes)")


def test_reject_ratio_exceeded(tmp_path):
    table = TABLES["molo_slips"]
    column = next(c for c in table.columns if c.kind == "integer" and c.name not in table.primary_key)
    rows = [row_for(table.stream, ID="1"), row_for(table.stream, ID="2", **{column.name: "12abc"})]
    write_zip(tmp_path / "molo" / MOLO, {table.source_file: csv_bytes(header_of(table.stream), rows)})
    assert_one_line_failure(
        tap(tmp_path, molo_only(tmp_path)), f"{MOLO}/{table.source_file}", "rejected 1 of 2 rows", "max_reject_ratio"
    )
    documented("over max_reject_ratio")


@pytest.mark.parametrize("environment", ["prod", "staging"])
def test_unset_bucket_outside_dev_is_a_configuration_error(tmp_path, environment):
    """meltano.yml sets local folders only in dev: elsewhere an empty MARINA_MOLO_BUCKET leaves
    the tap with no location, which must fail by name rather than read anything."""
    result = tap(tmp_path, {"molo_bucket": "", "stellar_enabled": False}, MELTANO_ENVIRONMENT=environment)
    assert_one_line_failure(result, f"MARINA_MOLO_BUCKET is not set for environment {environment}")
    documented("MARINA_MOLO_BUCKET is not set for environment prod")
    assert "Beginning sync" not in result.stderr


def test_late_export_fails_and_says_since_when(tmp_path):
    two_days_ago = time.time() - 48 * HOUR
    write_zip(tmp_path / "molo" / MOLO, {"Slips.csv": slips()}, mtime=two_days_ago)
    result = tap(tmp_path, molo_only(tmp_path, molo_max_export_age_hours=30))
    since = time.strftime("%Y-%m-%d %H:%M", time.gmtime(two_days_ago))
    last = assert_one_line_failure(
        result,
        f"Late MOLO (marina operations) export: nothing new since {since} UTC",
        "48 h ago",
        MOLO,
        "molo_max_export_age_hours=30",
        "late_export=warn",
    )
    assert "Beginning sync" not in result.stderr and '"type":"RECORD"' not in result.stdout, last
    documented("Late MOLO (marina operations) export: nothing new since")


def test_empty_folder_is_a_late_export(tmp_path):
    (tmp_path / "stellar").mkdir()
    result = tap(
        tmp_path, {"stellar_path": str(tmp_path / "stellar"), "molo_enabled": False, "stellar_max_export_age_hours": 30}
    )
    assert_one_line_failure(
        result, "Late Stellar Business (boat rentals) export: no export at all in", str(tmp_path / "stellar")
    )
    documented("export: no export at all in")


def test_late_export_warns_and_loads_when_asked(tmp_path):
    write_targz(
        tmp_path / "stellar" / STELLAR,
        {
            "data/holidays.csv": csv_bytes(
                header_of("stellar_holidays"), [row_for("stellar_holidays", LOCATION_ID="1", HOLIDAY_DATE="2025-12-25")]
            )
        },
        mtime=time.time() - 50 * HOUR,
    )
    result = tap(
        tmp_path,
        {
            "stellar_path": str(tmp_path / "stellar"),
            "molo_enabled": False,
            "stellar_max_export_age_hours": 30,
            "late_export": "warn",
        },
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert any(
        "| WARNING" in line
        and "Late Stellar Business (boat rentals) export: nothing new since" in line
        and "50 h ago" in line
        for line in result.stderr.splitlines()
    )
    assert '"stream":"stellar_holidays"' in result.stdout


def test_recent_export_passes_and_the_console_is_quiet(tmp_path):
    write_zip(tmp_path / "molo" / MOLO, {"Slips.csv": slips()}, mtime=time.time() - 2 * HOUR)
    result = tap(tmp_path, molo_only(tmp_path, molo_max_export_age_hours=30))
    assert result.returncode == 0, result.stderr[-2000:]
    assert '"stream":"molo_slips"' in result.stdout
    assert "METRIC" not in result.stderr and "Skipping parse" not in result.stderr
    debug = tap(tmp_path, molo_only(tmp_path, molo_max_export_age_hours=30), TAP_MARINA_S3_LOGLEVEL="debug")
    assert "METRIC" in debug.stderr and "Skipping parse" in debug.stderr
