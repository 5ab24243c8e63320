"""Streams: one class for every table (built from the catalog), plus rejects and the load audit."""

from __future__ import annotations

import datetime as dt
import typing as t

from singer_sdk import Stream
from singer_sdk.helpers._batch import BatchConfig, SDKBatchMessage
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.mapper import SameRecordTransform

from marina_common.catalog import AUDIT, LINEAGE, REJECTS, Bookkeeping, SideTable, Table

from .archives import ExportError
from .model import ReadStats, Reject
from .reader import TableRead
from .run import Run, utcnow

if t.TYPE_CHECKING:
    from singer_sdk import Tap

_JSON_SCHEMA = {  # a bookkeeping column's kind as a JSON Schema property
    "text": {"type": ["string", "null"]},
    "integer": {"type": ["integer", "null"]},
    "boolean": {"type": ["boolean", "null"]},
    "timestamp": {"type": ["string", "null"], "format": "date-time"},
    "json": {"type": ["object", "null"], "additionalProperties": True},
    "list": {"type": ["array", "null"], "items": {}},
}
# The lineage properties of every table stream (the SDC_* columns, sent as _sdc_*)
LINEAGE_SCHEMA = {f"_{column.property_name}": _JSON_SCHEMA[column.kind] for column in LINEAGE}


class RejectRatioError(RuntimeError):
    pass


class RowsNotReconciledError(ExportError):
    """The rows loaded and rejected do not add up to the rows counted in the file."""


def audit_row(audit: dict, stats: ReadStats, *, present: bool, completed: bool) -> dict:
    """One `marina_load_audit` record: what was read of one table of one export."""
    return {
        **audit,
        "present": present,
        "completed": completed,
        "rows_read": stats.rows_read,
        "rows_counted": stats.rows_counted,
        "rows_emitted": stats.rows_emitted,
        "rows_rejected": stats.rows_rejected,
        "rows_decoded_cp1252": stats.lines_decoded_fallback,
        "bytes_read": stats.bytes_read,
        "missing_columns": stats.missing_columns,
        "extra_columns": stats.extra_columns,
        "finished_at": utcnow(),
    }


