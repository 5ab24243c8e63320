"""`marina-ops check`: are the exports, the warehouse and dbt reachable in the active environment?

Every check gives one line; none can stop the others: an unexpected error is a FAIL line too
(its traceback only with --debug), and the summary is always printed.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable

from marina_common.connection import SettingsError

from .check_config import ConfigError, plugin_configs
from .check_exports import Result, check_exports
from .check_warehouse import check_dbt, check_loader, check_same_warehouse
from .env import Env
from .warehouse import WarehouseError


def guarded(name: str, check: Callable[[], Result | list[Result]], debug: bool = False) -> list[Result]:
    try:
        result = check()
    except (WarehouseError, SettingsError) as exc:  # a refused DBT_TARGET, an unreadable URL: expected
        return [Result(name, "FAIL", str(exc))]
    except Exception as exc:
        if debug:
            traceback.print_exc()
        return [
            Result(
                name, "FAIL", f"unexpected {type(exc).__name__}: {exc} (`marina-ops check --debug` shows the traceback)"
            )
        ]
    return result if isinstance(result, list) else [result]


def run_checks(env: Env, use_meltano: bool = True, with_dbt: bool = True, debug: bool = False) -> list[Result]:
    try:
        tap, target, source = plugin_configs(env, use_meltano)
    except (ConfigError, OSError, ValueError) as exc:
        return [Result("settings", "FAIL", str(exc))]
    results = [Result("settings", "OK", f"read from {source}")]
    results += guarded("exports", lambda: check_exports(tap, env), debug)
    results += guarded("warehouse (loader target-oracle)", lambda: check_loader(target, env), debug)
    results += guarded("loader and dbt", lambda: check_same_warehouse(target, env), debug)
    if with_dbt:
        results += guarded("dbt", lambda: check_dbt(env), debug)
    return results


def print_results(results: list[Result]) -> int:
    for r in results:
        print(r.line())
    failed = [r for r in results if r.status == "FAIL"]
    warned = [r for r in results if r.status == "WARN"]
    summary = f"{len(failed)} check(s) failed" if failed else "all checks passed"
    print(f"\n{summary}" + (f", {len(warned)} warning(s)" if warned else ""))
    return 1 if failed else 0
