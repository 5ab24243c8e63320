"""TEST ONLY: run the real loader (target-oracle, Oracle dialect) on a file of Singer messages.

Run with the loader's venv python:
  python run_loader.py <messages.jsonl> '<config JSON>' [<simulator state.json>]
With a state file, python-oracledb's ``connect`` goes to the simulator (tests/oracle_sim);
without, to the real database of the config. STATE lines go to stdout; a failure exits 1 with
the error's message as the last line of stderr.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main(messages: str, config: str, state: str | None = None) -> int:
    if state:
        from oracle_sim import driver

        driver.install(state)
    from target_oracle.target import TargetOracle

    out = io.StringIO()
    try:
        target = TargetOracle(config=json.loads(config))
        with contextlib.redirect_stdout(out), open(messages, "rb") as fh:
            target.listen(fh)
    except BaseException as exc:
        sys.stdout.write(out.getvalue())
        traceback.print_exc()
        cause = exc
        while cause.__cause__ is not None or cause.__context__ is not None:
            cause = cause.__cause__ or cause.__context__
        sys.stderr.write(f"\nLOADER FAILED: {type(exc).__name__}: {str(exc)[:800]} | cause: {str(cause)[:800]}\n")
        return 1
    sys.stdout.write(out.getvalue())
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
