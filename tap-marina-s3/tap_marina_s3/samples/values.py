"""Value generation: one factory per column kind (chosen from the catalog type and, for text and
numbers, a few name hints), rendered in the vendor formats of docs/source-formats.md §5.

A factory returns `(canonical, rendered)`: `canonical` is the typed value as the tap's canonical
text (design.md §4: integers `str(int)`, decimals quantized to the scale, doubles `repr(float)`,
dates `YYYY-MM-DD`, timestamps `YYYY-MM-DD HH:MM:SS.ffffff`, booleans `1`/`0`, text as is) and is used
to make sure an update really changes a value. NULL is canonical `None`; it is rendered blank, or
as the token `NULL` (MOLO) / `\\N` (Stellar) in non-text columns only.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from random import Random

from marina_common.catalog import Column

from . import vocab
from .kinds import ColType, ctype
from .text import text_generator

Factory = Callable[[Random], tuple[str, str]]
NULL_TOKEN = {"molo": "NULL", "stellar": "\\N"}
# Text the tap would read as NULL: a generated text value must never be one of these.
_NULLISH = {"", "NULL", "N/A", "NONE", "\\N", "0000-00-00"}
EPOCH = dt.datetime(2019, 1, 1)
SPAN_SECONDS = int((dt.datetime(2025, 11, 16) - EPOCH).total_seconds())


# ---------------------------------------------------------------------------------- dates
def canon_ts(t: dt.datetime) -> str:
    return f"{t:%Y-%m-%d %H:%M:%S}.{t.microsecond:06d}"


def render_ts(rng: Random, t: dt.datetime, system: str) -> tuple[str, str]:
    """Render a timestamp; returns (canonical, text). MOLO mixes four formats."""
    if system == "stellar":
        t = t.replace(microsecond=0)
        return canon_ts(t), f"{t:%Y-%m-%d %H:%M:%S}"
    r = rng.random()
    if r < 0.70:
        t = t.replace(microsecond=0)
        return canon_ts(t), f"{t:%m/%d/%Y %H:%M:%S}"
    if r < 0.85:
        t = t.replace(microsecond=0)
        return canon_ts(t), f"{t:%Y-%m-%d %H:%M:%S}"
    if r < 0.93:
        if rng.random() < 0.5:
            t = t.replace(microsecond=t.microsecond // 1000 * 1000)
            return canon_ts(t), f"{t:%Y-%m-%dT%H:%M:%S}.{t.microsecond // 1000:03d}"
        return canon_ts(t), f"{t:%Y-%m-%dT%H:%M:%S.%f}"
    t = t.replace(microsecond=0)
    hour = t.hour % 12 or 12
    return canon_ts(t), f"{t.month}/{t.day}/{t.year} {hour}:{t:%M:%S} {'AM' if t.hour < 12 else 'PM'}"


def render_date(rng: Random, d: dt.date, system: str) -> tuple[str, str]:
    if system == "molo" and rng.random() < 0.75:
        return d.isoformat(), f"{d:%m/%d/%Y}"
    return d.isoformat(), d.isoformat()


def random_moment(rng: Random, name: str) -> dt.datetime:
    if "BIRTH" in name:
        return dt.datetime(1945, 1, 1) + dt.timedelta(days=rng.randrange(22000))
    if re.search(r"EXPIR|EXP_DATE|DUE", name):
        return dt.datetime(2024, 1, 1) + dt.timedelta(seconds=rng.randrange(4 * 365 * 86400))
    return EPOCH + dt.timedelta(seconds=rng.randrange(SPAN_SECONDS), microseconds=rng.randrange(10**6))


def random_duration(rng: Random) -> dt.timedelta:
    """Lengths of stays/rentals: hours, a few days, or weeks to months."""
    r = rng.random()
    if r < 0.4:
        return dt.timedelta(minutes=rng.randrange(30, 24 * 60, 15))
    if r < 0.8:
        return dt.timedelta(days=rng.randrange(1, 8), hours=rng.randrange(24))
    return dt.timedelta(days=rng.randrange(8, 200))


def temporal_factory(ctype: ColType, name: str, system: str) -> Factory:
    if ctype.kind == "date":
        return lambda rng: render_date(rng, random_moment(rng, name).date(), system)
    return lambda rng: render_ts(rng, random_moment(rng, name), system)


def render_temporal(rng: Random, ctype: ColType, t: dt.datetime, system: str) -> tuple[str, str]:
    return render_date(rng, t.date(), system) if ctype.kind == "date" else render_ts(rng, t, system)


# -------------------------------------------------------------------------------- numbers
def _int_range(name: str, p: int) -> tuple[int, int]:
    top = 10**p - 1
    if "YEAR" in name and p >= 4:
        return 1975, 2025
    if "LAST4" in name:
        return 0, min(top, 9999)
    if "PERCENT" in name:
        return 0, min(top, 100)
    if re.search(r"POSITION|ORDER|COUNT|QTY|NUM_|PASSENGERS|DAYS|HOURS|MINUTES|POINTS|MAX_|MIN_", name):
        return 0, min(top, 60)
    return 1, min(top, 10**6)


def int_factory(name: str, p: int) -> Factory:
    low, high = _int_range(name, p)
    edge = 10**p - 1

    def make(rng: Random) -> tuple[str, str]:
        r = rng.random()
        v = edge if r < 0.01 else rng.randint(low, high)
        text = str(v)
        return text, (text + ".0" if rng.random() < 0.03 else text)

    return make


def bool_factory(system: str) -> Factory:
    words = {"1": "True", "0": "False"} if system == "molo" else {"1": "1", "0": "0"}

    def make(rng: Random) -> tuple[str, str]:
        v = "1" if rng.random() < 0.5 else "0"
        return v, words[v]

    return make


def decimal_text(units: int, scale: int) -> str:
    sign = "-" if units < 0 else ""
    whole, frac = divmod(abs(units), 10**scale)
    return f"{sign}{whole}.{frac:0{scale}d}"


def decimal_factory(name: str, p: int, s: int) -> Factory:
    int_digits = p - s
    if re.search(r"PERCENT|RATE|TAX", name):
        cap = min(10**int_digits, 100)
    elif re.search(r"START|END|TIME", name) and int_digits <= 2:
        cap = 24
    else:
        cap = 10 ** min(int_digits, 6)
    max_units = 10**p - 1

    def make(rng: Random) -> tuple[str, str]:
        r = rng.random()
        if r < 0.01:
            units = max_units
        else:
            magnitude = cap ** rng.random()  # log-uniform in [1, cap)
            units = int(magnitude * 10**s * rng.random())
            if rng.random() < 0.4:  # whole or half values are common in money columns
                units = units // 10**s * 10**s + (10**s // 2 if rng.random() < 0.3 else 0)
            units = min(units, max_units)
        if rng.random() < 0.03:
            units = -units
        canon = decimal_text(units, s)
        text = canon
        if rng.random() < 0.3:
            text = text.rstrip("0").rstrip(".") if "." in text else text
            text = "0" if text in ("", "-", "-0") else text
        return canon, text

    return make


def double_factory(name: str) -> Factory:
    cap = 100.0 if re.search(r"PERCENT|RATE|TAX|FEE", name) else 100000.0

    def make(rng: Random) -> tuple[str, str]:
        digits = rng.randrange(5)
        v = round(rng.random() * cap ** rng.random(), digits)
        if rng.random() < 0.03:
            v = -v
        text = repr(v) if rng.random() < 0.5 else f"{v:.{digits}f}"
        return repr(float(text)), text

    return make


def text_factory(name: str, length: int | None) -> Factory:
    gen = text_generator(name)

    def make(rng: Random) -> tuple[str, str]:
        for _ in range(20):
            v = gen(rng)
            if length is not None:
                v = v[:length]
            v = v.strip()
            if v.upper() not in _NULLISH:
                return v, v
        return "x", "x"

    return make


def char_factory(name: str, n: int) -> Factory:
    if "COUNTRY" in name and n in (2, 3):
        choices = vocab.COUNTRY3 if n == 3 else vocab.COUNTRY2
    elif "CARD_TYPE" in name:
        choices = ("V", "M", "A", "D")
    else:
        choices = tuple("".join(t) for t in ("AB", "CD", "EF", "GH", "JK", "MN", "PQ", "XY"))
        choices = tuple((c * n)[:n] for c in choices)

    def make(rng: Random) -> tuple[str, str]:
        v = rng.choice(choices)
        return v, v

    return make


def flag_factory() -> Factory:
    return lambda rng: ("Yes", "Yes") if rng.random() < 0.5 else ("No", "No")


def factory_for(column: Column, system: str) -> Factory:
    t, name = ctype(column, system), column.name
    if t.kind == "int":
        return int_factory(name, t.precision)
    if t.kind == "bool":
        return bool_factory(system)
    if t.kind == "decimal":
        return decimal_factory(name, t.precision, t.scale)
    if t.kind == "double":
        return double_factory(name)
    if t.kind in ("date", "timestamp"):
        return temporal_factory(t, name, system)
    if t.kind == "char":
        return char_factory(name, t.length or 1)
    if t.kind == "flag":
        return flag_factory()
    return text_factory(name, t.length)


_NOTE_LIKE = re.compile(r"NOTE|DESCRIPTION|_TEXT|TERMS|POLICY|RULES|GUIDE|REASON|MISC|AUX|DETAILS")


def null_rate(column: Column) -> float:
    """Share of NULLs: vendor exports are sparse, notes and audit columns mostly empty."""
    if not column.nullable:
        return 0.0
    if re.search(r"VOID|DELET|CANCEL|REFUND", column.name):
        return 0.85
    if column.kind == "text" and _NOTE_LIKE.search(column.name):
        return 0.7
    if column.source is None:
        return 0.4
    return 0.25 if column.kind == "text" else 0.12


def long_length(rng: Random, ctype: ColType) -> int:
    """Length of a deliberately over-long text value (longer than NVARCHAR2(n); long NCLOBs)."""
    if ctype.kind == "clob":
        return rng.randint(3000, 5000)
    n = ctype.length or 100
    if n >= 1000 and rng.random() < 0.5:
        return rng.randint(2001, 2600)  # beyond the 2000 NVARCHAR2 ceiling -> NCLOB
    return n + rng.randint(1, 60)
