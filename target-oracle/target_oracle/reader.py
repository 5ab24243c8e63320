"""Fast Singer message reader: msgspec JSON decoding of binary stdin.

Same result as singer-sdk's reader (JSON floats become ``Decimal``, so money never passes
through binary floats) at about half the CPU per line.
"""

from __future__ import annotations

import logging
import sys
import typing as t
from decimal import Decimal

import msgspec
from singer_sdk.exceptions import InvalidInputLine
from singer_sdk.singerlib.encoding.simple import SimpleSingerReader

logger = logging.getLogger(__name__)

_DECODER = msgspec.json.Decoder(float_hook=Decimal)


class FastSingerReader(SimpleSingerReader):
    """Reads Singer messages (bytes or str lines) with msgspec."""

    @property
    def default_input(self) -> t.IO:  # type: ignore[override]
        return sys.stdin.buffer

    def deserialize_json(self, line: str | bytes) -> dict:  # type: ignore[override]
        try:
            return _DECODER.decode(line)
        except msgspec.DecodeError as exc:
            logger.exception("Unable to parse:\n%.1000r", line)
            msg = f"Unable to parse line as JSON: {line!r:.1000}"
            raise InvalidInputLine(msg) from exc
