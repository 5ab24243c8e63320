"""What one tap run shares between its streams: the exports, the reads, rejects, audit, state."""

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
from pathlib import Path

from singer_sdk.helpers._batch import BatchConfig

from marina_common.catalog import Table
from marina_common.exports import remove_folder

from .archives import ExportError, Limits
from .exports_open import Exports, OpenExport
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


class Ledger:
    """What the run reports at its end: the rejects (spooled to a file: there may be many),
    one audit row per export and table, and the tables to activate."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        self.audit_rows: list[dict] = []
        self.activations: list[tuple[str, int]] = []  # (stream, version) read and checked
        self._rejects = tempfile.TemporaryFile("w+", encoding="utf-8")  # noqa: SIM115 (open for the run)

    def add_reject(self, record: dict) -> None:
        self._rejects.write(json.dumps(record, default=str) + "\n")

    def rejects(self) -> Iterator[dict]:
        self._rejects.flush()
        self._rejects.seek(0)
        for line in self._rejects:
            yield json.loads(line)

    def add_audit(self, row: dict) -> None:
        self.audit_rows.append({"run_id": self.run_id, **row})

    def activate(self, stream: str, version: int) -> None:
        self.activations.append((stream, version))

    def close(self) -> None:
        self._rejects.close()


class Run:
    """Created once per tap invocation; streams read exports through it."""

    def __init__(
        self, config: Mapping, state: Mapping, selected: Mapping[str, set[str]], order: Sequence[Table] = ()
    ) -> None:
        self.config = config
        self.run_id = uuid.uuid4().hex
        self.selected = selected  # system -> selected table stream names
        self.order = tuple(order)  # selected tables, in the order their streams are synced
        bookmarks = (state or {}).get("bookmarks", {}).get(STATE_STREAM, {})
        self.loaded: dict[str, list[dict]] = {k: list(v) for k, v in bookmarks.get("loaded_exports", {}).items()}
        limits = Limits(
            max_member_bytes=int(config.get("max_member_bytes") or Limits.max_member_bytes),
            max_compression_ratio=float(config.get("max_compression_ratio") or Limits.max_compression_ratio),
        )
        self.exports = Exports(config, selected, self.loaded, limits)
        self.ledger = Ledger(self.run_id)
        self.work_dir = Path(tempfile.mkdtemp(prefix="marina-run-"))
        self._budget = Budget(int(config.get("typing_columns") or READ_AHEAD_COLUMNS))
        self._read_ahead: ReadAhead[TableRead] | None = None

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
            for export in self.exports.of(table.system):
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
            max_field_bytes=int(self.config.get("max_field_bytes") or MAX_FIELD_BYTES),
        )
        ref = export.ref
        with export.archive.open(member) as raw, _naming(ref.key, member):
            reader.prepare(raw)
        target = (self.batch_folder or self.work_dir) / f"{table.stream}-{uuid.uuid4().hex}.parquet"
        with self._budget.take(len(table.columns)):
            return reader.write(target, Lineage(ref.key, member, ref.exported_at.isoformat()))

    # -- state -------------------------------------------------------------------------------
    def completed_exports(self) -> dict[str, list[dict]]:
        """Per system, the loaded-exports list including this run's fully read exports."""
        result = {k: list(v) for k, v in self.loaded.items()}
        for system, exports in self.exports.asked.items():
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
        self.exports.close()
        remove_folder(self.work_dir)
        self.ledger.close()


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
