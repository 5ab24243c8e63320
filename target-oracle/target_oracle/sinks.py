"""The staging sink: batches of rows into shadow tables per version, swapped on ACTIVATE_VERSION.

* Rows with a ``version`` (table streams) go to the shadow table ``STG_<X>__LOADING``, created
  fresh at the first batch of a new version. ``activate_version`` says what the version's
  activation does to ``STG_<X>`` (a :class:`Swap`); the target applies the swaps of all tables
  of an export together, in one transaction, at the STATE message that follows.
* Rows without a version (``marina_rejects``, ``marina_load_audit``) are appended to ``STG_<X>``.

RECORDs reach :meth:`StagingSink.process_record` through singer-sdk's record path, which buffers
each record's values as a tuple; :meth:`StagingSink.process_batch` converts them a column at a
time and hands them to the dialect. BATCH messages (Parquet files) go to
:meth:`StagingSink.load_batch_files`, which the dialect reads itself.
"""

from __future__ import annotations

import datetime as dt
import gc
import operator
import typing as t
from dataclasses import dataclass, field
from pathlib import Path

from singer_sdk.sinks import Sink

from target_oracle import naming
from target_oracle.dialects.base import RowError, RowErrors, Swap
from target_oracle.types import ValueConversionError, column_specs

if t.TYPE_CHECKING:
    from singer_sdk.target_base import Target

    from target_oracle.dialects.base import Dialect

MAX_REPORTED_ROW_ERRORS = 100
LINEAGE_PROPERTIES = ("_sdc_source_key", "_sdc_source_member", "_sdc_row_number")
# Properties singer-sdk adds to every record (add_record_metadata); the version is read from
# _sdc_table_version, the others are not loaded (the loader has its own SDC_LOADED_AT).
SDK_METADATA = frozenset(
    {
        "_sdc_extracted_at",
        "_sdc_received_at",
        "_sdc_batched_at",
        "_sdc_deleted_at",
        "_sdc_sequence",
        "_sdc_table_version",
        "_sdc_sync_started_at",
    }
)


class LoadError(RuntimeError):
    """Rows could not be written; details of every failed row were logged."""


@dataclass
class StreamLoad:
    """Loading state of one stream in a run. The target keeps it and hands it to each sink of
    the stream: a schema change makes a new sink, the shadow table and versions carry over."""

    staging: str
    shadow: str
    shadow_version: int | None = None
    shadow_rows: int = 0
    rows_seen: int = 0
    activated: set[int] = field(default_factory=set)
    pending: Swap | None = None  # activation received, applied at the next STATE message

    @classmethod
    def start(cls, stream_name: str, dialect: Dialect, logger: t.Any) -> StreamLoad:
        """The state of a stream at its first SCHEMA in a run: a shadow table left by an
        interrupted run is discarded (its version can never be activated)."""
        staging = naming.table_name(stream_name)
        load = cls(staging, naming.shadow_name(staging))
        if dialect.table_columns(load.shadow) is not None:
            logger.warning(
                "Discarding %s left by an interrupted run; %s keeps its last complete snapshot",
                load.shadow,
                load.staging,
            )
            dialect.drop_table(load.shadow)
        return load

    def unfinished(self) -> str | None:
        """What the end of the input left undone, for the log; None when nothing."""
        if self.pending is not None:
            return (
                f"the activation of version {self.pending.version} was not applied (no STATE message "
                f"followed it: the tap did not finish); {self.staging} keeps its previous snapshot"
            )
        if self.shadow_version is not None:
            return (
                f"ended without ACTIVATE_VERSION for version {self.shadow_version}: {self.shadow_rows} "
                f"rows stay in {self.shadow} (discarded at the next run); {self.staging} keeps its "
                "previous snapshot"
            )
        return None


def _row_getter(props: list[str]) -> t.Callable[[dict], tuple]:
    """A C-level function returning the values of ``props`` of a record as a tuple."""
    if len(props) == 1:
        prop = props[0]
        return lambda record: (record[prop],)
    if not props:
        return lambda _record: ()
    return operator.itemgetter(*props)


