"""History (dbt snapshots of DW tables, snapshots/marina_history.yml) on DuckDB.

Every snapshotted entity gets the same key plan over three exports (staging filled like the loader
does, staging_db.py):
  E1  keys 1-5 inserted                                         `dbt build` (models + snapshots)
  E2  2 updated, 3 and 5 deleted, 6 inserted, 1 and 4 unchanged `dbt build` (models + snapshots)
  E3  2 updated again, 4 deleted, 5 comes back unchanged,       `dbt run`; key 1's DW row purged
      1 and 6 unchanged, 3 stays deleted                        (a hard delete); `dbt test` (history
                                                                behind); `dbt build -s tag:history`
The expected versions are computed here from that plan (a model of the DW semantics: a version per
change of content or delete flag, from the run that made it; a purged key's version is closed).
"""

from __future__ import annotations

import datetime as dt
import re

import duckdb
import pytest
import staging_db as sdb
import yaml
from conftest import TRANSFORM_DIR, run_dbt
from dbt.cli.main import dbtRunner

ENTRIES = yaml.safe_load((TRANSFORM_DIR / "snapshots" / "marina_history.yml").read_text())["snapshots"]
META = yaml.safe_load((TRANSFORM_DIR / "dbt_project.yml").read_text())["snapshots"]["marina"][
    "+snapshot_meta_column_names"
]
VALID_FROM, VALID_TO = META["dbt_valid_from"], META["dbt_valid_to"]


def _stream(entry: dict) -> str:
    m = re.fullmatch(r"ref\('dw_(\w+)'\)", entry["relation"])
    assert m and m.group(1) in sdb.CATALOG, entry
    return m.group(1)


HIST = {_stream(e): e["config"]["alias"] for e in ENTRIES}  # stream -> history table
# key -> payload version per export; a key missing from an export is deleted by it
EXPORTS = [
    {1: "a", 2: "a", 3: "a", 4: "a", 5: "a"},
    {1: "a", 2: "b", 4: "a", 6: "a"},
    {1: "a", 2: "c", 5: "a", 6: "a"},
]
PURGED = 1  # DW row removed by hand after E3
SOURCE_KEY = "{}/export_e{}"


def _value(oracle_type: str, n: int):
    base = oracle_type.split("(", maxsplit=1)[0].upper()
    if base == "NUMBER":
        return n
    if base == "DATE":
        return dt.date(2025, 1, 1) + dt.timedelta(days=n)
    if base == "TIMESTAMP":
        return dt.datetime(2025, 1, 1) + dt.timedelta(hours=n)
    return f"k{n}"


def payload_column(stream: str) -> str:
    """The first non-key text column: the one column an update changes."""
    t = sdb.CATALOG[stream]
    return next(c.name for c in t.columns if c.name not in t.primary_key and c.base_type in ("NVARCHAR2", "NCLOB"))


def row(stream: str, key: int, payload: str) -> dict:
    t = sdb.CATALOG[stream]
    values = {k: _value(t.column(k).oracle_type, key) for k in t.primary_key}
    values[payload_column(stream)] = f"{payload_column(stream).lower()} {key} version {payload}"
    return values


def expected_versions(exports: list[dict], run_at: list[dt.datetime]) -> dict[int, list[tuple]]:
    """key -> [(valid_from, valid_to, payload, deleted)]: a new version whenever the DW row's
    (content, deleted flag) changes; a deleted key keeps its last content; valid_to = next valid_from."""
    states: dict[int, list[list]] = {}
    for rows, at in zip(exports, run_at):
        for key in sorted(set(states) | set(rows)):
            state = (rows[key], 0) if key in rows else (states[key][-1][1][0], 1)
            if key not in states or states[key][-1][1] != state:
                states.setdefault(key, []).append([at, state])
    out = {}
    for key, versions in states.items():
        out[key] = [
            (at, versions[i + 1][0] if i + 1 < len(versions) else None, *state)
            for i, (at, state) in enumerate(versions)
        ]
    return out


