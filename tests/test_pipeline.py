"""End to end on DuckDB: `meltano run tap-marina-s3 target-duckdb dbt:run dbt:snapshot`, export
after export.

The generator writes three exports with a manifest of exactly which keys were inserted, updated
and deleted between them; the third export lacks one table. The tests publish the exports one by
one into the folder the tap reads, run the real pipeline, and check the warehouse against the
manifest.
"""

from __future__ import annotations

import re
import subprocess
import zipfile

import pytest
import yaml
from conftest import CATALOG, MELTANO, ROOT, TABLES, Project, dw_table, generate, key_sql, stg_table

ROWS = 2500
OMITTED = "molo_boats"  # missing from the third export
LOAD = ("tap-marina-s3", "target-duckdb", "dbt:run")
PIPELINE = (*LOAD, "dbt:snapshot")  # + history of the DW tables (transform/snapshots)
# stream -> history table, and the snapshot meta column names, from the dbt project
HISTORY = {
    re.fullmatch(r"ref\('dw_(\w+)'\)", s["relation"]).group(1): s["config"]["alias"]
    for s in yaml.safe_load((ROOT / "transform" / "snapshots" / "marina_history.yml").read_text())["snapshots"]
}
HIST_COLUMNS = yaml.safe_load((ROOT / "transform" / "dbt_project.yml").read_text())["snapshots"]["marina"][
    "+snapshot_meta_column_names"
]


def dw_state(project: Project, stream: str) -> dict[str, tuple]:
    """key -> (inserted, updated, is_deleted, deleted_at, source_key, row_hash)."""
    rows = project.query(
        f'SELECT {key_sql(stream)}, "DW_LAST_INSERTED", "DW_LAST_UPDATED", "DW_IS_DELETED", '
        f'"DW_DELETED_AT", "DW_SOURCE_KEY", "DW_ROW_HASH" FROM "{dw_table(stream)}"'
    )
    return {row[0]: row[1:] for row in rows}


def snapshot(project: Project) -> dict[str, dict[str, tuple]]:
    return {stream: dw_state(project, stream) for stream in TABLES}


def content_digest(project: Project) -> dict[str, str]:
    """Per DW table, a digest of everything but the run timestamps (those differ per run)."""
    digests = {}
    for stream in TABLES:
        digests[stream] = project.query(
            f"SELECT md5(string_agg({key_sql(stream)} || ':' || \"DW_ID\" || ':' || "
            f"\"DW_ROW_HASH\" || ':' || \"DW_IS_DELETED\" || ':' || \"DW_SOURCE_KEY\", ',' "
            f'ORDER BY "DW_ID")) FROM "{dw_table(stream)}"'
        )[0][0]
    return digests


@pytest.fixture(scope="module")
def history(workdir):
    """Runs the pipeline over exports 1, 2, 2 again (full refresh) and 3; keeps a snapshot of
    the warehouse after each run."""
    source = workdir / "generated"
    manifest = generate(source, rows=ROWS, exports=3, seed=7, omit_table=OMITTED)
    project = Project(workdir / "main")
    by_version = {}
    for export in manifest["exports"]:
        by_version.setdefault(export["version"], []).append(export)
    states, digests = [], []
    for version in (1, 2):
        for export in by_version[version]:
            project.publish(source, export)
        project.run(*PIPELINE)
        states.append(snapshot(project))
        digests.append(content_digest(project))
    tests_after_2 = project.meltano("invoke", "dbt:test", check=False)
    project.run(*LOAD, full_refresh=True)  # export 2 once more (history: see test_snapshots.py)
    states.append(snapshot(project))
    for export in by_version[3]:
        project.publish(source, export)
    project.run(*PIPELINE)
    states.append(snapshot(project))
    return {
        "manifest": manifest,
        "by_version": by_version,
        "project": project,
        "source": source,
        "states": states,
        "digests": digests,
        "dbt_test": tests_after_2,
    }


def tables_of(history, version: int) -> dict[str, dict]:
    merged = {}
    for export in history["by_version"][version]:
        merged.update(export["tables"])
    return merged


def test_first_export_loads_every_table(history):
    state = history["states"][0]
    expected = tables_of(history, 1)
    assert set(expected) == set(TABLES)
    for stream, info in expected.items():
        live = {k for k, v in state[stream].items() if v[2] == 0}
        assert len(live) == info["rows"], stream
    inserted_at = {v[0] for table in state.values() for v in table.values()}
    assert len(inserted_at) == 1, "one run, one DW_LAST_INSERTED timestamp"


