"""The staging sink: columnar batches, shadow tables per version, swap on ACTIVATE_VERSION.

Per record the sink only appends the record dict to a list (and remembers the version).
At drain time each column is extracted and converted with one list comprehension and the
batch is handed to the dialect's bulk insert.

* RECORDs with a ``version`` (table streams) go to the shadow table ``STG_<X>__LOADING``,
  created fresh at the first batch of a new version. ``activate_version`` says what the
  version's activation does to ``STG_<X>`` (a :class:`Swap`); the target applies the swaps of
  all tables of an export together, in one transaction, at the STATE message that follows.
* RECORDs without a version (``marina_rejects``, ``marina_load_audit``) are appended to
  ``STG_<X>``.
"""

from __future__ import annotations

import datetime as dt
import gc
import json
import operator
import os
import typing as t
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import duckdb
from singer_sdk.sinks import Sink

from target_oracle import types as ty
from target_oracle.connector import RowError, RowErrors, Swap
from target_oracle.types import ValueConversionError, column_specs, to_json_text

if t.TYPE_CHECKING:
    from target_oracle.connector import Dialect
    from target_oracle.target import TargetOracle

MAX_REPORTED_ROW_ERRORS = 100
SAMPLED_FIRST_RECORDS = 100
SAMPLE_EVERY = 1000
LINEAGE_PROPERTIES = ("_sdc_source_key", "_sdc_source_member", "_sdc_row_number")


def _row_getter(props: list[str]) -> t.Callable[[dict], tuple]:
    """A C-level function returning the values of ``props`` of a record as a tuple."""
    if len(props) == 1:
        prop = props[0]
        return lambda record: (record[prop],)
    if not props:
        return lambda record: ()
    return operator.itemgetter(*props)


class LoadError(RuntimeError):
    """Rows could not be written; details of every failed row were logged."""


@dataclass
class StreamLoad:
    """Loading state of one stream, shared by the successive sinks of the stream in a run."""

    staging: str
    shadow: str
    leftover_checked: bool = False
    shadow_version: int | None = None
    shadow_rows: int = 0
    rows_seen: int = 0
    activated: set[int] = field(default_factory=set)
    pending: Swap | None = None  # activation received, applied at the next STATE message


