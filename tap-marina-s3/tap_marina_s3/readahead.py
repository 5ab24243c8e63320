"""Read-ahead: worker threads read the next tables while the main thread writes one out.

Reading a table (inflating its member, copying it as UTF-8, typing it in DuckDB, which releases
the GIL) is nearly all of the tap's work, and needs nothing from the tables before it. So
`workers` threads read the next tables, in the order the streams will ask for them, into files;
the main thread writes each table out in turn (its records or a BATCH message). At most
`depth` tables are read ahead of the one being written (a worker that finished goes on with the
next one even while the main thread waits for a big table).

A read whose key is not the one asked for (the order changed, say after a failure) is discarded
with every read after it, and the asked-for one is read in the calling thread: read-ahead can
only make a run faster, never change what it reads. An error while reading is raised where the
read is taken, so it names the export and member exactly as a read in the main thread would.
"""

from __future__ import annotations

import collections
import threading
from collections.abc import Callable, Hashable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Generic, TypeVar

T = TypeVar("T")
Plan = Iterator[tuple[Hashable, Callable[[], T]]]
Done = tuple[T | None, BaseException | None]


class ReadAhead(Generic[T]):
    def __init__(self, plan: Plan, discard: Callable[[T], None], workers: int = 1, depth: int | None = None) -> None:
        self._plan = plan
        self._discard = discard
        self._depth = depth or workers
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="read-ahead")
        self._ahead: collections.deque[tuple[Hashable, Future[Done]]] = collections.deque()
        self._skip_to: Hashable | None = None
        self._plan_done = False
        self._closed = False
        self._lock = threading.Lock()

    @staticmethod
    def _run(prepare: Callable[[], T]) -> Done:
        try:
            return prepare(), None
        except BaseException as exc:
            return None, exc

    def _fill(self) -> None:
        """Submit reads from the plan until `depth` are ahead (the plan is walked here, in the
        calling thread: it only lists exports and members)."""
        while len(self._ahead) < self._depth and not self._plan_done:
            item = next(self._plan, None)
            if item is None:
                self._plan_done = True
                return
            key, prepare = item
            if self._skip_to is not None:
                if key == self._skip_to:
                    self._skip_to = None
                continue
            self._ahead.append((key, self._executor.submit(self._run, prepare)))

    def take(self, key: Hashable, prepare: Callable[[], T]) -> T:
        """The read for `key`: read ahead if it was next in the plan, else read now. Then the
        reads after it are started."""
        if self._ahead and self._ahead[0][0] == key:
            value, error = self._ahead.popleft()[1].result()
        else:
            self._drop()
            self._skip_to = key  # the plan goes on after the read taken now
            value, error = self._run(prepare)
        if error is not None:
            raise error  # the run stops: nothing more to read
        with self._lock:
            if not self._closed:
                self._fill()
        return value  # type: ignore[return-value]

    def _drop(self) -> None:
        while self._ahead:
            _, future = self._ahead.popleft()
            value, _ = future.result()
            if value is not None:
                self._discard(value)

    def close(self) -> None:
        """Stop: wait for the reads under way and discard them."""
        with self._lock:
            self._closed = True
        self._drop()
        self._executor.shutdown(wait=True)
