"""tap-marina-s3: every table of the MOLO and Stellar Business exports as a typed Singer stream."""

from __future__ import annotations

from singer_sdk import Tap
from singer_sdk import typing as th
from singer_sdk.contrib.msgspec import MsgSpecWriter

from marina_common.catalog import SYSTEMS, load_catalog

from . import preflight
from .archives import Limits
from .model import MAX_FIELD_BYTES
from .run import READ_AHEAD_COLUMNS, Run
from .streams import AuditStream, RejectsStream, TableStream


def _system_settings() -> list[th.Property]:
    props = []
    for system, spec in SYSTEMS.items():
        label = spec.label
        props += [
            th.Property(
                f"{system}_enabled",
                th.BooleanType,
                default=True,
                description=f"Load {label} exports. Off = skip this system entirely.",
            ),
            th.Property(
                f"{system}_bucket",
                th.StringType,
                description=f"S3 bucket holding the {label} exports. Leave empty to read from `{system}_path` instead.",
            ),
            th.Property(
                f"{system}_path",
                th.StringType,
                description=f"Local folder (or file:// URL) holding the {label} exports; "
                "used when no bucket is set. Searched recursively.",
            ),
            th.Property(
                f"{system}_prefix",
                th.StringType,
                default="",
                description="Only keys (or relative paths) starting with this prefix.",
            ),
            th.Property(
                f"{system}_key_pattern",
                th.StringType,
                default=spec.key_pattern,
                description="Shell pattern on the file name (case-insensitive) that marks an export.",
            ),
            th.Property(
                f"{system}_max_export_age_hours",
                th.NumberType,
                description=f"A run fails (or warns, see `late_export`) when the newest "
                f"{label} export arrived longer ago than this, or there is none: a "
                "missed daily drop. Unset or 0 = no check.",
            ),
        ]
    return props


RATIO_TYPE = {"type": ["number", "string"], "pattern": r"^\s*[0-9]*\.?[0-9]+\s*$", "minimum": 0}


class TapMarinaS3(Tap):
    """Reads full-snapshot marina exports (zip of CSVs; gzip'd tar of data/<table>.csv)."""

    name = "tap-marina-s3"
    message_writer_class = MsgSpecWriter  # exact decimals as JSON numbers, and fast

    config_jsonschema = th.PropertiesList(
        *_system_settings(),
        th.Property(
            "mode",
            th.StringType,
            default="latest",
            allowed_values=["latest", "all"],
            description="`latest`: load the newest export not yet loaded. `all`: load "
            "every export newer than the last loaded one, oldest first.",
        ),
        th.Property(
            "late_export",
            th.StringType,
            default="fail",
            allowed_values=["fail", "warn"],
            description="What a run does when a system's newest export is older than "
            "its `<system>_max_export_age_hours`: `fail` before reading anything, or "
            "`warn` and load what is there.",
        ),
        th.Property("aws_region", th.StringType, default="us-east-1", description="AWS region of the buckets."),
        th.Property(
            "aws_access_key_id",
            th.StringType,
            secret=True,
            description="Explicit AWS key. Default: the boto3 chain (env, profile, role).",
        ),
        th.Property("aws_secret_access_key", th.StringType, secret=True, description="Explicit AWS secret key."),
        th.Property(
            "aws_session_token",
            th.StringType,
            secret=True,
            description="Explicit AWS session token (temporary credentials).",
        ),
        th.Property("aws_profile", th.StringType, description="AWS profile name."),
        th.Property(
            "endpoint_url", th.StringType, description="S3-compatible endpoint (MinIO, OCI Object Storage, localhost)."
        ),
        th.Property(
            "day_first",
            th.BooleanType,
            default=False,
            description="Read ambiguous dates like 01/02/2025 as day-first (2 Jan is "
            "the default, month-first, as the vendors write).",
        ),
        # A ratio is a number or a string holding one: Meltano 4.4 cannot pass a `decimal`
        # setting from the environment (Decimal is not JSON serializable), so meltano.yml
        # declares it as a string
        th.Property(
            "max_reject_ratio",
            th.CustomType(RATIO_TYPE),
            default=0.01,
            description="Fail the run when more than this share of a table's rows "
            "are rejected (the table's staging snapshot is then kept).",
        ),
        th.Property(
            "max_field_bytes",
            th.IntegerType,
            default=MAX_FIELD_BYTES,
            description="Longest field loaded (bytes as written in the file); a row "
            "with a longer field is rejected, naming the column and the size, and "
            "keeps the field's SHA-256 and first 256 bytes. A row may hold this much "
            "plus 1 MiB.",
        ),
        th.Property(
            "max_member_bytes",
            th.IntegerType,
            default=Limits.max_member_bytes,
            description="Largest uncompressed file accepted inside an export, checked "
            "while it is inflated (the largest real member is ~125 MB).",
        ),
        th.Property(
            "max_compression_ratio",
            th.CustomType(RATIO_TYPE),
            default=Limits.max_compression_ratio,
            description="Largest uncompressed/compressed ratio of a member, checked "
            "while it is inflated (zip and tar bombs; CSV text compresses 5-20:1).",
        ),
        th.Property(
            "typing_columns",
            th.IntegerType,
            default=READ_AHEAD_COLUMNS,
            description="Columns typed at once by the read-ahead workers together: "
            "what bounds the tap's memory, since DuckDB needs memory per column typed. "
            "More lets two wide tables be typed side by side.",
        ),
    ).to_dict()

    _run: Run | None = None

    def setup_mapper(self) -> None:
        """The bookkeeping streams are always selected, with every property, whatever the input
        catalog says (a Meltano `select` of table streams deselects them): the SDK builds their
        SCHEMA and strips their records from the catalog's selection, which would leave empty
        audit and reject rows."""
        if self.input_catalog is not None:
            for name in (RejectsStream.name, AuditStream.name):
                if entry := self.input_catalog.get_stream(name):
                    for metadata in entry.metadata.values():
                        metadata.selected = True
        super().setup_mapper()

    def discover_streams(self) -> list:
        tables = [TableStream(self, table) for table in load_catalog()]
        return [*tables, RejectsStream(self), AuditStream(self)]

    def load_streams(self) -> list:
        """Keep discovery order (the SDK sorts by name): tables first, then the bookkeeping
        streams, which must run after every table has been read."""
        return self.discover_streams()

    @property
    def run(self) -> Run:
        if self._run is None:
            selected: dict[str, set[str]] = {}
            order = []  # the SDK syncs streams in this order (see load_streams)
            for stream in self.streams.values():
                if isinstance(stream, TableStream) and stream.selected:
                    selected.setdefault(stream.table.system, set()).add(stream.name)
                    order.append(stream.table)
            self._run = Run(self.config, self.state, selected, order)
        return self._run

    def sync_all(self) -> None:
        try:
            preflight.check(self.config, self._systems(), self.run.exports.store)
            super().sync_all()
        finally:
            self._close_run()

    def _systems(self) -> list[str]:
        """The systems this run reads: enabled, with at least one selected table."""
        return [s for s in SYSTEMS if self.config.get(f"{s}_enabled", True) and self.run.selected.get(s)]

    def run_sync_dry_run(self, *args, **kwargs) -> bool:
        """`--test` / connection tests read through the same Run: clean it up the same way."""
        try:
            return super().run_sync_dry_run(*args, **kwargs)
        finally:
            self._close_run()

    def _close_run(self) -> None:
        if self._run is not None:
            self._run.close()
            self._run = None


if __name__ == "__main__":
    from .cli import main

    main()
