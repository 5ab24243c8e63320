"""What one tap run shares between its streams: the exports to load, rejects, audit, state."""

from __future__ import annotations

import datetime as dt
import json
import logging
import tempfile
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path

from .archives import Archive, ExportError, Limits, open_archive
from .catalog import SYSTEMS, Table, tables_for
from .storage import ExportRef, LocalStore, S3Store, Store, pending, remove_folder, temp_folder

logger = logging.getLogger("tap-marina-s3")
STATE_STREAM = "marina_load_audit"
KEEP_LOADED = 200  # exports remembered per system in the state


def utcnow() -> str:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None).isoformat()


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
                ref.key, len(unknown), ", ".join(sorted(unknown)),
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

    def __init__(self, config: Mapping, state: Mapping, selected: Mapping[str, set[str]]) -> None:
        self.config = config
        self.run_id = uuid.uuid4().hex
        self.selected = selected  # system -> selected table stream names
        self.limits = Limits(
            max_member_bytes=int(config.get("max_member_bytes") or Limits.max_member_bytes),
            max_compression_ratio=float(
                config.get("max_compression_ratio") or Limits.max_compression_ratio
            ),
        )
        bookmarks = (state or {}).get("bookmarks", {}).get(STATE_STREAM, {})
        self.loaded: dict[str, list[dict]] = {
            k: list(v) for k, v in bookmarks.get("loaded_exports", {}).items()
        }
        self._exports: dict[str, list[OpenExport]] = {}
        self._folder: Path | None = None
        self.work_dir = Path(tempfile.mkdtemp(prefix="marina-run-"))
        self.audit_rows: list[dict] = []
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
        if system not in self._exports:
            self._exports[system] = self._open_pending(system)
        return self._exports[system]

    def _open_pending(self, system: str) -> list[OpenExport]:
        if not self.config.get(f"{system}_enabled", True) or not self.selected.get(system):
            return []
        store = self.store(system)
        if store is None:
            logger.warning("%s: no bucket or path is set; nothing to load", system)
            return []
        pattern = self.config.get(f"{system}_key_pattern") or SYSTEMS[system]["key_pattern"]
        refs = store.list(system, pattern)
        todo = pending(refs, self.loaded.get(system, []), self.config.get("mode") or "latest")
        logger.info(
            "%s: %d export(s) found, %d to load: %s",
            system, len(refs), len(todo), ", ".join(r.key for r in todo) or "nothing new",
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
        for exports in self._exports.values():
            for export in exports:
                export.archive.close()
        if self._folder is not None:
            remove_folder(self._folder)
        remove_folder(self.work_dir)
        self._rejects.close()
