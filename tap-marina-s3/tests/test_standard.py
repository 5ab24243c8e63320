"""singer-sdk's standard tap tests, against a small generated export of both systems.

One change to the standard suite: `record_matches_stream_schema` validates with the two rules of
this project's contract (docs/design.md §1-2) that plain JSON Schema checkers get wrong:
* `date-time` values are naive (vendor local time, no offset) ISO timestamps; the RFC 3339
  checker demands an offset. They must still parse, and carry no offset.
* `multipleOf: 0.01` is checked on the decimal as written; the runner parses numbers as binary
  floats, where 0.57 / 0.01 is not a whole number.
* `maxLength` is a hint (design §1: values are never cut; the loader widens the column), and the
  generator writes some over-long texts on purpose.
Everything else is the SDK's check.
"""

from __future__ import annotations

import atexit
import datetime as dt
import shutil
import tempfile
from decimal import Decimal
from pathlib import Path

from jsonschema import Draft7Validator, FormatChecker, ValidationError, validators
from singer_sdk.testing import get_tap_test_class
from singer_sdk.testing.config import SuiteConfig
from singer_sdk.testing.templates import StreamTestTemplate

from tap_marina_s3.samples import generate
from tap_marina_s3.tap import TapMarinaS3

_FOLDER = Path(tempfile.mkdtemp(prefix="marina-standard-"))
atexit.register(shutil.rmtree, _FOLDER, True)
MANIFEST = generate(_FOLDER, seed=11, rows=300, exports=1)

CONFIG = {
    "molo_path": str(_FOLDER / "molo"),
    "stellar_path": str(_FOLDER / "stellar"),
    "max_reject_ratio": 0.0,  # the generator writes nothing invalid: no row may be rejected
}

# Streams the sample export leaves empty: the rejects, and any table written with no rows.
_EMPTY = [
    "marina_rejects",
    *sorted(
        stream for export in MANIFEST["exports"] for stream, info in export["tables"].items() if not info.get("rows")
    ),
]


def _naive_date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    parsed = dt.datetime.fromisoformat(value)  # raises (-> invalid) when not ISO
    return parsed.tzinfo is None


def _date(value: object) -> bool:
    return not isinstance(value, str) or bool(dt.date.fromisoformat(value))


_FORMATS = FormatChecker(formats=())
_FORMATS.checks("date-time", raises=ValueError)(_naive_date_time)
_FORMATS.checks("date", raises=ValueError)(_date)


def _exact_multiple_of(validator, step, instance, schema):
    if isinstance(instance, bool) or not isinstance(instance, (int, float)):
        return
    if Decimal(repr(instance)) % Decimal(repr(step)) != 0:
        yield ValidationError(f"{instance!r} is not a multiple of {step!r}")


def _length_hint(validator, limit, instance, schema):
    """maxLength is a hint for the loader (it widens the column): values are never cut."""
    return iter(())


_ContractValidator = validators.extend(Draft7Validator, {"multipleOf": _exact_multiple_of, "maxLength": _length_hint})


class RecordMatchesContractSchema(StreamTestTemplate):
    """Every record validates against its stream's schema (with the contract's two rules)."""

    name = "record_matches_stream_schema"

    def test(self) -> None:
        validator = _ContractValidator(self.stream.schema, format_checker=_FORMATS)
        for record in self.stream_records:
            errors = [f"{e.message} (path: {'.'.join(map(str, e.path))})" for e in validator.iter_errors(record)]
            assert not errors, f"Record does not match stream schema: {errors[:5]}"


TestTapMarinaS3 = get_tap_test_class(
    TapMarinaS3,
    config=CONFIG,
    suite_config=SuiteConfig(max_records_limit=None, ignore_no_records_for_streams=_EMPTY),
)
TestTapMarinaS3.test_tap_stream_record_matches_stream_schema = RecordMatchesContractSchema().run