def test_second_export_changes_exactly_what_the_manifest_says(history):
    before, after = history["states"][0], history["states"][1]
    t1 = next(iter(next(iter(before.values())).values()))[0]
    t2 = max(v[1] for table in after.values() for v in table.values())
    assert t2 > t1
    changes = 0
    for stream, info in tables_of(history, 2).items():
        table = after[stream]
        for key in info["inserted"]:
            assert table[key][0] == t2 and table[key][1] == t2 and table[key][2] == 0, (stream, key)
        for key in info["updated"]:
            assert table[key][0] == t1, (stream, key, "DW_LAST_INSERTED must not move")
            assert table[key][1] == t2 and table[key][5] != before[stream][key][5], (stream, key)
        for key in info["deleted"]:
            assert table[key][2] == 1 and table[key][3] == t2, (stream, key)
            assert table[key][1] == before[stream][key][1], "a delete is not an update"
        touched = set(info["inserted"]) | set(info["updated"]) | set(info["deleted"])
        unchanged = [k for k in table if k not in touched]
        assert len(unchanged) == info["unchanged_count"], stream
        for key in unchanged:
            assert table[key] == before[stream][key], (stream, key, "unchanged row was touched")
        changes += len(touched)
    assert changes > 0, "the generator must have produced changes"


def test_dbt_tests_pass_on_loaded_data(history):
    result = history["dbt_test"]
    assert result.returncode == 0, result.stderr[-4000:]
    assert "ERROR=0" in result.stderr + result.stdout


def test_same_export_again_changes_nothing(history):
    assert history["states"][2] == history["states"][1]


def test_table_missing_from_export_is_not_deleted(history):
    before, after = history["states"][2], history["states"][3]
    assert tables_of(history, 3)[OMITTED]["present"] is False
    assert after[OMITTED] == before[OMITTED], "no row of a missing table may change"
    project = history["project"]
    sources = project.query(f'SELECT DISTINCT "SDC_SOURCE_KEY" FROM "{stg_table(OMITTED)}"')
    export2 = next(e for e in history["by_version"][2] if e["system"] == TABLES[OMITTED]["system"])
    assert sources == [(export2["path"].split("/", 1)[1],)], "staging keeps the last complete snapshot"
    audit = project.query(
        'SELECT "PRESENT" FROM "STG_MARINA_LOAD_AUDIT" WHERE "TABLE_NAME" = ? ORDER BY "STARTED_AT" DESC LIMIT 1',
        [OMITTED],
    )
    assert audit and not audit[0][0]
    # the other tables of that export did get its changes
    other = next(
        s
        for s, i in tables_of(history, 3).items()
        if i.get("present") and i.get("updated") and TABLES[s]["system"] == TABLES[OMITTED]["system"]
    )
    assert any(after[other][k] != before[other][k] for k in tables_of(history, 3)[other]["updated"])


