"""What one tap run shares between its streams: the exports to load, rejects, audit, state."""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import json
import logging
import shutil
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from singer_sdk.helpers._batch import BatchConfig

from marina_common.catalog import SYSTEMS, Table, tables_for
from marina_common.exports import ExportRef, LocalStore, S3Store, Store, pending, remove_folder, temp_folder

from .archives import Archive, ExportError, Limits, open_archive
from .model import MAX_FIELD_BYTES, Lineage
from .readahead import ReadAhead
from .reader import TableRead, TableReader

logger = logging.getLogger("tap-marina-s3")
STATE_STREAM = "marina_load_audit"
KEEP_LOADED = 200  # exports remembered per system in the state
READ_AHEAD = 2  # worker threads reading tables ahead (each with one DuckDB thread)
# Tables read ahead of the one being written out (their results are files, so depth costs
# disk, not memory): enough that the workers never wait for the main thread on a big table.
READ_AHEAD_DEPTH = 16
READ_AHEAD_COLUMNS = 100  # default of the setting typing_columns (it bounds the tap's memory)


def utcnow() -> str:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None).isoformat()


class Budget:
    """Units (here: columns being typed) shared by worker threads: `take(n)` waits until n
    more fit, or until nothing else is taken (so a single bigger demand still runs)."""

    def __init__(self, total: int) -> None:
        self.total, self.used = total, 0
        self._cond = threading.Condition()

    @contextlib.contextmanager
    def take(self, n: int) -> Iterator[None]:
        with self._cond:
            self._cond.wait_for(lambda: self.used == 0 or self.used + n <= self.total)
            self.used += n
        try:
            yield
        finally:
            with self._cond:
                self.used -= n
                self._cond.notify_all()


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


