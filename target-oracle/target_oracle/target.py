"""target-oracle: Singer target for the marina staging tables (Oracle or DuckDB)."""

from __future__ import annotations

import copy
import gc
import os
import shutil
import tempfile
import typing as t
import weakref
from pathlib import Path

from singer_sdk import typing as th
from singer_sdk.exceptions import MissingKeyPropertiesError
from singer_sdk.helpers._batch import BaseBatchFileEncoding
from singer_sdk.helpers.capabilities import PluginCapabilities
from singer_sdk.mapper import SameRecordTransform
from singer_sdk.target_base import Target

from target_oracle import naming
from target_oracle.connector import Dialect, make_dialect
from target_oracle.errors import LoaderError
from target_oracle.reader import FastSingerReader
from target_oracle.sinks import StagingSink, StreamLoad

if t.TYPE_CHECKING:
    from singer_sdk.sinks import Sink

    from target_oracle.connector import Swap

DEFAULT_BATCH_SIZE_ROWS = 50000


def missing_database(config: t.Mapping[str, t.Any]) -> str | None:
    """Why the settings name no database to load, or None. Checked when the loader starts
    (not as a JSON-schema rule, whose message names no setting), before any input is read."""
    if config.get("sqlalchemy_url") or config.get("duckdb_path"):
        return None
    where = f" for environment {env}" if (env := os.environ.get("MELTANO_ENVIRONMENT")) else ""
    names = {"oracle_dsn": "ORACLE_DSN", "oracle_user": "ORACLE_USER", "oracle_password": "ORACLE_PASSWORD"}
    missing = [variable for setting, variable in names.items() if not config.get(setting)]
    if len(missing) == len(names):
        return (
            f"no warehouse configured{where}: set ORACLE_DSN, ORACLE_USER and ORACLE_PASSWORD "
            "(see .env.example), or duckdb_path / sqlalchemy_url for DuckDB"
        )
    if missing:
        return f"{', '.join(missing)} not set{where} (the other Oracle settings are): set them in .env"
    return None


