"""The Oracle scenario matrix through the data-dictionary simulator (tests/oracle_sim).

The real tap reads two sample exports; the real loader (Oracle dialect) and real dbt-oracle run
on them in their own venvs, with python-oracledb's connect routed to one simulated dictionary
per scenario, which refuses what Oracle would refuse (see target-oracle/tests/
test_oracle_simulator.py for its negative control). The first load and first dbt run are shared
(their dictionary is copied into each scenario); each scenario then runs its own steps
(scenarios.SCENARIOS) and the schema it leaves is checked: no leftovers or invalid objects, DW
types equal to STG types, no column type changed since the first run, no HCC, a key on DW_ID,
marts, the run log, history tables, and row counts reconciling with the rejects.
A check that fails for want of a product change says so ("needs the issue-12 product change")."""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests"))
from oracle_sim import scenarios as sc

HISTORY = ["DW_MOLO_CONTACTS_HIST", "DW_STELLAR_CUSTOMERS_HIST"]


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("oracle_sim")


@pytest.fixture(scope="module")
def exports(work) -> list[Path]:
    return sc.tap_messages(work)


@pytest.fixture(scope="module")
def base(work, exports):
    """The dictionary after the first load and the first dbt run (scenario `first_load`)."""
    pipe = sc.Pipeline(work=work / "base", state=work / "base" / "dict.json", targets=work)
    (work / "base").mkdir()
    problems = pipe.run(sc.BASE, exports)
    return {"state": pipe.state, "problems": problems, "log": pipe.log}


def reconciliation(exports: list[Path], steps: tuple, facts: dict, base_facts: dict) -> dict | None:
    """RECORDs per stream of the scenario's one load after the base, and the rejects it added
    beyond the tap's (None when the scenario has no single successful load to reconcile)."""
    loads = [s for s in steps[len(sc.BASE) :] if isinstance(s, sc.Load)]
    if len(loads) != 1 or not loads[0].expect_ok:
        return None
    counts = sc.records(exports[loads[0].export - 1])
    added = facts["STG_MARINA_REJECTS"]["rows"] - base_facts["STG_MARINA_REJECTS"]["rows"]
    return {**counts, "rejects_added": added - counts.get("marina_rejects", 0)}


@pytest.mark.parametrize("name", list(sc.SCENARIOS))
def test_scenario(name, base, exports, work, tmp_path):
    steps = sc.SCENARIOS[name]
    state = tmp_path / "dict.json"
    shutil.copy(base["state"], state)
    pipe = sc.Pipeline(work=tmp_path, state=state, targets=work)
    problems = list(base["problems"]) or pipe.run(steps, exports, start=len(sc.BASE))
    log = base["log"] + pipe.log
    assert not problems, "\n".join(["scenario steps failed:", *problems, "log:", *log])
    facts, base_facts = sc.sim_facts(state), sc.sim_facts(base["state"])
    changes = tuple(c for s in steps if isinstance(s, sc.Dbt) for c in s.catalog_changes)
    loaded = reconciliation(exports, steps, facts, base_facts)
    problems = sc.check(
        facts,
        sc.catalog_tables(changes=changes),
        before=base_facts,
        marts=sc.marts(),
        history=HISTORY if name == "snapshots" else [],
        loaded=loaded,
    )
    if name == "text_over_catalog_size" and loaded["rejects_added"] != 0:
        problems.append(
            f"texts over the catalog size gave {loaded['rejects_added']} rejects: a catalog size is a "
            "hint, the value fits the column " + sc.PRODUCT.format("item 1")
        )
    if name == "text_over_column_limit":
        failed = next(line for line in log if "load export 2" in line)
        if "RULES" not in failed or "16384" not in failed.replace(",", ""):
            problems.append(f"the refused load does not name the column and the length: {failed}")
    assert not problems, "\n".join([*problems[:40], f"... {len(problems)} problems", "log:", *log])


def test_simulator_saw_the_first_run(base):
    """The shared first run really ran through the simulator: every statement was applied to
    its dictionary (CTAS of every DW table, views, the run log), not skipped."""
    state = json.loads(Path(base["state"]).read_text())
    ddl = " ".join(state["ddl"]).upper()
    created = set(re.findall(r"CREATE TABLE MARINA\.(DW_\w+)", ddl))
    assert len(created) >= 80, (sorted(created), base["log"])  # 79 DW tables and the run log
    assert "CREATE OR REPLACE VIEW MARINA.STG_MOLO__SLIPS" in ddl
