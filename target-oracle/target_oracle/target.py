"""target-oracle: Singer target for the marina staging tables (Oracle or DuckDB)."""

from __future__ import annotations

import gc
import os
import typing as t

from singer_sdk import typing as th
from singer_sdk.contrib.msgspec import MsgSpecReader
from singer_sdk.exceptions import RecordsWithoutSchemaException
from singer_sdk.helpers.capabilities import PluginCapabilities
from singer_sdk.target_base import Target

from marina_common.connection import missing_settings
from target_oracle.dialects import make_dialect
from target_oracle.errors import LoaderError
from target_oracle.sinks import StagingSink, StreamLoad

if t.TYPE_CHECKING:
    from singer_sdk.sinks import Sink

    from target_oracle.dialects.base import Dialect, Swap

DEFAULT_BATCH_SIZE_ROWS = 50000
# singer-sdk's target settings this loader does not honour: it always adds its own
# SDC_TABLE_VERSION / SDC_LOADED_AT, loads through shadow tables, always processes
# ACTIVATE_VERSION and reads BATCH files where the tap wrote them.
NOT_OFFERED = ("add_record_metadata", "load_method", "process_activate_version_messages", "batch_config")


class TargetOracle(Target):
    """Loads Singer streams into ``STG_*`` staging tables of Oracle or DuckDB."""

    name = "target-oracle"
    default_sink_class = StagingSink
    message_reader_class = MsgSpecReader  # JSON numbers with a fraction become Decimal: exact money
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
        if problem := missing_settings(self.config, os.environ.get("MELTANO_ENVIRONMENT", "")):
            raise LoaderError(problem)
        self.max_parallelism = 1  # one connection, drained in order
        self._dialect: Dialect | None = None
        self._loads: dict[str, StreamLoad] = {}
        self._activations: list[StagingSink] = []  # waiting for the next STATE message

    @classmethod
    def append_builtin_config(cls, config_jsonschema: dict) -> None:
        """singer-sdk's built-in settings without those this loader does not honour."""
        super().append_builtin_config(config_jsonschema)
        for name in NOT_OFFERED:
            config_jsonschema["properties"].pop(name, None)

    @property
    def dialect(self) -> Dialect:
        """The database connection, opened at the first SCHEMA message."""
        if self._dialect is None:
            self._dialect = make_dialect(self.config, self.logger)
        return self._dialect

    # -- sinks -------------------------------------------------------------------------------
    def get_sink(
        self,
        stream_name: str,
        *,
        record: dict | None = None,
        schema: dict | None = None,
        key_properties: t.Sequence[str] | None = None,
    ) -> Sink:
        """As singer-sdk's SQLTarget.get_sink: a new sink is created with the dialect and its
        stream's load state. A sink replaced by a schema change is drained first, so its rows
        are written before the new sink's and before an activation of their version."""
        if schema is None:
            if not self.sink_exists(stream_name):
                msg = f"A message for stream '{stream_name}' was encountered before its SCHEMA message"
                raise RecordsWithoutSchemaException(msg)
            return super().get_sink(stream_name, record=record)
        existing = self._sinks_active.get(stream_name)
        if existing is not None:
            if existing.original_schema == schema and existing.key_properties == key_properties:
                return existing
            self.drain_one(existing)
            existing.clean_up()
        if stream_name not in self._loads:
            self._loads[stream_name] = StreamLoad.start(stream_name, self.dialect, self.logger)
        sink = StagingSink(
            self, stream_name, schema, key_properties, dialect=self.dialect, load=self._loads[stream_name]
        )
        sink.setup()
        self._sinks_active[stream_name] = sink
        return sink

    def _stream_sinks(self, stream_name: str) -> list[StagingSink]:
        """The sinks a message of the stream goes to (one per stream map)."""
        if stream_name not in self.mapper.stream_maps:
            msg = f"A message for stream '{stream_name}' was encountered before its SCHEMA message"
            raise RecordsWithoutSchemaException(msg)
        return [t.cast("StagingSink", self.get_sink(m.stream_alias)) for m in self.mapper.stream_maps[stream_name]]

    # -- messages singer-sdk handles otherwise -------------------------------------------------
    def _process_batch_message(self, message_dict: dict) -> None:
        """BATCH messages: Parquet files of typed rows (tap-marina-s3's batch mode). Their
        `version` (an extension, as on RECORD messages; singer-sdk's handler drops it) says
        which snapshot the rows belong to, so they land in the same shadow table as RECORDs of
        that version would."""
        self.message_reader.assert_line_requires(message_dict, requires={"stream", "encoding", "manifest"})
        for sink in self._stream_sinks(message_dict["stream"]):
            sink.load_batch_files(message_dict["encoding"], message_dict["manifest"], message_dict.get("version"))

    def _process_activate_version_message(self, message_dict: dict) -> None:
        """Write the stream's buffered rows and queue its swap. The tap sends the
        ACTIVATE_VERSIONs of an export's tables only once every table was read and checked,
        followed by a STATE message; the swaps are applied together there, in one
        transaction, so the staging tables never hold a mix of two exports. Without that
        STATE message (the tap failed mid-way) none is applied."""
        self.message_reader.assert_line_requires(message_dict, requires={"stream", "version"})
        for sink in self._stream_sinks(message_dict["stream"]):
            self.drain_one(sink)
            if sink.activate_version(message_dict["version"]) is not None:
                self._activations.append(sink)

    def _process_state_message(self, message_dict: dict) -> None:
        """Apply the queued activations before the STATE is recorded (it is emitted only
        after the data it covers is committed)."""
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

    def process_endofpipe(self) -> None:
        """Write what is buffered, then say which stream the input left unfinished."""
        super().process_endofpipe()
        for stream_name, load in self._loads.items():
            if problem := load.unfinished():
                self.logger.warning("Stream %s: %s", stream_name, problem)

    def listen(self, file_input: t.IO | None = None) -> None:
        """Process all input, then close the database connection (also after a failure:
        uncommitted work is rolled back, committed staging tables stay as they are)."""
        # The buffered rows are many small tuples the cyclic GC would scan again and again;
        # they form no cycles, so the GC runs once after each batch instead
        # (StagingSink._write_rows).
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


if __name__ == "__main__":
    from target_oracle.cli import main

    main()
