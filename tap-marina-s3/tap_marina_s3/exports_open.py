"""The exports a run loads: listed, fetched and opened in a background thread."""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from marina_common.catalog import SYSTEMS, Table, tables_for
from marina_common.exports import ExportRef, Store, pending, remove_folder, store_for, temp_folder

from .archives import Archive, ExportError, Limits, open_archive

logger = logging.getLogger("tap-marina-s3")


class OpenExport:
    """An export fetched and opened for this run; tables read from it, and which are done."""

    def __init__(self, ref: ExportRef, archive: Archive) -> None:
        self.ref = ref
        self.archive = archive
        self.done: set[str] = set()
        by_base: dict[str, list[str]] = {}
        for name in archive.names:
            by_base.setdefault(name.rsplit("/", 1)[-1].lower(), []).append(name)
        self._by_base = by_base
        tables = tables_for(ref.system)
        wanted = {t.member_basename.lower() for t in tables}
        unknown = [n for n in archive.names if n.rsplit("/", 1)[-1].lower() not in wanted]
        if unknown:
            logger.warning(
                "%s: %d file(s) match no catalog table and are not loaded: %s",
                ref.key,
                len(unknown),
                ", ".join(sorted(unknown)),
            )

    def member_for(self, table: Table) -> str | None:
        if table.source_file in self.archive.names:
            return table.source_file
        candidates = self._by_base.get(table.member_basename.lower(), [])
        if len(candidates) > 1:
            raise ExportError(
                f"{self.ref.key}: {len(candidates)} members could be {table.source_file} "
                f"({', '.join(candidates)}); refusing to guess"
            )
        return candidates[0] if candidates else None


class Exports:
    """The pending exports of every system, opened once per run. `asked`: the systems the
    streams asked for, with their exports (only those can be recorded as loaded)."""

    def __init__(
        self, config: Mapping, selected: Mapping[str, set[str]], loaded: Mapping[str, list[dict]], limits: Limits
    ) -> None:
        self._config, self._selected, self._loaded, self._limits = config, selected, loaded, limits
        self.asked: dict[str, list[OpenExport]] = {}
        self._lock = threading.Lock()  # asked for by the streams and by the read-ahead plan
        self._opener: ThreadPoolExecutor | None = None
        self._opening: dict[str, Future[list[OpenExport]]] = {}
        self._folder: Path | None = None  # where fetched exports are kept during the run

    def store(self, system: str) -> Store | None:
        return store_for(system, self._config)

    def of(self, system: str) -> list[OpenExport]:
        """The pending exports of `system`, fetched and opened. The first call starts opening
        every system's exports in a background thread, this system's first: a Stellar archive
        is inflated while the MOLO tables are being read. An error opening an export is raised
        here, when its system is asked for."""
        with self._lock:
            if self._opener is None:
                self._opener = ThreadPoolExecutor(max_workers=1, thread_name_prefix="open-exports")
                for name in sorted(SYSTEMS, key=lambda name: name != system):
                    self._opening[name] = self._opener.submit(self._open_pending, name)
        exports = self._opening[system].result()
        with self._lock:
            self.asked.setdefault(system, exports)
        return exports

    def _open_pending(self, system: str) -> list[OpenExport]:
        if not self._config.get(f"{system}_enabled", True) or not self._selected.get(system):
            return []
        store = self.store(system)
        if store is None:
            logger.warning("%s: no bucket or path is set; nothing to load", system)
            return []
        pattern = self._config.get(f"{system}_key_pattern") or SYSTEMS[system].key_pattern
        refs = store.list(system, pattern)
        todo = pending(refs, self._loaded.get(system, []), self._config.get("mode") or "latest")
        logger.info(
            "%s: %d export(s) found, %d to load: %s",
            system,
            len(refs),
            len(todo),
            ", ".join(r.key for r in todo) or "nothing new",
        )
        if self._folder is None and todo:
            self._folder = temp_folder()
        opened = []
        try:
            for ref in todo:
                path = store.fetch(ref, self._folder)
                opened.append(OpenExport(ref, open_archive(ref.key, path, self._limits)))
        except BaseException:  # not yet in a future's result: close() would not see them
            for export in opened:
                export.archive.close()
            raise
        return opened

    def close(self) -> None:
        if self._opener is not None:
            self._opener.shutdown(wait=True)
        for future in self._opening.values():
            if future.exception() is None:
                for export in future.result():
                    export.archive.close()
        if self._folder is not None:
            remove_folder(self._folder)
