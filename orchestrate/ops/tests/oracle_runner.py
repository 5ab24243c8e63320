"""TEST ONLY: runs dbt invocations against the stubbed Oracle driver of transform/tests/oracle_stub.py,
with the staging tables named in argv[3] (comma separated) also reported as existing, and writes
{"results": [{args, success, exception, statements: [the invocation's SQL]}]} to argv[1].

python oracle_runner.py <out.json> '<JSON list of dbt arg lists>' STG_A,STG_B
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "transform" / "tests"))

import oracle_stub


def main(out: str, invocations: str, staging: str) -> int:
    for table in filter(None, staging.split(",")):
        oracle_stub.COLUMNS.setdefault(table, [])
    oracle_stub.install()
    from dbt.cli.main import dbtRunner

    results = []
    for args in json.loads(invocations):
        first = len(oracle_stub.STATEMENTS)
        res = dbtRunner().invoke(args)
        results.append(
            {
                "args": args,
                "success": res.success,
                "exception": str(res.exception or ""),
                "statements": oracle_stub.STATEMENTS[first:],
            }
        )
    Path(out).write_text(json.dumps({"results": results}))
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
