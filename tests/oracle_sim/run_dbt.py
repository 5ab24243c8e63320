"""TEST ONLY: run dbt invocations (dbtRunner, in-process) against the `oracle` target.

Run with dbt's venv python:
  python run_dbt.py <out.json> '<JSON list of dbt argument lists>' [<simulator state.json>]
With a state file, python-oracledb's ``connect`` goes to the simulator (tests/oracle_sim).
Writes {"results": [{args, success, exception, errors: [messages of failed nodes]}]}.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main(out: str, invocations: str, state: str | None = None) -> int:
    if state:
        from oracle_sim import driver

        driver.install(state)
    from dbt.cli.main import dbtRunner

    results = []
    for args in json.loads(invocations):
        res = dbtRunner().invoke(args)
        errors = []
        for r in getattr(res.result, "results", None) or []:
            if str(getattr(r, "status", "")).lower() in ("error", "fail", "runtimeerr"):
                errors.append(f"{r.node.name}: {r.message}")
        results.append({"args": args, "success": res.success, "exception": str(res.exception or ""), "errors": errors})
        if not res.success:
            break
    Path(out).write_text(json.dumps({"results": results}))
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
