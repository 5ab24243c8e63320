"""`marina-ops check`: are the exports, the warehouse and dbt reachable in the active environment?"""
from __future__ import annotations

from .check_config import ConfigError, plugin_configs
from .check_exports import Result, check_exports
from .check_warehouse import check_dbt, check_loader, check_same_warehouse
from .env import Env
from .warehouse import WarehouseError


def run_checks(env: Env, use_meltano: bool = True, with_dbt: bool = True) -> list[Result]:
    try:
        tap, target, source = plugin_configs(env, use_meltano)
    except (ConfigError, OSError, ValueError) as exc:
        return [Result("settings", "FAIL", str(exc))]
    results = [Result("settings", "OK", f"read from {source}")]
    results += check_exports(tap)
    results.append(check_loader(target, env))
    try:
        results.append(check_same_warehouse(target, env))
        if with_dbt:
            results.append(check_dbt(env))
    except WarehouseError as exc:  # e.g. a DBT_TARGET that is neither duckdb nor oracle
        results.append(Result("dbt", "FAIL", str(exc)))
    return results


def print_results(results: list[Result]) -> int:
    for r in results:
        print(r.line())
    failed = [r for r in results if r.status == "FAIL"]
    print(f"\n{len(failed)} check(s) failed" if failed else "\nall checks passed")
    return 1 if failed else 0
