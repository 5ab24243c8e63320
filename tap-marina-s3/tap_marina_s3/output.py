"""Singer output: msgspec encoding (exact decimals as JSON numbers), flushed per batch of lines.

The SDK's default writer flushes stdout after every message; with ~1M records that is ~1M system
calls. Records are written through the pipe's buffer; every other message (SCHEMA, STATE,
ACTIVATE_VERSION) flushes, so nothing is held back at a point where the target must act.
"""

from __future__ import annotations

import sys

import msgspec
from singer_sdk.contrib.msgspec import MsgSpecWriter
from singer_sdk.singerlib.encoding.simple import Message, RecordMessage


class FastWriter(MsgSpecWriter):
    def write_message(self, message: Message) -> None:
        out = sys.stdout
        buffer = getattr(out, "buffer", None)
        data = self.format_message(message)
        if buffer is None:  # a text stream without a byte buffer (e.g. captured in tests)
            out.write(data.decode("utf-8"))
        else:
            buffer.write(data)
        if not isinstance(message, RecordMessage):
            out.flush()

    def write_raw(self, data: bytes) -> None:
        """Write ready-made RECORD lines (the reader builds them in bulk)."""
        out = sys.stdout
        buffer = getattr(out, "buffer", None)
        if buffer is None:
            out.write(data.decode("utf-8"))
        else:
            buffer.write(data)

    def write_line(self, message: dict) -> None:
        """Write one message given as a dict (e.g. a BATCH message with extra keys), flushed."""
        self.write_raw(msgspec.json.encode(message) + b"\n")
        sys.stdout.flush()
