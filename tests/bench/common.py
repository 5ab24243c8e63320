"""Shared pieces of the benchmarks: sample exports, running a plugin with resource accounting."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))
from conftest import MELTANO, TAP_BIN, TARGET_BIN, generate  # noqa: E402

CACHE = ROOT / "output" / "bench"


def machine() -> str:
    mem = psutil.virtual_memory().total / 2**30
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores ({cpu}), {mem:.0f} GiB, Python {platform.python_version()}"


def exports(rows: int, count: int = 1, seed: int = 42, change_rate: float = 0.01) -> tuple[Path, dict]:
    """Generated exports, cached by their parameters (generation is not what is measured)."""
    folder = CACHE / f"exports-{rows}-{count}-{seed}-{change_rate}"
    manifest = folder / "manifest.json"
    if not manifest.exists():
        generate(folder, rows=rows, exports=count, seed=seed, change_rate=change_rate)
    return folder, json.loads(manifest.read_text())


@dataclass
class Usage:
    wall: float
    cpu: float  # user + system seconds of the process and its children
    peak_rss_mb: float


class Watch:
    """Samples a process tree's RSS every 50 ms and sums its CPU time at the end."""

    def __init__(self, proc: subprocess.Popen) -> None:
        self.proc = psutil.Process(proc.pid)
        self.peak = 0
        self.cpu = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self.start = time.perf_counter()
        self._thread.start()

    def _tree(self) -> list[psutil.Process]:
        try:
            return [self.proc, *self.proc.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def _sample(self) -> None:
        cpu_by_pid: dict[int, float] = {}
        while not self._stop.is_set():
            rss = 0
            for p in self._tree():
                try:
                    rss += p.memory_info().rss
                    t = p.cpu_times()
                    cpu_by_pid[p.pid] = t.user + t.system + t.children_user + t.children_system
                except psutil.NoSuchProcess:
                    pass
            self.peak = max(self.peak, rss)
            self.cpu = sum(cpu_by_pid.values())
            time.sleep(0.05)

    def stop(self) -> Usage:
        self._stop.set()
        self._thread.join()
        return Usage(time.perf_counter() - self.start, self.cpu, self.peak / 2**20)


def tap_config(folder: Path, path: Path, **extra) -> Path:
    config = {"molo_path": str(folder / "molo"), "stellar_path": str(folder / "stellar"), **extra}
    path.write_text(json.dumps(config))
    return path


def env() -> dict[str, str]:
    return {**os.environ, "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false"}


__all__ = [
    "CACHE",
    "MELTANO",
    "ROOT",
    "TAP_BIN",
    "TARGET_BIN",
    "Usage",
    "Watch",
    "env",
    "exports",
    "machine",
    "tap_config",
]