class TargetOracle(Target):
    """Loads Singer streams into ``STG_*`` staging tables of Oracle or DuckDB."""

    name = "target-oracle"
    default_sink_class = StagingSink
    message_reader_class = FastSingerReader
    capabilities: t.ClassVar[list] = [
        PluginCapabilities.ABOUT,
        PluginCapabilities.STREAM_MAPS,
        PluginCapabilities.FLATTENING,
        PluginCapabilities.STRUCTURED_LOGGING,
        PluginCapabilities.ACTIVATE_VERSION,
        PluginCapabilities.BATCH,
    ]

    config_jsonschema = th.PropertiesList(
        th.Property(
            "sqlalchemy_url",
            th.StringType,
            secret=True,
            description=(
                "Database URL: `duckdb:////abs/path/marina.duckdb` or "
                "`oracle+oracledb://user:password@host:port/?service_name=SVC` (or a tnsnames "
                "alias as host). Alternatively use `duckdb_path` or the `oracle_*` settings."
            ),
        ),
        th.Property(
            "duckdb_path",
            th.StringType,
            description="DuckDB database file (used when `sqlalchemy_url` is not set).",
        ),
        th.Property("oracle_user", th.StringType, description="Oracle user (ORACLE_USER)."),
        th.Property("oracle_password", th.StringType, secret=True, description="Oracle password (ORACLE_PASSWORD)."),
        th.Property(
            "oracle_dsn",
            th.StringType,
            description=(
                "Oracle connect string (ORACLE_DSN): Easy Connect `host:port/service` (also "
                "`tcps://...` for TLS) or a tnsnames.ora alias."
            ),
        ),
        th.Property(
            "oracle_config_dir",
            th.StringType,
            description="Directory of tnsnames.ora (ORACLE_CONFIG_DIR), e.g. an unzipped ADB wallet.",
        ),
        th.Property(
            "oracle_wallet_location",
            th.StringType,
            description="Directory of ewallet.pem for Autonomous Database mTLS (ORACLE_WALLET_LOCATION).",
        ),
        th.Property(
            "oracle_wallet_password",
            th.StringType,
            secret=True,
            description="Password of the mTLS wallet (ORACLE_WALLET_PASSWORD).",
        ),
        th.Property(
            "default_target_schema",
            th.StringType,
            description="Schema of the STG_* tables (ORACLE_SCHEMA; default: the user's / DuckDB `main`).",
        ),
        th.Property(
            "batch_size_rows",
            th.IntegerType,
            default=DEFAULT_BATCH_SIZE_ROWS,
            description="Rows buffered per stream before a bulk insert.",
        ),
        th.Property(
            "oracle_array_size",
            th.IntegerType,
            default=10000,
            description="Rows per Oracle executemany call (array bind size).",
        ),
    ).to_dict()

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        if problem := missing_database(self.config):
            raise LoaderError(problem)
        self._dialect: Dialect | None = None
        self._stream_loads: dict[str, StreamLoad] = {}
        self._fast_sinks: dict[str, list[StagingSink]] = {}
        self._records_since_age_check = 0
        self._bulk_sinks: dict[bytes, StagingSink | None] = {}
        self._spool_dir: str | None = None
        self._spool_count = 0
        self._activations: list[StagingSink] = []  # waiting for the next STATE message
        self.max_parallelism = 1  # one connection, drained in order
        self.message_reader.raw_record_handler = self._raw_record  # type: ignore[attr-defined]

    @classmethod
    def append_builtin_config(cls, config_jsonschema: dict) -> None:
        """Only the plugin-level built-ins (stream maps, flattening, logging).

        Not offered: ``add_record_metadata`` (the loader adds SDC_TABLE_VERSION and
        SDC_LOADED_AT itself), ``load_method``, ``validate_records`` (records are not
        validated), ``process_activate_version_messages`` (always processed).
        """
        super(Target, cls).append_builtin_config(config_jsonschema)

    # -- shared resources --------------------------------------------------------------------
    @property
    def dialect(self) -> Dialect:
        if self._dialect is None:
            self._dialect = make_dialect(self.config, self.logger)
        return self._dialect

    def stream_load(self, stream_name: str) -> StreamLoad:
        if stream_name not in self._stream_loads:
            staging = naming.table_name(stream_name)
            self._stream_loads[stream_name] = StreamLoad(staging, naming.shadow_name(staging))
        return self._stream_loads[stream_name]

    def bulk_enabled(self, specs: t.Sequence) -> bool:
        """Whether a stream with these columns uses the DuckDB bulk path (spool files)."""
        from target_oracle.dialects.duckdb import DuckDBDialect, bulk_supported  # noqa: PLC0415

        return isinstance(self.dialect, DuckDBDialect) and bulk_supported(specs)

    def spool_path(self, stream_name: str) -> str:
        """A new spool file name for a stream (in this run's temp directory)."""
        if self._spool_dir is None:
            self._spool_dir = tempfile.mkdtemp(prefix="target-oracle-spool-")
            # also removed when the target is not run through listen() (e.g. SDK test helpers)
            weakref.finalize(self, shutil.rmtree, self._spool_dir, ignore_errors=True)
        safe = "".join(c if c.isalnum() or c in "_-" else "_" for c in stream_name)
        self._spool_count += 1
        return str(Path(self._spool_dir) / f"{safe}-{self._spool_count}.ndjson")

    def _raw_record(self, stream: bytes, version: int | None, line: bytes) -> bool:
        """Bulk path of a RECORD line (see FastSingerReader): appended as is to the sink's
        spool. False when the stream has no bulk sink (stream maps, Oracle, no SCHEMA yet)."""
        try:
            sink = self._bulk_sinks[stream]
        except KeyError:
            sinks = self._record_sinks(stream.decode())
            sink = sinks[0] if sinks and sinks[0].bulk else None
            self._bulk_sinks[stream] = sink
        if sink is None:
            return False
        if sink.add_line(line, version):
            self.drain_one(sink)
        self._records_since_age_check += 1
        if self._records_since_age_check >= 1000:
            self._records_since_age_check = 0
            self._handle_max_record_age()
        return True

    def missing_keys(self, sink: Sink, missing: t.Sequence[str]) -> t.NoReturn:
        msg = (
            f"Record is missing one or more key_properties. \n"
            f"Key Properties: {sink.key_properties}, missing in some record: {list(missing)}"
        )
        raise MissingKeyPropertiesError(msg)

    def sink_is_active(self, sink: Sink) -> bool:
        return self._sinks_active.get(sink.stream_name) is sink

    # -- message handling --------------------------------------------------------------------
    def get_sink(
        self,
        stream_name: str,
        *,
        record: dict | None = None,
        schema: dict | None = None,
        key_properties: t.Sequence[str] | None = None,
    ) -> Sink:
        """As singer-sdk, but a sink replaced by a schema change is drained at once, so its
        rows are written before the new sink's and no row waits behind a newer schema."""
        if schema is not None:
            self._fast_sinks.clear()
            self._bulk_sinks.clear()
        existing = self._sinks_active.get(stream_name)
        if (
            schema is not None
            and existing is not None
            and (existing.original_schema != schema or existing.key_properties != key_properties)
        ):
            self.drain_one(existing)
        return super().get_sink(stream_name, record=record, schema=schema, key_properties=key_properties)

    def _record_sinks(self, stream_name: str) -> list[StagingSink]:
        """Sinks of a stream when its records go unchanged to one sink (no stream map, no
        flattening): then the record path skips singer-sdk's per-record mapping."""
        stream_maps = self.mapper.stream_maps.get(stream_name)
        if (
            stream_maps is not None
            and len(stream_maps) == 1
            and type(stream_maps[0]) is SameRecordTransform
            and not stream_maps[0].flattening_enabled
            and stream_maps[0].stream_alias in self._sinks_active
        ):
            return [t.cast("StagingSink", self._sinks_active[stream_maps[0].stream_alias])]
        return []

    def _process_record_message(self, message_dict: dict) -> None:
        """Lean RECORD handling: no validation, no per-record parsing or metadata; the sink
        only buffers the record's values with its version (counters are kept per batch)."""
        stream_name = message_dict.get("stream")
        record = message_dict.get("record")
        if stream_name is None or record is None:
            self._assert_line_requires(message_dict, requires={"stream", "record"})
        sinks = self._fast_sinks.get(stream_name)
        if sinks is None:
            sinks = self._record_sinks(stream_name)
            if sinks:
                self._fast_sinks[stream_name] = sinks
            else:
                self._process_mapped_record(message_dict)
                return
        sink = sinks[0]
        keys = sink.key_properties
        if keys and not all(k in record for k in keys):
            self._missing_keys(sink, record)
        sink.add_record(record, message_dict.get("version"))
        if sink.is_full:
            self.drain_one(sink)
        self._records_since_age_check += 1
        if self._records_since_age_check >= 1000:
            self._records_since_age_check = 0
            self._handle_max_record_age()

    def _process_mapped_record(self, message_dict: dict) -> None:
        """RECORD handling through stream maps / flattening (as singer-sdk does it)."""
        stream_name = message_dict["stream"]
        if stream_name not in self.mapper.stream_maps:
            self._assert_sink_exists(stream_name)
        version = message_dict.get("version")
        for stream_map in self.mapper.stream_maps[stream_name]:
            record = stream_map.transform(copy.copy(message_dict["record"]))
            if record is None:
                continue
            self._assert_sink_exists(stream_map.stream_alias)
            sink = t.cast("StagingSink", self._sinks_active[stream_map.stream_alias])
            if sink.key_properties and not all(k in record for k in sink.key_properties):
                self._missing_keys(sink, record)
            sink.add_record(record, version)
            if sink.is_full:
                self.drain_one(sink)
        self._handle_max_record_age()

    @staticmethod
    def _missing_keys(sink: Sink, record: dict) -> t.NoReturn:
        msg = (
            f"Record is missing one or more key_properties. \n"
            f"Key Properties: {sink.key_properties}, Record Keys: {list(record)}"
        )
        raise MissingKeyPropertiesError(msg)

    def _process_batch_message(self, message_dict: dict) -> None:
        """BATCH messages: Parquet files of typed rows (tap-marina-s3's batch mode). Their
        `version` (an extension, as on RECORD messages) says which snapshot the rows belong
        to, so they land in the same shadow table as RECORDs of that version would."""
        self._assert_line_requires(message_dict, requires={"stream", "encoding", "manifest"})
        encoding = BaseBatchFileEncoding.from_dict(message_dict["encoding"])
        stream_name = message_dict["stream"]
        if stream_name not in self.mapper.stream_maps:
            self._assert_sink_exists(stream_name)
        for stream_map in self.mapper.stream_maps[stream_name]:
            sink = t.cast("StagingSink", self.get_sink(stream_map.stream_alias))
            sink.load_batch_files(encoding, message_dict["manifest"], message_dict.get("version"))

    def _process_activate_version_message(self, message_dict: dict) -> None:
        """Write the stream's buffered rows and queue its swap. The tap sends the
        ACTIVATE_VERSIONs of an export's tables only once every table was read and checked,
        followed by a STATE message; the swaps are applied together there, in one
        transaction, so the staging tables never hold a mix of two exports. Without that
        STATE message (the tap failed mid-way) none is applied."""
        self._assert_line_requires(message_dict, requires={"stream", "version"})
        stream_name = message_dict["stream"]
        for stream_map in self.mapper.stream_maps[stream_name]:
            sink = t.cast("StagingSink", self.get_sink(stream_map.stream_alias))
            self.drain_one(sink)
            if sink.activate_version(message_dict["version"]) is not None:
                self._activations.append(sink)

    def _process_state_message(self, message_dict: dict) -> None:
        self._apply_activations()
        super()._process_state_message(message_dict)

    def _apply_activations(self) -> None:
        if not self._activations:
            return
        sinks, self._activations = self._activations, []
        swaps = [t.cast("Swap", sink.load.pending) for sink in sinks]
        counts = self.dialect.activate(swaps)
        for sink, swap, rows in zip(sinks, swaps, counts, strict=True):
            sink.activated(swap, rows)
        self.logger.info("Activated %d staging table(s) in one transaction", len(swaps))

    def listen(self, file_input: t.IO | None = None) -> None:
        """Process all input, then close the database connection (also after a failure:
        uncommitted work is rolled back, committed staging tables stay as they are)."""
        # The cyclic GC would repeatedly scan the buffered rows (a third of the CPU of a
        # load); the record path creates no cycles, so it runs after each batch instead
        # (StagingSink.process_batch).
        gc_was_enabled = gc.isenabled()
        gc.disable()
        try:
            super().listen(file_input)
        finally:
            if gc_was_enabled:
                gc.enable()
            if self._dialect is not None:
                self._dialect.close()
                self._dialect = None
            if self._spool_dir is not None:
                shutil.rmtree(self._spool_dir, ignore_errors=True)
                self._spool_dir = None


if __name__ == "__main__":
    from target_oracle.cli import main

    main()