def history(db, table: str) -> dict[str, list[dict]]:
    rows = sdb.query(db, f"select * from main.{table} order by DW_ID, {VALID_FROM}")
    out: dict[str, list[dict]] = {}
    for r in rows:
        out.setdefault(r["DW_ID"], []).append(r)
    return out


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def last_change(db) -> dt.datetime:
    """The run timestamp of the last DW run: the latest DW_LAST_UPDATED / DW_DELETED_AT."""
    parts = [
        f"select max(greatest(DW_LAST_UPDATED, coalesce(DW_DELETED_AT, DW_LAST_UPDATED))) as T "
        f"from main.{sdb.CATALOG[s].dw_table}"
        for s in HIST
    ]
    return sdb.query(db, f"select max(T) as T from ({' union all '.join(parts)})")[0]["T"]


class Dbt:
    """dbt in-process on one parsed manifest: parsing the project is most of an invocation's cost,
    and nothing here changes the project between invocations. Arguments as in conftest.run_dbt."""

    def __init__(self, work, env: dict):
        self.work, self.env = work, env
        parsed = run_dbt(["parse"], work, env=env)
        assert parsed.success, parsed.exception
        self.runner = dbtRunner(manifest=parsed.result)

    def __call__(self, *args: str, check: bool = True):
        res = run_dbt(list(args), self.work, env=self.env, runner=self.runner)
        assert res.success or not check, (args, res.exception)
        return res


@pytest.fixture(scope="module")
def scenario(tmp_path_factory):
    work = tmp_path_factory.mktemp("dbt_snapshots")
    db = work / "marina.duckdb"
    sdb.create_all(db)
    invoke = Dbt(work, {"MARINA_DUCKDB_PATH": str(db)})
    upstream = ["--select", "+tag:history"]
    out: dict = {"db": db, "histories": [], "run_at": []}

    for i, rows in enumerate(EXPORTS):
        for stream in HIST:
            system = sdb.CATALOG[stream].system
            sdb.load_export(db, stream, SOURCE_KEY.format(system, i + 1), [row(stream, k, p) for k, p in rows.items()])
        if i < 2:  # as the Meltano job: the DW models, then their snapshots, in one build
            invoke("build", *upstream, "--resource-type", "model", "--resource-type", "snapshot")
            out["run_at"].append(last_change(db))
            out["histories"].append({s: history(db, t) for s, t in HIST.items()})
    invoke("run", *upstream)  # E3 as `dbt:run`, then a purge and a test before `dbt:snapshot`
    out["run_at"].append(last_change(db))
    con = duckdb.connect(str(db))
    try:
        for stream in HIST:
            con.execute(
                f"delete from main.{sdb.CATALOG[stream].dw_table} where DW_ID = ?",
                [sdb.dw_id(stream, row(stream, PURGED, "a"))],
            )
    finally:
        con.close()
    out["test_behind"] = invoke("test", "--select", "tag:history", check=False)
    before = _utc_now()
    # snapshots, then their data tests (checked by the tests below, so no success assertion here)
    out["build"] = invoke("build", "--select", "tag:history", check=False)
    out["snapshot_window"] = (before, _utc_now())
    out["histories"].append({s: history(db, t) for s, t in HIST.items()})
    return out


def test_snapshot_entries_match_the_catalog():
    assert len(HIST) == len(ENTRIES), "one snapshot per entity"
    for entry in ENTRIES:
        stream = _stream(entry)
        assert entry["name"] == f"dw_{stream}_hist"
        assert entry["config"]["alias"] == sdb.CATALOG[stream].dw_table + "_HIST"


def _expected(scenario) -> dict[int, list[tuple]]:
    return expected_versions(EXPORTS, scenario["run_at"])


