"""Typing of CSV values: one converter per column kind, never per table.

Every converter takes the raw text of a field and returns the typed JSON value, or raises
`BadValue` with a reason. Rules (docs/source-formats.md §5, and the legacy defects it lists):

* NULL: an empty or blank field, or one of the tokens NULL, N/A, NONE, \\N in any case. A blank is
  NULL, never zero. Text values are otherwise kept exactly as written: never trimmed or cut.
* integer (NUMBER(p,0)): digits with an optional sign, `1.0` style whole decimals; for NUMBER(1,0)
  also the boolean spellings TRUE/T/YES/Y/FALSE/F/NO/N (-> 1/0). More than p digits is an error.
* decimal (NUMBER(p,s)): exact `Decimal`, never a binary float; more than s decimal places or more
  than p-s integer digits is an error (Oracle would round or fail). Values are quantized to s places.
* double (BINARY_DOUBLE): a finite float.
* date / timestamp: ISO (`YYYY-MM-DD`, with ` ` or `T`, fractional seconds), `YYYY/MM/DD`,
  `MM/DD/YYYY` and `MM-DD-YYYY` with optional `HH:MM[:SS[.ffffff]]` and optional AM/PM. Slash and
  dash day/month dates are month-first unless the `day_first` setting is on. A date-only value is
  accepted where a timestamp is expected (midnight). A time of day in a DATE column is an error
  unless it is midnight. MySQL's zero date `0000-00-00[ 00:00:00]` is NULL. Time-zone offsets are
  an error (the exports are in the marina's local time).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation

from .catalog import Column

NULL_TOKENS = frozenset({"", "NULL", "N/A", "NONE", "\\N", "0000-00-00", "0000-00-00 00:00:00"})
TRUE_TOKENS = frozenset({"TRUE", "T", "YES", "Y"})
FALSE_TOKENS = frozenset({"FALSE", "F", "NO", "N"})

Converter = Callable[[str], object]


class BadValue(ValueError):
    """A value that cannot be typed for its column; the message is the reason."""


def is_null(raw: str) -> bool:
    s = raw.strip()
    return not s or (len(s) <= 19 and s.upper() in NULL_TOKENS)


_WHOLE = re.compile(r"[+-]?\d+(?:\.0*)?")

_US_DATE = re.compile(
    r"(?P<a>\d{1,2})[/-](?P<b>\d{1,2})[/-](?P<y>\d{4})"
    r"(?:[ T]+(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:\.(?P<f>\d{1,6})\d*)?)?"
    r"\s*(?P<ampm>[AaPp][Mm])?)?"
)
_YMD_SLASH = re.compile(
    r"(?P<y>\d{4})/(?P<a>\d{1,2})/(?P<b>\d{1,2})"
    r"(?:[ T]+(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:\.(?P<f>\d{1,6})\d*)?)?"
    r"\s*(?P<ampm>[AaPp][Mm])?)?"
)
_ISO_AMPM = re.compile(
    r"(?P<y>\d{4})-(?P<a>\d{1,2})-(?P<b>\d{1,2})"
    r"[ T]+(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:\.(?P<f>\d{1,6})\d*)?)?"
    r"\s*(?P<ampm>[AaPp][Mm])"
)


def _from_match(m: re.Match, month_first: bool) -> dt.datetime:
    a, b = int(m["a"]), int(m["b"])
    month, day = (a, b) if month_first else (b, a)
    hour = int(m["H"] or 0)
    if ampm := m["ampm"]:
        if not 1 <= hour <= 12:
            raise BadValue(f"hour {hour} is not valid with {ampm.upper()}")
        hour = hour % 12 + (12 if ampm.upper() == "PM" else 0)
    micro = int((m["f"] or "0").ljust(6, "0"))
    try:
        return dt.datetime(int(m["y"]), month, day, hour, int(m["M"] or 0), int(m["S"] or 0), micro)
    except ValueError as exc:
        raise BadValue(f"impossible date or time: {exc}") from None


def parse_datetime(raw: str, day_first: bool = False) -> dt.datetime:
    s = raw.strip()
    try:
        value = dt.datetime.fromisoformat(s)
    except ValueError:
        pass
    else:
        if value.tzinfo is not None:
            raise BadValue("time-zone offsets are not accepted (exports are in local time)")
        return value
    if m := _US_DATE.fullmatch(s):
        return _from_match(m, month_first=not day_first)
    if m := _YMD_SLASH.fullmatch(s):
        return _from_match(m, month_first=True)
    if m := _ISO_AMPM.fullmatch(s):
        return _from_match(m, month_first=True)
    if re.fullmatch(r"\d{4}-\d{1,2}-\d{1,2}([ T].*)?", s):
        raise BadValue("impossible date or time")
    raise BadValue("not a recognised date/time format")


def _integer(precision: int) -> Converter:
    limit = 10**precision
    booleans = precision == 1

    def convert(raw: str) -> int | None:
        if is_null(raw):
            return None
        s = raw.strip()
        try:
            value = int(s)
        except ValueError:
            if _WHOLE.fullmatch(s):
                value = int(s.split(".", 1)[0])
            elif booleans and s.upper() in TRUE_TOKENS:
                return 1
            elif booleans and s.upper() in FALSE_TOKENS:
                return 0
            else:
                raise BadValue("not a whole number") from None
        if not -limit < value < limit:
            raise BadValue(f"more than {precision} digits")
        return value

    return convert


def _decimal(precision: int, scale: int) -> Converter:
    quantum = Decimal(1).scaleb(-scale)
    limit = Decimal(10) ** (precision - scale)

    def convert(raw: str) -> Decimal | None:
        if is_null(raw):
            return None
        try:
            value = Decimal(raw.strip())
        except InvalidOperation:
            raise BadValue("not a decimal number") from None
        if not value.is_finite():
            raise BadValue("not a finite number")
        quantized = value.quantize(quantum) if value.adjusted() < 40 else value
        if quantized != value:
            raise BadValue(f"more than {scale} decimal places")
        if abs(quantized) >= limit:
            raise BadValue(f"more than {precision - scale} digits before the decimal point")
        return quantized

    return convert


def _double(raw: str) -> float | None:
    if is_null(raw):
        return None
    try:
        value = float(raw)
    except ValueError:
        raise BadValue("not a number") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise BadValue("not a finite number")
    return value


def _timestamp(day_first: bool) -> Converter:
    def convert(raw: str) -> str | None:
        if is_null(raw):
            return None
        return parse_datetime(raw, day_first).isoformat()

    return convert


def _date(day_first: bool) -> Converter:
    def convert(raw: str) -> str | None:
        if is_null(raw):
            return None
        value = parse_datetime(raw, day_first)
        if value.time() != dt.time():
            raise BadValue("a time of day in a DATE column")
        return value.date().isoformat()

    return convert


def _text(raw: str) -> str | None:
    return None if is_null(raw) else raw


def converter_for(column: Column, *, day_first: bool = False) -> Converter:
    kind = column.kind
    if kind == "integer":
        return _integer(column.precision_scale[0])
    if kind == "decimal":
        return _decimal(*column.precision_scale)
    if kind == "double":
        return _double
    if kind == "date":
        return _date(day_first)
    if kind == "timestamp":
        return _timestamp(day_first)
    return _text