class StagingSink(Sink):
    """Loads one stream into its staging table (through a shadow table for table streams)."""

    def __init__(
        self,
        target: Target,
        stream_name: str,
        schema: dict,
        key_properties: t.Sequence[str] | None,
        *,
        dialect: Dialect,
        load: StreamLoad,
    ) -> None:
        super().__init__(target, stream_name, schema, key_properties)
        self.dialect = dialect
        self.load = load
        properties = {k: v for k, v in self.schema["properties"].items() if k not in SDK_METADATA}
        self.specs = column_specs({"properties": properties})
        self.props = list(properties)
        self._getter = _row_getter(self.props)
        self._record_size = len(SDK_METADATA | set(self.props))  # a record without unknown keys
        self._rows: list[tuple] = []
        self._version: int | None = None  # of the buffered rows
        self._warned_unknown: set[str] = set()

    # -- singer-sdk settings -------------------------------------------------------------------
    @property
    def include_sdc_metadata_properties(self) -> bool:
        """singer-sdk hands a RECORD's ``version`` to the sink only as ``_sdc_table_version``
        of its metadata; the metadata columns themselves are not created (SDK_METADATA)."""
        return True

    def get_validator(self) -> None:
        """No JSON schema validation of records: each column of a batch is converted and
        checked (types.convert_column), which names the failing row and column."""
        return

    def _validate_and_parse(self, record: dict) -> dict:
        """Records are taken as sent (singer-sdk would parse date-times one record at a time
        and fail without naming the row); each column of a batch is converted and checked."""
        return record

    @property
    def current_size(self) -> int:
        return len(self._rows)

    # -- lifecycle -----------------------------------------------------------------------------
    def setup(self) -> None:
        """Create (or align) the staging table now, even if no record ever arrives."""
        self.dialect.ensure_table(self.load.staging, self.specs)

    def process_record(self, record: dict, context: dict) -> None:  # noqa: ARG002 - singer-sdk signature
        """Buffer the record's values as a tuple in column order (the only per-record work);
        the rows of one batch share a version."""
        version = record.get("_sdc_table_version")
        if version != self._version:
            self._write_rows()
            self._version = version
        if len(record) == self._record_size:
            try:
                self._rows.append(self._getter(record))
                return
            except KeyError:
                pass
        self._warn_unknown_properties(record)
        self._rows.append(tuple(map(record.get, self.props)))

    def process_batch(self, context: dict) -> None:  # noqa: ARG002 - singer-sdk signature
        self._write_rows()

    def load_batch_files(self, encoding: dict, files: t.Sequence[str], version: int | None) -> None:
        """Load Parquet batch files into the shadow (versioned) or staging table; the dialect
        reads them. Each file is deleted once its rows are written."""
        fmt, compression = encoding.get("format"), encoding.get("compression")
        if fmt != "parquet" or compression not in (None, "none"):
            msg = (
                f"Stream {self.stream_name}: BATCH files must be uncompressed-container "
                f"Parquet (got format={fmt!r}, compression={compression!r})"
            )
            raise LoadError(msg)
        self._write_rows()  # records buffered before the files are written first
        paths = [_local_path(self.stream_name, uri) for uri in files]
        table = self._table(version)
        loaded_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        try:
            count = self.dialect.insert_parquet(table, self.specs, paths, version, loaded_at)
        except RowErrors as exc:  # numbered from the first file's first row
            exc.table = table
            self._fail([], exc)
        self.tally_record_read(count)
        self.record_counter_metric.increment(count)
        self._written(table, count, version, f" from {len(paths)} batch file(s)")
        for path in paths:
            path.unlink(missing_ok=True)

    # -- batches -------------------------------------------------------------------------------
    def _write_rows(self) -> None:
        rows, self._rows = self._rows, []
        if not rows:
            return
        version, count = self._version, len(rows)
        table = self._table(version)
        columns: list[t.Sequence] = list(zip(*rows, strict=True)) if self.props else []
        columns.append([version] * count)
        columns.append([dt.datetime.now(dt.UTC).replace(tzinfo=None)] * count)
        try:
            self.dialect.insert_batch(table, self.specs, columns)
        except ValueConversionError as exc:
            self._fail(rows, RowErrors(table, [RowError(exc.row_index, exc.column, exc.error, exc.value)]))
        except RowErrors as exc:
            exc.table = table
            self._fail(rows, exc)
        self._written(table, count, version)
        del rows, columns
        if not gc.isenabled():  # TargetOracle.listen collects here, between batches
            gc.collect()

    def _table(self, version: int | None) -> str:
        """The table a batch of ``version`` goes to, with this sink's columns."""
        if version is None:
            return self.load.staging
        if self.load.shadow_version != version:
            self._start_shadow(version)
        else:  # made by an earlier sink of the stream: add the columns of a newer schema
            self.dialect.ensure_table(self.load.shadow, self.specs)
        return self.load.shadow

    def _written(self, table: str, count: int, version: int | None, source: str = "") -> None:
        if version is not None:
            self.load.shadow_rows += count
        self.load.rows_seen += count
        self.logger.info("Wrote %d rows to %s%s", count, table, source)

    def _start_shadow(self, version: int) -> None:
        load = self.load
        if load.pending is not None:
            msg = (
                f"Stream {self.stream_name}: rows of version {version} arrived while the "
                f"activation of version {load.pending.version} waits for a STATE message"
            )
            raise LoadError(msg)
        if load.shadow_version is not None:
            # Also the normal case of a run loading several exports (mode=all): the tap
            # activates them all at the end, and only the newest reaches the staging table.
            self.logger.info(
                "Version %s of stream %s is replaced by version %s before its activation: "
                "its %d rows in %s are discarded; %s keeps its snapshot until an activation",
                load.shadow_version,
                self.stream_name,
                version,
                load.shadow_rows,
                load.shadow,
                load.staging,
            )
        self.dialect.drop_table(load.shadow)
        self.dialect.create_table(load.shadow, self.specs)
        load.shadow_version = version
        load.shadow_rows = 0

    def _warn_unknown_properties(self, record: dict) -> None:
        unknown = record.keys() - set(self.props) - SDK_METADATA - self._warned_unknown
        for prop in sorted(unknown):
            self.logger.warning(
                "Stream %s: property %r is not in the schema; its values are not loaded",
                self.stream_name,
                prop,
            )
        self._warned_unknown |= unknown

    def _fail(self, rows: list[tuple], exc: RowErrors) -> t.NoReturn:
        """Log every failed row (stream, row, column, error) and stop the load."""
        first_row = self.load.rows_seen + 1
        for err in exc.errors[:MAX_REPORTED_ROW_ERRORS]:
            row = rows[err.row_index] if 0 <= err.row_index < len(rows) else ()
            record = dict(zip(self.props, row, strict=False))
            lineage = {k: record.get(k) for k in (*self.key_properties, *LINEAGE_PROPERTIES) if k in record}
            self.logger.error(
                "Rejected row: stream=%s table=%s row=%d (batch row %d) column=%s error=%s value=%.200r lineage=%s",
                self.stream_name,
                exc.table,
                first_row + err.row_index,
                err.row_index,
                err.column,
                err.error,
                err.value,
                lineage,
            )
        if len(exc.errors) > MAX_REPORTED_ROW_ERRORS:
            self.logger.error("... and %d more rejected rows", len(exc.errors) - MAX_REPORTED_ROW_ERRORS)
        first = exc.errors[0]
        msg = (
            f"{len(exc.errors)} row(s) of stream {self.stream_name} could not be written to "
            f"{exc.table}; first: row {first_row + first.row_index}, column {first.column}: {first.error}"
        )
        raise LoadError(msg) from exc

    # -- versions ------------------------------------------------------------------------------
    def activate_version(self, new_version: int) -> Swap | None:  # type: ignore[override]
        """What ACTIVATE_VERSION ``new_version`` does to the staging table (the target drained
        the sink first): a swap that the target applies with the other tables' swaps of the
        export, or None when there is nothing to do."""
        load = self.load
        if load.pending is not None:
            if load.pending.version == new_version:
                return None  # queued already
            msg = (
                f"Stream {self.stream_name}: ACTIVATE_VERSION {new_version} arrived while the "
                f"activation of version {load.pending.version} waits for a STATE message"
            )
            raise LoadError(msg)
        if load.shadow_version == new_version:
            load.pending = Swap(load.staging, load.shadow, new_version)
            return load.pending
        if new_version in load.activated:
            self.logger.info("Version %s of %s already activated", new_version, self.stream_name)
            return None
        if load.shadow_version is not None and new_version < load.shadow_version:
            # An older export of a multi-export run: the newer one loading replaces it.
            self.logger.info(
                "Version %s of %s is superseded by version %s", new_version, self.stream_name, load.shadow_version
            )
            return None
        if load.shadow_version is not None:
            self.logger.warning(
                "Version %s of %s was never activated: its %d rows are discarded",
                load.shadow_version,
                self.stream_name,
                load.shadow_rows,
            )
            self.dialect.drop_table(load.shadow)
            load.shadow_version = None
            load.shadow_rows = 0
        load.pending = Swap(load.staging, None, new_version)
        return load.pending

    def activated(self, swap: Swap, rows: int) -> None:
        """Bookkeeping once the target committed ``swap``."""
        load = self.load
        load.pending = None
        load.activated.add(swap.version)
        if swap.shadow is None:
            self.logger.warning(
                "Version %s of %s was activated without any record: %s is now empty",
                swap.version,
                self.stream_name,
                load.staging,
            )
            return
        load.shadow_version = None
        load.shadow_rows = 0
        self.logger.info("%s replaced by version %s (%d rows)", load.staging, swap.version, rows)


def _local_path(stream: str, uri: str) -> Path:
    if not uri.startswith("file://"):
        msg = f"Stream {stream}: BATCH file {uri} is not a local file:// path"
        raise LoadError(msg)
    path = Path(uri[len("file://") :])
    if not path.is_file():
        msg = f"Stream {stream}: BATCH file {path} does not exist"
        raise LoadError(msg)
    return path