@pytest.mark.parametrize("stream", sorted(HIST))
def test_versions_follow_every_change(scenario, stream):
    got = scenario["histories"][2][stream]
    expected = _expected(scenario)
    assert len(got) == len(expected), "one version chain per key ever seen"
    for key, versions in expected.items():
        rows = got[sdb.dw_id(stream, row(stream, key, "a"))]
        actual = [(r[VALID_FROM], r[VALID_TO], r["DW_ROW_HASH"], int(r["DW_IS_DELETED"])) for r in rows]
        want = [(f, t, sdb.row_hash(stream, row(stream, key, p)), d) for f, t, p, d in versions]
        if key == PURGED:  # its open version was closed by the snapshot (hard_deletes: invalidate)
            start, end = scenario["snapshot_window"]
            assert want[-1][1] is None and start <= actual[-1][1] <= end, "closed at the snapshot's run timestamp"
            want[-1] = (want[-1][0], actual[-1][1], *want[-1][2:])
        assert actual == want, key
        column = payload_column(stream)  # each version carries the DW row as it was
        assert [r[column] for r in rows] == [row(stream, key, p)[column] for _, _, p, _ in versions]
        assert len({r[META["dbt_scd_id"]] for r in rows}) == len(rows)


@pytest.mark.parametrize("stream", sorted(HIST))
def test_current_version_starts_at_the_dw_change(scenario, stream):
    dw = {r["DW_ID"]: r for r in sdb.query(scenario["db"], f"select * from main.{sdb.CATALOG[stream].dw_table}")}
    hist = scenario["histories"][2][stream]
    assert set(dw) == set(hist) - {sdb.dw_id(stream, row(stream, PURGED, "a"))}
    for dw_id, current in dw.items():
        rows = hist[dw_id]
        assert rows[-1][VALID_TO] is None and all(r[VALID_TO] is not None for r in rows[:-1])
        assert rows[-1][VALID_FROM] == (current["DW_DELETED_AT"] or current["DW_LAST_UPDATED"])
        assert rows[0][VALID_FROM] == current["DW_LAST_INSERTED"]
        assert (rows[-1]["DW_ROW_HASH"], rows[-1]["DW_IS_DELETED"]) == (
            current["DW_ROW_HASH"],
            current["DW_IS_DELETED"],
        )


def test_one_run_timestamp_per_round(scenario):
    run_at = scenario["run_at"]
    assert run_at == sorted(set(run_at)) and len(run_at) == len(EXPORTS), "each round's changes, later each time"


def test_first_history_is_one_version_per_inserted_key(scenario):
    for stream, hist in scenario["histories"][0].items():
        assert sorted(len(v) for v in hist.values()) == [1] * len(EXPORTS[0]), stream
        assert {v[0][VALID_FROM] for v in hist.values()} == {scenario["run_at"][0]}


def test_unchanged_keys_get_no_new_version(scenario):
    unchanged = [
        k for k, versions in _expected(scenario).items() if versions[-1][0] != scenario["run_at"][2] and k != PURGED
    ]
    assert unchanged
    before, after = scenario["histories"][1], scenario["histories"][2]
    for stream in HIST:
        for key in unchanged:
            dw_id = sdb.dw_id(stream, row(stream, key, "a"))
            assert after[stream][dw_id] == before[stream][dw_id], (stream, key)


def _test_results(res) -> dict[tuple[str, str], tuple[str, int]]:
    """(generic test name, history table) -> (status, failures) of the data tests in a dbt result."""
    alias = {f"snapshot.marina.{e['name']}": e["config"]["alias"] for e in ENTRIES}
    return {
        (r.node.test_metadata.name, alias[r.node.attached_node]): (str(r.status), r.failures)
        for r in res.result.results
        if r.node.resource_type == "test"
    }


def test_history_data_tests_flag_a_history_behind_the_dw(scenario):
    behind = _test_results(scenario["test_behind"])
    assert len(behind) == 2 * len(HIST)
    run_at = scenario["run_at"]
    changed = sum(1 for versions in _expected(scenario).values() if versions[-1][0] == run_at[2])
    assert changed > 0
    for table in HIST.values():
        assert behind[("marina_scd_versions", table)] == ("pass", 0)
        # every key E3 changed differs from its open version, and the purged key still has one
        assert behind[("marina_scd_current", table)] == ("fail", changed + 1)


def test_history_data_tests_pass_on_a_complete_history(scenario):
    after = _test_results(scenario["build"])
    assert len(after) == 2 * len(HIST) and set(after.values()) == {("pass", 0)}
    assert sorted(str(r.status) for r in scenario["build"].result.results if r.node.resource_type == "snapshot") == [
        "success"
    ] * len(HIST)
