"""The column budget shared by the read-ahead workers (setting `typing_columns`)."""

from __future__ import annotations

import threading
import time

from conftest import run_tap
from test_state import cfg, three_exports  # noqa: F401  (fixture)

from tap_marina_s3.run import READ_AHEAD_COLUMNS, Budget, Run


def _hold(budget: Budget, n: int, log: list, name: str, release: threading.Event) -> None:
    with budget.take(n):
        log.append(("in", name))
        release.wait(5)
    log.append(("out", name))


def test_takes_that_fit_run_together_and_others_wait():
    budget, log = Budget(10), []
    release_a, release_b = threading.Event(), threading.Event()
    a = threading.Thread(target=_hold, args=(budget, 6, log, "a", release_a))
    a.start()
    b = threading.Thread(target=_hold, args=(budget, 4, log, "b", release_b))
    b.start()
    c = threading.Thread(target=_hold, args=(budget, 5, log, "c", threading.Event()))
    time.sleep(0.2)
    assert sorted(log) == [("in", "a"), ("in", "b")]  # 6 + 4 fit in 10
    c.start()
    time.sleep(0.2)
    assert ("in", "c") not in log  # 5 more does not fit while a and b hold 10
    release_a.set()
    a.join()
    time.sleep(0.2)
    assert ("in", "c") in log  # 4 + 5 fit once a is done
    release_b.set()
    b.join()
    c.join(6)
    assert budget.used == 0


def test_a_take_wider_than_the_budget_runs_alone():
    budget = Budget(10)
    with budget.take(25):  # alone: it runs rather than waiting forever
        assert budget.used == 25
    assert budget.used == 0


def test_the_setting_sizes_the_budget_and_leaves_the_output_alone(three_exports):  # noqa: F811
    assert Run({}, {}, {})._budget.total == READ_AHEAD_COLUMNS
    assert Run({"typing_columns": 7}, {}, {})._budget.total == 7
    default = run_tap(cfg(three_exports))
    one_at_a_time = run_tap({**cfg(three_exports), "typing_columns": 1})
    assert one_at_a_time.records("molo_slips") and one_at_a_time.records("stellar_holidays")
    for stream in ("molo_slips", "molo_piers", "stellar_holidays"):
        strip = [{k: v for k, v in r.items() if k != "time_extracted"} for r in default.records(stream)]
        assert [{k: v for k, v in r.items() if k != "time_extracted"} for r in one_at_a_time.records(stream)] == strip