def test_interrupted_load_then_rerun_matches_uninterrupted(history, workdir):
    source, by_version = history["source"], history["by_version"]
    project = Project(workdir / "interrupted")
    for export in by_version[1]:
        project.publish(source, export)
    project.run(*LOAD)  # no history snapshot: this test is about loading
    for export in by_version[2]:
        project.publish(source, export)
    # The second load dies in the middle of a stream: the loader's input is cut mid-line.
    stream_file = project.base / "singer.jsonl"
    with open(stream_file, "wb") as out:
        subprocess.run(
            [str(MELTANO), "invoke", "tap-marina-s3"],
            cwd=ROOT,
            env=project.env(),
            stdout=out,
            stderr=subprocess.DEVNULL,
            check=True,
        )
    data = stream_file.read_bytes()
    cut = subprocess.run(
        [str(MELTANO), "invoke", "target-duckdb"],
        cwd=ROOT,
        env=project.env(),
        input=data[: len(data) // 2],
        capture_output=True,
        check=False,
    )
    assert cut.returncode != 0, "a stream cut mid-line must fail the load"
    expected = {1: tables_of(history, 1), 2: tables_of(history, 2)}
    for stream in TABLES:  # every staging table holds one complete export, never a part
        count, keys = project.query(f'SELECT count(*), count(DISTINCT "SDC_SOURCE_KEY") FROM "{stg_table(stream)}"')[0]
        assert keys <= 1, stream
        assert count in {expected[1][stream]["rows"], expected[2][stream]["rows"]}, stream
    project.run(*LOAD)
    assert content_digest(project) == history["digests"][1]


def test_a_failing_export_lands_no_table_and_dbt_merges_nothing(history, workdir):
    """The second export has one bad table (over max_reject_ratio), the last MOLO table read:
    the run fails, and no staging table of either system moves to the second export, so a
    dbt-only run afterwards (as `dw-refresh` does) merges nothing new. Once the vendor fixes
    the export, the next run loads it whole."""
    source, by_version = history["source"], history["by_version"]
    project = Project(workdir / "failing")
    for export in by_version[1]:
        project.publish(source, export)
    project.run(*LOAD)
    sources_before = {s: project.query(f'SELECT DISTINCT "SDC_SOURCE_KEY" FROM "{stg_table(s)}"') for s in TABLES}
    digest_before = content_digest(project)

    molo2 = next(e for e in by_version[2] if e["system"] == "molo")
    bad_table = [entry for entry in CATALOG if entry["system"] == "molo"][-1]
    broken = project.exports / molo2["path"]
    broken.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(source / molo2["path"]) as good, zipfile.ZipFile(broken, "w") as out:
        for info in good.infolist():
            data = good.read(info)
            if info.filename.rsplit("/", 1)[-1] == bad_table["source_file"]:
                data += b"a row of one field\r\n" * max(10, data.count(b"\n"))  # all rejected
            out.writestr(info, data)
    for export in by_version[2]:
        if export is not molo2:
            project.publish(source, export)
    failed = project.meltano("run", "--state-id-suffix", project.suffix, *LOAD, check=False)
    assert failed.returncode != 0
    assert "max_reject_ratio" in failed.stderr and bad_table["source_file"] in failed.stderr, failed.stderr[-3000:]
    for stream in TABLES:
        assert (
            project.query(f'SELECT DISTINCT "SDC_SOURCE_KEY" FROM "{stg_table(stream)}"') == sources_before[stream]
        ), stream
    project.meltano("invoke", "dbt:run")
    assert content_digest(project) == digest_before

    project.publish(source, molo2)  # the vendor sends the export again, fixed
    project.run(*LOAD)
    assert content_digest(project) == history["digests"][1]


def run_timestamp(state: dict[str, dict[str, tuple]]) -> object:
    """The run timestamp of the run that produced a DW state: its latest DW_LAST_UPDATED / DW_DELETED_AT."""
    return max(max(v[1], v[3] or v[1]) for table in state.values() for v in table.values())


def expected_history(history, stream: str, run_at: list) -> dict[str, list[tuple]]:
    """key -> [(valid_from, valid_to, is_deleted)] from the manifest: a first version from the export
    that has the key, then one per update or delete; a version ends where the next one starts."""
    starts = {key: [(run_at[0], 0)] for key in history["states"][0][stream]}
    for version in (2, 3):
        info = tables_of(history, version)[stream]
        at = run_at[version - 1]
        for key in info.get("inserted", []):
            starts[key] = [(at, 0)]
        for kind, deleted in (("updated", 0), ("deleted", 1)):
            for key in info.get(kind, []):
                starts[key].append((at, deleted))
    return {
        key: [(f, s[i + 1][0] if i + 1 < len(s) else None, d) for i, (f, d) in enumerate(s)]
        for key, s in starts.items()
    }


def test_history_has_one_version_per_change(history):
    """After exports 1, 2, 2 again and 3: each snapshotted DW table's history holds, per key, the
    versions the manifest implies (valid-from = the run that changed it, valid-to = the next one)."""
    states = history["states"]
    run_at = [run_timestamp(states[0]), run_timestamp(states[1]), run_timestamp(states[3])]
    assert run_at == sorted(set(run_at)), "three runs with changes"
    valid_from, valid_to = HIST_COLUMNS["dbt_valid_from"], HIST_COLUMNS["dbt_valid_to"]
    assert HISTORY and set(HISTORY) <= set(TABLES)
    updated_keys = 0
    for stream, table in HISTORY.items():
        rows = history["project"].query(
            f'SELECT {key_sql(stream)}, "{valid_from}", "{valid_to}", "DW_IS_DELETED" FROM "{table}" ORDER BY 1, 2'
        )
        got: dict[str, list[tuple]] = {}
        for key, start, end, deleted in rows:
            got.setdefault(key, []).append((start, end, int(deleted)))
        expected = expected_history(history, stream, run_at)
        assert set(got) == set(expected), stream
        for key in tables_of(history, 2)[stream]["updated"]:
            assert len(got[key]) >= 2 and got[key] == expected[key], (stream, key)
            updated_keys += 1
        assert got == expected, stream
    assert updated_keys > 0, "the generator must have updated snapshotted keys"