class Run:
    """Created once per tap invocation; streams read exports through it."""

    def __init__(
        self, config: Mapping, state: Mapping, selected: Mapping[str, set[str]], order: Sequence[Table] = ()
    ) -> None:
        self.config = config
        self.run_id = uuid.uuid4().hex
        self.selected = selected  # system -> selected table stream names
        self.order = tuple(order)  # selected tables, in the order their streams are synced
        self._lock = threading.Lock()  # exports are opened by the streams and the read-ahead
        self._read_ahead: ReadAhead[TableRead] | None = None
        self._budget = Budget(int(config.get("typing_columns") or READ_AHEAD_COLUMNS))
        self.limits = Limits(
            max_member_bytes=int(config.get("max_member_bytes") or Limits.max_member_bytes),
            max_compression_ratio=float(config.get("max_compression_ratio") or Limits.max_compression_ratio),
        )
        self.max_field_bytes = int(config.get("max_field_bytes") or MAX_FIELD_BYTES)
        bookmarks = (state or {}).get("bookmarks", {}).get(STATE_STREAM, {})
        self.loaded: dict[str, list[dict]] = {k: list(v) for k, v in bookmarks.get("loaded_exports", {}).items()}
        self._exports: dict[str, list[OpenExport]] = {}  # the systems the streams asked for
        self._opener: ThreadPoolExecutor | None = None
        self._opening: dict[str, Future[list[OpenExport]]] = {}
        self._folder: Path | None = None
        self.work_dir = Path(tempfile.mkdtemp(prefix="marina-run-"))
        self.audit_rows: list[dict] = []
        self.activations: list[tuple[str, int]] = []  # (stream, version) read and checked
        self._rejects = tempfile.TemporaryFile("w+", encoding="utf-8")
        self.rejects_count = 0

    # -- finding and opening exports ---------------------------------------------------------
    def store(self, system: str) -> Store | None:
        cfg = self.config
        bucket = cfg.get(f"{system}_bucket")
        prefix = cfg.get(f"{system}_prefix") or ""
        if bucket:
            return S3Store(
                bucket,
                prefix,
                {
                    "region_name": cfg.get("aws_region"),
                    "endpoint_url": cfg.get("endpoint_url"),
                    "aws_access_key_id": cfg.get("aws_access_key_id"),
                    "aws_secret_access_key": cfg.get("aws_secret_access_key"),
                    "aws_session_token": cfg.get("aws_session_token"),
                },
                cfg.get("aws_profile"),
            )
        if path := cfg.get(f"{system}_path"):
            return LocalStore(path, prefix)
        return None

    def exports(self, system: str) -> list[OpenExport]:
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
            self._exports.setdefault(system, exports)
        return exports

    # -- batch mode --------------------------------------------------------------------------
    @functools.cached_property
    def batch_folder(self) -> Path | None:
        """Where this run writes its Parquet batch files: `<root>/<prefix><run id>/` when the
        setting `batch_config` asks for Parquet files on a local `file://` root; None in record
        mode and for any other batch setup (the SDK then batches the records itself)."""
        raw = self.config.get("batch_config")
        if not raw:
            return None
        config = BatchConfig.from_dict(raw)
        encoding, storage = config.encoding, config.storage
        if encoding.format != "parquet" or encoding.compression not in (None, "none"):
            return None
        if not storage.root.startswith("file://"):
            return None
        root = Path(storage.root[len("file://") :])
        _remove_empty_folders(root, older_than=3600)  # left by earlier runs (files loaded)
        folder = root / f"{storage.prefix or ''}{self.run_id}"
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    # -- reading tables ----------------------------------------------------------------------
    def open_table(self, export: OpenExport, table: Table, member: str) -> TableRead:
        """A table's read, done by one of the read-ahead workers, which read the next tables in
        the order the streams ask for them while the main thread writes out the current one."""
        if self._read_ahead is None:
            self._read_ahead = ReadAhead(self._plan(), TableRead.discard, workers=READ_AHEAD, depth=READ_AHEAD_DEPTH)
        return self._read_ahead.take(
            (export.ref.key, table.stream), functools.partial(self._read, export, table, member)
        )

    def _plan(self) -> Iterator[tuple[tuple[str, str], Callable[[], TableRead]]]:
        for table in self.order:
            for export in self.exports(table.system):
                member = export.member_for(table)
                if member is not None:
                    yield (export.ref.key, table.stream), functools.partial(self._read, export, table, member)

    def _read(self, export: OpenExport, table: Table, member: str) -> TableRead:
        """One table of one export, read to the end (in a worker thread): its good rows go to
        a Parquet file in the batch folder (batch mode) or the run's work folder. Copying the
        member and counting its rows need little memory: they run outside the column budget,
        so a worker prepares its next table while a wide one is typed."""
        reader = TableReader(
            table,
            day_first=bool(self.config.get("day_first")),
            work_dir=self.work_dir,
            max_field_bytes=self.max_field_bytes,
        )
        ref = export.ref
        with export.archive.open(member) as raw, _naming(ref.key, member):
            reader.prepare(raw)
        target = (self.batch_folder or self.work_dir) / f"{table.stream}-{uuid.uuid4().hex}.parquet"
        with self._budget.take(len(table.columns)):
            return reader.write(target, Lineage(ref.key, member, ref.exported_at.isoformat()))

    def _open_pending(self, system: str) -> list[OpenExport]:
        if not self.config.get(f"{system}_enabled", True) or not self.selected.get(system):
            return []
        store = self.store(system)
        if store is None:
            logger.warning("%s: no bucket or path is set; nothing to load", system)
            return []
        pattern = self.config.get(f"{system}_key_pattern") or SYSTEMS[system].key_pattern
        refs = store.list(system, pattern)
        todo = pending(refs, self.loaded.get(system, []), self.config.get("mode") or "latest")
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
                opened.append(OpenExport(ref, open_archive(ref.key, path, self.limits)))
        except BaseException:  # not yet in self._exports, so close() would not see them
            for export in opened:
                export.archive.close()
            raise
        return opened

    # -- rejects and audit -------------------------------------------------------------------
    def add_reject(self, record: dict) -> None:
        self._rejects.write(json.dumps(record, default=str) + "\n")
        self.rejects_count += 1

    def rejects(self) -> Iterator[dict]:
        self._rejects.flush()
        self._rejects.seek(0)
        for line in self._rejects:
            yield json.loads(line)

    def add_audit(self, row: dict) -> None:
        self.audit_rows.append({"run_id": self.run_id, **row})

    # -- state -------------------------------------------------------------------------------
    def completed_exports(self) -> dict[str, list[dict]]:
        """Per system, the loaded-exports list including this run's fully read exports."""
        result = {k: list(v) for k, v in self.loaded.items()}
        for system, exports in self._exports.items():
            for export in exports:
                if self.selected.get(system, set()) <= export.done:
                    seen = result.setdefault(system, [])
                    seen.append(export.ref.identity())
                    del seen[:-KEEP_LOADED]
        return result

    def close(self) -> None:
        if self._read_ahead is not None:
            self._read_ahead.close()
            self._read_ahead = None
        if self._opener is not None:
            self._opener.shutdown(wait=True)
        for future in self._opening.values():
            if future.exception() is None:
                for export in future.result():
                    export.archive.close()
        if self._folder is not None:
            remove_folder(self._folder)
        remove_folder(self.work_dir)
        self._rejects.close()


@contextlib.contextmanager
def _naming(key: str, member: str) -> Iterator[None]:
    """An ExportError from reading a member names the export and member (the archive's own
    errors already do)."""
    try:
        yield
    except ExportError as exc:
        if str(exc).startswith(f"{key}:"):
            raise
        raise ExportError(f"{key}/{member}: {exc}") from None


def _remove_empty_folders(root: Path, older_than: float, orphaned_after: float = 86400) -> None:
    """Clean the batch root of earlier runs' folders. The loader deletes each file once it is
    loaded, so a run's folder ends up empty; recent ones may belong to a run that is starting.
    Files still there a day later were never loaded (the load failed; the export was read again
    by the next run): they are removed, with a warning."""
    if not root.is_dir():
        return
    now = dt.datetime.now().timestamp()
    for folder in root.iterdir():
        if not folder.is_dir():
            continue
        age = now - folder.stat().st_mtime
        if age <= older_than:
            continue
        files = list(folder.iterdir())
        if not files:
            folder.rmdir()
        elif age > orphaned_after:
            logger.warning("Removing %d batch file(s) in %s never loaded (a failed load)", len(files), folder)
            shutil.rmtree(folder, ignore_errors=True)