class StagingSink(Sink):
    """Loads one stream into its staging table (through a shadow table for table streams)."""

    MAX_SIZE_DEFAULT = 50000

    def __init__(
        self,
        target: TargetOracle,
        stream_name: str,
        schema: dict,
        key_properties: t.Sequence[str] | None,
    ) -> None:
        super().__init__(target, stream_name, schema, key_properties)
        self._target = target
        self.specs = column_specs(self.schema)
        self.data_specs = [s for s in self.specs if s.prop is not None]
        self.props = [s.prop for s in self.data_specs]
        self.properties = frozenset(self.props)
        self._getter = _row_getter(self.props)
        self.load = target.stream_load(stream_name)
        self._rows: list[tuple] = []
        self._buffer_version: int | None = None
        self._aligned: set[str] = set()
        self._warned_unknown: set[str] = set()
        # Bulk path (DuckDB): records are appended as JSON lines to a spool file that DuckDB
        # loads per batch; see target_oracle.dialects.duckdb.DuckDBBulkMixin.
        self.bulk = target.bulk_enabled(self.specs)
        self._spool_path: str | None = None
        self._spool: t.BinaryIO | None = None
        self._spool_rows = 0
        self._lines_added = 0
        self._max_rows = self.MAX_SIZE_DEFAULT

    # -- singer-sdk hooks that must not run ---------------------------------------------------
    @property
    def include_sdc_metadata_properties(self) -> bool:
        """No ``_sdc_received_at``/``_sdc_deleted_at``/... columns: the loader adds its own."""
        return False

    def get_validator(self) -> None:
        """No JSON schema validation of records: the tap types every value."""
        return

    @property
    def dialect(self) -> Dialect:
        return self._target.dialect

    @property
    def current_size(self) -> int:
        """Rows buffered (records are counted here, not per record by singer-sdk)."""
        return len(self._rows) + self._spool_rows

    # -- lifecycle ---------------------------------------------------------------------------
    def setup(self) -> None:
        """Create (or align) the staging table now, even if no record ever arrives, and
        discard a shadow table left by an interrupted run (once per stream and run)."""
        self.dialect.ensure_table(self.load.staging, self.specs)
        self._aligned.add(self.load.staging)
        if not self.load.leftover_checked:
            if self.dialect.table_columns(self.load.shadow) is not None:
                self.logger.warning(
                    "Discarding %s left by an interrupted run; %s keeps its last complete snapshot",
                    self.load.shadow,
                    self.load.staging,
                )
                self.dialect.drop_table(self.load.shadow)
            self.load.leftover_checked = True

    def add_record(self, record: dict, version: int | None) -> None:
        """Buffer one record as a tuple of its property values, in column order (the only
        per-record work of the loader)."""
        if version != self._buffer_version:
            if self._rows or self._spool_rows:
                self._target.drain_one(self)
            self._buffer_version = version
        if self.bulk:
            if not record.keys() <= self.properties:
                self._warn_unknown_properties(record)
            if self.add_line(b'{"record":' + to_json_text(record).encode() + b"}\n", version):
                self._target.drain_one(self)
            return
        if len(record) == len(self.props):
            try:
                self._rows.append(self._getter(record))
                return
            except KeyError:
                pass
        self._warn_unknown_properties(record)
        self._rows.append(tuple(map(record.get, self.props)))

    def add_line(self, line: bytes, version: int | None) -> bool:
        """Bulk path: append one RECORD line (raw JSON, ``$.record`` holds the values).
        Returns True when the batch is full."""
        if version != self._buffer_version:
            if self._spool_rows:
                self._target.drain_one(self)
            self._buffer_version = version
        spool = self._spool
        if spool is None:
            self._spool_path = self._target.spool_path(self.stream_name)
            spool = self._spool = open(self._spool_path, "wb", buffering=1 << 20)  # noqa: SIM115
            self._max_rows = self.max_size
        spool.write(line)
        if line[-1:] != b"\n":
            spool.write(b"\n")
        self._spool_rows += 1
        self._lines_added += 1
        if self._lines_added <= SAMPLED_FIRST_RECORDS or not self._lines_added % SAMPLE_EVERY:
            self._check_sample(line)
        return self._spool_rows >= self._max_rows

    def _check_sample(self, line: bytes) -> None:
        """Bulk path: the key checks of the Python path (unknown properties are warned
        about, missing key properties fail the load), on the first records of the stream
        and every SAMPLE_EVERY-th record after them (the other records are not decoded)."""
        from target_oracle.reader import decode_line  # noqa: PLC0415

        try:
            record = decode_line(line).get("record")
        except Exception:
            return
        if not isinstance(record, dict):
            return
        if not record.keys() <= self.properties:
            self._warn_unknown_properties(record)
        keys = self.key_properties
        if keys and not all(k in record for k in keys):
            self._target.missing_keys(self, [k for k in keys if k not in record])

    def process_record(self, record: dict, context: dict) -> None:  # noqa: ARG002
        self.add_record(record, self._buffer_version)

    # -- batches -----------------------------------------------------------------------------
    def process_batch(self, context: dict) -> None:
        if self._spool_rows:
            self._process_spool()
            if not self._rows:
                return
        self._process_rows(context)

    def _batch_table(self, version: int | None) -> str:
        if version is None:
            table = self.load.staging
        else:
            if self.load.shadow_version != version:
                self._start_shadow(version)
            table = self.load.shadow
        if table not in self._aligned:
            self.dialect.ensure_table(table, self.specs)
            self._aligned.add(table)
        return table

    def _process_spool(self) -> None:
        """Bulk path: DuckDB loads the spool file into the shadow/append table."""
        assert self._spool is not None and self._spool_path is not None
        self._spool.close()
        self._spool = None
        count, self._spool_rows = self._spool_rows, 0
        version = self._buffer_version
        self.tally_record_read(count)
        self.record_counter_metric.increment(count)
        loaded_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        table = self._batch_table(version)
        try:
            inserted = self.dialect.insert_spool(table, self.specs, self._spool_path, version, loaded_at)
        except duckdb.Error as exc:
            self.logger.info(
                "Stream %s: batch of %d rows goes through the exact path (%s)",
                self.stream_name,
                count,
                str(exc).splitlines()[0][:300],
            )
            self._rows = self._read_spool(count)
            os.unlink(self._spool_path)
            self._process_rows({}, counted=True)
            return
        os.unlink(self._spool_path)
        if inserted != count:
            msg = f"{inserted} rows of stream {self.stream_name} loaded from its spool, expected {count}"
            raise LoadError(msg)
        if version is not None:
            self.load.shadow_rows += count
        self.load.rows_seen += count
        self.logger.info("Wrote %d rows to %s", count, table)

    def _read_spool(self, count: int) -> list[tuple]:
        """The spool's records as row tuples (Python path), decoded as the reader does."""
        from target_oracle.reader import decode_line  # noqa: PLC0415

        rows = []
        assert self._spool_path is not None
        with open(self._spool_path, "rb") as spool:
            for index, line in enumerate(spool):
                try:
                    record = decode_line(line)["record"]
                except Exception as exc:
                    msg = (
                        f"Stream {self.stream_name}: RECORD line {index + 1} of the batch "
                        f"(row {self.load.rows_seen + index + 1}) is not valid: {exc}"
                    )
                    raise LoadError(msg) from exc
                rows.append(tuple(map(record.get, self.props)))
        if len(rows) != count:
            msg = f"{len(rows)} rows of stream {self.stream_name} read back from its spool, expected {count}"
            raise LoadError(msg)
        return rows

    # -- BATCH files ---------------------------------------------------------------------------
    def load_batch_files(self, encoding: t.Any, files: t.Sequence[str], version: int | None) -> None:
        """Load Parquet batch files into the shadow (versioned) or staging table: DuckDB reads
        them itself; other dialects get their rows in batches of `batch_size_rows`, as for
        RECORDs. Each file is deleted once its rows are written."""
        if encoding.format != "parquet" or encoding.compression not in (None, "none"):
            msg = (
                f"Stream {self.stream_name}: BATCH files must be uncompressed-container "
                f"Parquet (got format={encoding.format!r}, compression={encoding.compression!r})"
            )
            raise LoadError(msg)
        if version != self._buffer_version or self.current_size:
            self._target.drain_one(self)  # rows buffered before this file are written first
        self._buffer_version = version
        paths = [_local_path(self.stream_name, uri) for uri in files]
        table = self._batch_table(version)
        loaded_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        if hasattr(self.dialect, "insert_parquet"):
            try:
                count = self.dialect.insert_parquet(table, self.specs, paths, version, loaded_at)
            except RowErrors as exc:  # Oracle: rows it rejected, numbered from the first file's first row
                exc.table = table
                self._fail([], exc)
            self.tally_record_read(count)
            self.record_counter_metric.increment(count)
            if version is not None:
                self.load.shadow_rows += count
            self.load.rows_seen += count
            self.logger.info("Wrote %d rows to %s from %d batch file(s)", count, table, len(paths))
        else:
            for rows in _parquet_rows(paths, self.data_specs, self.max_size):
                self._rows = rows
                self._process_rows({})
        for path in paths:
            path.unlink(missing_ok=True)

    def _process_rows(self, context: dict, *, counted: bool = False) -> None:  # noqa: ARG002
        rows, self._rows = self._rows, []
        if not rows:
            return
        version = self._buffer_version
        count = len(rows)
        if not counted:
            self.tally_record_read(count)
            self.record_counter_metric.increment(count)
        columns: list[t.Sequence] = list(zip(*rows, strict=True)) if self.props else []
        loaded_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        columns.append([version] * count)
        columns.append([loaded_at] * count)
        table = self._batch_table(version)
        try:
            self.dialect.insert_batch(table, self.specs, columns)
        except ValueConversionError as exc:
            self._fail(rows, RowErrors(table, [RowError(exc.row_index, exc.column, exc.error, exc.value)]))
        except RowErrors as exc:
            exc.table = table
            self._fail(rows, exc)
        if version is not None:
            self.load.shadow_rows += count
        self.load.rows_seen += count
        self.logger.info("Wrote %d rows to %s", count, table)
        del rows, columns
        if not gc.isenabled():  # disabled by TargetOracle.listen during the load
            gc.collect()

    def _start_shadow(self, version: int) -> None:
        if self.load.pending is not None:
            msg = (
                f"Stream {self.stream_name}: rows of version {version} arrived while the "
                f"activation of version {self.load.pending.version} waits for a STATE message"
            )
            raise LoadError(msg)
        if self.load.shadow_version is not None:
            # Also the normal case of a run loading several exports (mode=all): the tap
            # activates them all at the end, and only the newest reaches the staging table.
            self.logger.info(
                "Version %s of stream %s is replaced by version %s before its activation: "
                "its %d rows in %s are discarded; %s keeps its snapshot until an activation",
                self.load.shadow_version,
                self.stream_name,
                version,
                self.load.shadow_rows,
                self.load.shadow,
                self.load.staging,
            )
        self.dialect.drop_table(self.load.shadow)
        self.dialect.create_table(self.load.shadow, self.specs)
        self._aligned.add(self.load.shadow)
        self.load.shadow_version = version
        self.load.shadow_rows = 0

    def _warn_unknown_properties(self, record: dict) -> None:
        unknown = record.keys() - self.properties - self._warned_unknown
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

    # -- versions ----------------------------------------------------------------------------
    def activate_version(self, new_version: int) -> Swap | None:  # type: ignore[override]
        """What ACTIVATE_VERSION ``new_version`` does to the staging table (the target
        drained us first): a swap that the target applies with the other tables' swaps of the
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
                "Version %s of %s is superseded by version %s",
                new_version,
                self.stream_name,
                load.shadow_version,
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

    def clean_up(self) -> None:
        if self._spool is not None:
            self._spool.close()
            self._spool = None
        if self._spool_path is not None and os.path.exists(self._spool_path):
            os.unlink(self._spool_path)
        if self.load.pending is not None and self._target.sink_is_active(self):
            self.logger.warning(
                "Stream %s: the activation of version %s was not applied (no STATE message "
                "followed it: the tap did not finish); %s keeps its previous snapshot",
                self.stream_name,
                self.load.pending.version,
                self.load.staging,
            )
        elif self.load.shadow_version is not None and self._target.sink_is_active(self):
            self.logger.warning(
                "Stream %s ended without ACTIVATE_VERSION for version %s: %d rows stay in %s "
                "(discarded at the next run); %s keeps its previous snapshot",
                self.stream_name,
                self.load.shadow_version,
                self.load.shadow_rows,
                self.load.shadow,
                self.load.staging,
            )
        super().clean_up()


def _local_path(stream: str, uri: str) -> Path:
    if not uri.startswith("file://"):
        msg = f"Stream {stream}: BATCH file {uri} is not a local file:// path"
        raise LoadError(msg)
    path = Path(uri[len("file://") :])
    if not path.is_file():
        msg = f"Stream {stream}: BATCH file {path} does not exist"
        raise LoadError(msg)
    return path


def _parquet_rows(paths: list[Path], specs: t.Sequence, size: int) -> t.Iterator[list[tuple]]:
    """Rows of Parquet files as tuples in the specs' order (a property missing from the files
    is NULL), as the RECORD path has them: JSON columns decoded, decimals as Decimal."""
    con = duckdb.connect()
    try:
        source = f"read_parquet({[str(p) for p in paths]!r})"
        present = {row[0] for row in con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()}
        exprs = [('"' + s.prop.replace('"', '""') + '"') if s.prop in present else "NULL" for s in specs]
        json_columns = [i for i, s in enumerate(specs) if s.kind == ty.JSON]
        cursor = con.execute(f"SELECT {', '.join(exprs)} FROM {source}")
        while rows := cursor.fetchmany(size):
            if json_columns:
                rows = [_decode_json(row, json_columns) for row in rows]
            yield rows
    finally:
        con.close()


def _decode_json(row: tuple, columns: list[int]) -> tuple:
    values = list(row)
    for i in columns:
        if isinstance(values[i], str):
            values[i] = json.loads(values[i], parse_float=Decimal)
    return tuple(values)
