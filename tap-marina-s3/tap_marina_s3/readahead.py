"""Read-ahead: the next table is prepared in a background thread while one streams out.

Preparing a table (inflating its member, copying it as UTF-8, scanning it, planning its typing
query) is about a third of the tap's work and needs no output; typing is DuckDB's and releases
the GIL. So while the main thread streams table N, one background thread prepares table N+1, in
the order the streams will ask for them. At most one table is prepared ahead.

A prepared read whose key is not the one asked for (the order changed, say after a failure) is
discarded and the asked-for one is prepared in the calling thread: read-ahead can only make a
run faster, never change what it reads. An error while preparing is raised where the read is
taken, so it names the export and member exactly as a synchronous read would.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Generic, TypeVar

T = TypeVar("T")
Plan = Iterator[tuple[Hashable, Callable[[], T]]]


class ReadAhead(Generic[T]):
    def __init__(self, plan: Plan, discard: Callable[[T], None]) -> None:
        self._plan = plan
        self._discard = discard
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="read-ahead")
        self._next: Future | None = None
        self._skip_to: Hashable | None = None
        self._closed = False
        self._lock = threading.Lock()

    def _advance(self) -> tuple[Hashable, T | None, BaseException | None] | None:
        """In the background thread: prepare the plan's next read (after `_skip_to`)."""
        for key, prepare in self._plan:
            if self._skip_to is not None:
                if key == self._skip_to:
                    self._skip_to = None
                continue
            try:
                return key, prepare(), None
            except BaseException as exc:  # noqa: BLE001 - raised again where the read is taken
                return key, None, exc
        return None

    def take(self, key: Hashable, prepare: Callable[[], T]) -> T:
        """The read for `key`: prepared ahead if it was next in the plan, else prepared now.
        Then the read after it starts preparing in the background."""
        ahead = self._next.result() if self._next is not None else None
        self._next = None
        if ahead is not None and ahead[0] == key:
            _, value, error = ahead
        else:
            if ahead is not None and ahead[1] is not None:
                self._discard(ahead[1])
            self._skip_to = key  # the plan goes on after the read taken now
            value, error = None, None
            try:
                value = prepare()
            except BaseException as exc:  # noqa: BLE001 - raised below, after scheduling
                error = exc
        if error is not None:
            raise error  # the run stops: nothing more to prepare
        with self._lock:
            if not self._closed:
                self._next = self._executor.submit(self._advance)
        return value  # type: ignore[return-value]

    def close(self) -> None:
        """Stop: wait for a read being prepared and discard it."""
        with self._lock:
            self._closed = True
        if self._next is not None:
            ahead = self._next.result()
            self._next = None
            if ahead is not None and ahead[1] is not None:
                self._discard(ahead[1])
        self._executor.shutdown(wait=True)