class TableStream(Stream):
    """All rows of one catalog table, one export after another (oldest first)."""

    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE  # values are typed by the reader
    STATE_MSG_FREQUENCY = 10**9  # state only changes at the end of the run

    def __init__(self, tap: Tap, table: Table) -> None:
        self.table = table
        schema = {
            "type": "object",
            "properties": {
                **{c.property_name: c.json_schema() for c in table.columns},
                **LINEAGE_SCHEMA,
            },
        }
        super().__init__(tap, schema=schema, name=table.stream)
        self.primary_keys = table.key_properties

    def _is_plain(self) -> bool:
        """True when no stream map or property deselection applies: the reader's Parquet files
        then hold exactly the records the SDK would write."""
        maps = self.stream_maps
        return (
            len(maps) == 1
            and type(maps[0]) is SameRecordTransform
            and maps[0].stream_alias == self.name
            and all(self.mask.get(("properties", p), True) for p in self.schema["properties"])
        )

    @property
    def run(self) -> Run:
        return self._tap.run  # type: ignore[attr-defined]

    def _reads(self) -> t.Iterator[tuple[TableRead, dict]]:
        """Each export's read of this table, oldest export first. The caller consumes the
        read (records or the batch file, and the rejects); then the read is checked and
        audited, and its activation queued for the end of the run (AuditStream)."""
        table = self.table
        for export in self.run.exports.of(table.system):
            ref = export.ref
            member = export.member_for(table)
            audit = {
                "system": table.system,
                "table_name": table.stream,
                "source_key": ref.key,
                "source_member": member or table.source_file,
                "exported_at": ref.exported_at.isoformat(),
                "table_version": ref.version,
                "started_at": utcnow(),
            }
            if member is None:
                self.logger.warning(
                    "%s: table %s is missing from the export (no %s); its staging table keeps "
                    "the previous snapshot and no row is marked deleted",
                    ref.key,
                    table.stream,
                    table.source_file,
                )
                self.run.ledger.add_audit(audit_row(audit, ReadStats(), present=False, completed=False))
            else:
                read = self.run.open_table(export, table, member)
                self._stream_version = ref.version  # the SDK's RECORD messages carry it
                yield read, audit
                self._check(read, audit)
            export.done.add(table.stream)

    def _check(self, read: TableRead, audit: dict) -> None:
        """Audit a consumed read and queue its activation, once its rows reconcile."""
        key, member, stats, ledger = audit["source_key"], audit["source_member"], read.stats, self.run.ledger
        if not read.has_header:
            # A zero-byte member is not an empty table (that would have a header row): it is
            # a broken export of this table. Staging keeps its snapshot; nothing is deleted.
            self.logger.warning(
                "%s/%s: the file is empty (not even a header row); table %s keeps its "
                "previous snapshot and no row is marked deleted",
                key,
                member,
                self.name,
            )
            ledger.add_audit(audit_row(audit, stats, present=True, completed=False))
            return
        if stats.rows_counted != stats.rows_emitted + stats.rows_rejected:
            raise RowsNotReconciledError(
                f"{key}/{member}: table {self.name}: {stats.rows_counted} rows counted "
                f"in the file, but {stats.rows_emitted} loaded + {stats.rows_rejected} "
                f"rejected = {stats.rows_emitted + stats.rows_rejected}; the run stops and "
                "the state is left as it was. The file is malformed in a way the reader "
                "does not handle: keep it and report it."
            )
        self._warn_columns(key, member, stats)
        ledger.add_audit(audit_row(audit, stats, present=True, completed=True))
        self._check_reject_ratio(key, member, stats)
        ledger.activate(self.name, audit["table_version"])

    def get_records(self, context: dict | None) -> t.Iterable[dict]:  # noqa: ARG002 (the SDK's signature)
        """Record mode: each export's rows, read back from the reader's Parquet file."""
        for read, audit in self._reads():
            yield from read.records()
            for reject in read.rejects():
                self.run.ledger.add_reject(self._reject_record(reject, audit))

    # -- batch mode: one Parquet file per export and table, written by DuckDB ----------------
    def get_batches(self, batch_config: BatchConfig, context: dict | None):
        """Batch mode (setting `batch_config`, Parquet on a local `file://` root, and no stream
        map): the reader's Parquet file of each export's table is the batch. Any other batch
        setup falls back to the SDK's batching of the records."""
        if self.run.batch_folder is None or not self._is_plain():
            yield from super().get_batches(batch_config, context)
            return
        for read, audit in self._reads():
            for reject in read.rejects():
                self.run.ledger.add_reject(self._reject_record(reject, audit))
            if read.rows_file is not None:
                yield batch_config.encoding, [read.rows_file.as_uri()]

    def _write_batch_message(self, encoding, manifest: list[str]) -> None:
        """A BATCH message that also carries the stream version (like RECORD messages), so the
        loader knows which snapshot the file belongs to before ACTIVATE_VERSION. (The SDK's
        own sets no version; it also marks the state unflushed, which would send a STATE after
        every file: the state only changes at the end of the run.)"""
        message = SDKBatchMessage(stream=self.name, encoding=encoding, manifest=manifest, version=self._stream_version)
        self._tap.write_message(message)

    def _reject_record(self, reject: Reject, audit: dict) -> dict:
        first = reject.errors[0]
        self.logger.warning(
            "Rejected %s row %d of %s: column %s: %s (value %r)",
            audit["source_member"],
            reject.row_number,
            audit["source_key"],
            first["column"],
            first["error"],
            first["value"],
        )
        return {
            "run_id": self.run.run_id,
            "system": self.table.system,
            "table_name": self.table.stream,
            "source_key": audit["source_key"],
            "source_member": audit["source_member"],
            "source_row_number": reject.row_number,
            "exported_at": audit["exported_at"],
            "record_key": reject.record_key,
            "raw_values": reject.raw_values,
            "errors": reject.errors,
            "rejected_at": utcnow(),
        }

    def _warn_columns(self, key: str, member: str, stats) -> None:
        if stats.missing_columns:
            self.logger.warning(
                "%s/%s: %d catalog column(s) not in the file, loaded as NULL: %s",
                key,
                member,
                len(stats.missing_columns),
                ", ".join(stats.missing_columns),
            )
        if stats.extra_columns:
            self.logger.warning(
                "%s/%s: %d file column(s) match no catalog column, kept in _sdc_extra: %s",
                key,
                member,
                len(stats.extra_columns),
                ", ".join(stats.extra_columns),
            )

    def _check_reject_ratio(self, key: str, member: str, stats) -> None:
        limit = float(self.config.get("max_reject_ratio", 0.01))
        if stats.rows_read and stats.rows_rejected / stats.rows_read > limit:
            raise RejectRatioError(
                f"{key}/{member}: table {self.table.stream} rejected {stats.rows_rejected} of "
                f"{stats.rows_read} rows ({stats.rows_rejected / stats.rows_read:.1%}), over "
                f"max_reject_ratio {limit:.1%}; no table of this run was activated (staging "
                "keeps the previous export). See the warnings above for each row and column; "
                "fix the export or raise max_reject_ratio, then run again."
            )


class _BookkeepingStream(Stream):
    """Always selected: deselecting them would lose rejects or the run's state. Always sent as
    RECORD messages (a few rows), also in batch mode."""

    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.ROOT_ONLY

    def get_batch_config(self, config: t.Mapping) -> None:  # noqa: ARG002
        return None

    @property
    def selected(self) -> bool:  # type: ignore[override]
        return True

    @selected.setter
    def selected(self, value: bool | None) -> None:
        pass

    @property
    def run(self) -> Run:
        return self._tap.run  # type: ignore[attr-defined]


def side_schema(side: SideTable) -> dict:
    """The stream schema of a side table (marina_common's REJECTS, AUDIT): its key columns are
    always set, so they are required and never null."""
    keys = side.key_properties

    def prop(column: Bookkeeping) -> dict:
        schema = {**_JSON_SCHEMA[column.kind], "description": column.description}
        if column.property_name in keys:
            schema["type"] = [t for t in schema["type"] if t != "null"]
        return schema

    return {"type": "object", "properties": {c.property_name: prop(c) for c in side.columns}, "required": keys}


class RejectsStream(_BookkeepingStream):
    name = REJECTS.stream
    primary_keys = tuple(REJECTS.key_properties)
    schema = side_schema(REJECTS)

    def get_records(self, context: dict | None) -> t.Iterable[dict]:  # noqa: ARG002 (the SDK's signature)
        yield from self.run.ledger.rejects()


class AuditStream(_BookkeepingStream):
    """One row per export and table; also where the run's state (loaded exports) is kept."""

    name = AUDIT.stream
    primary_keys = tuple(AUDIT.key_properties)
    schema = side_schema(AUDIT)

    def get_records(self, context: dict | None) -> t.Iterable[dict]:  # noqa: ARG002 (the SDK's signature)
        # Every selected table of every export has now been read to the end and checked.
        # Only now are the exports' tables activated, all together: a run that fails on any
        # table activates none, so no staging table moves to an export the others lack. The
        # loader applies the ACTIVATE_VERSIONs together at the STATE message that follows.
        streams = self._tap.streams
        for stream_name, version in self.run.ledger.activations:
            streams[stream_name]._write_activate_version_message(version)  # noqa: SLF001
        yield from self.run.ledger.audit_rows
        # Record each fully read export as loaded.
        self.stream_state["loaded_exports"] = self.run.completed_exports()
        self.stream_state["last_run"] = {
            "run_id": self.run.run_id,
            "finished_at": dt.datetime.now(dt.UTC).isoformat(),
        }
