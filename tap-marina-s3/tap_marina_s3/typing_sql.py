"""Value typing as SQL: one expression per column *kind*, never per table.

The tap types values inside an embedded DuckDB, in bulk, rather than field by field in Python
(docs/design.md, Performance notes). For each column the builder of its kind returns two
expressions over the raw text `v`: the typed value (NULL when NULL or invalid) and the error
(NULL when valid).

Rules (docs/source-formats.md §5 and the legacy defects to avoid):

* NULL: an empty or blank field, or one of the tokens NULL, N/A, NONE, \\N (any case), or
  MySQL's zero date 0000-00-00[ 00:00:00]. A blank is NULL, never zero. Text is never trimmed or
  cut.
* integer (NUMBER(p,0)): optional sign and digits, `1.0`-style whole decimals; for NUMBER(1,0)
  also TRUE/T/YES/Y and FALSE/F/NO/N (1/0). More than p digits is an error. No hex, no `_`.
* decimal (NUMBER(p,s)): exact decimal, never a binary float; more than s decimal places or more
  than p-s integer digits is an error (Oracle would round or fail).
* double (BINARY_DOUBLE): a finite number.
* timestamp / date: ISO (`YYYY-MM-DD`, ` ` or `T`, fractional seconds), `YYYY/MM/DD`,
  `MM/DD/YYYY`, `MM-DD-YYYY`, each with optional `HH:MM[:SS[.ffffff]]` and AM/PM; month-first
  unless `day_first`. Date-only where a timestamp is expected = midnight. A DATE with a time of day
  other than midnight is an error. Time-zone offsets are an error (exports are in local time).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from marina_common.catalog import Column

NULL_TOKENS = ("NULL", "N/A", "NONE", "\\N", "0000-00-00", "0000-00-00 00:00:00")
TRUE_TOKENS = ("TRUE", "T", "YES", "Y")
FALSE_TOKENS = ("FALSE", "F", "NO", "N")

_INT_RE = r"\s*[+-]?[0-9]+(\.0*)?\s*"
_NUM_RE = r"\s*[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?\s*"
_OFFSET_RE = r"([0-9]:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?\s*([+-][0-9]{2}(:?[0-9]{2})?|Z))$"
_DATEISH_RE = r"\s*([0-9]{4}[-/][0-9]{1,2}[-/][0-9]{1,2}|[0-9]{1,2}[-/][0-9]{1,2}[-/][0-9]{4})([ T].*)?"

_TIMES = (" %H:%M:%S", "", " %H:%M", " %H:%M:%S.%f", " %I:%M:%S %p", " %I:%M %p", " %I:%M:%S.%f %p")
_ISO_RE = r"\s*[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}([ T][0-9]{1,2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?)?\s*"
_US_RE = r"\s*[0-9]{1,2}[/-][0-9]{1,2}[/-][0-9]{4}([ T].*)?"


def quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _tokens_re(tokens: tuple[str, ...], *, optional: bool = False) -> str:
    """A case-insensitive regex matching any of `tokens`, surrounding blanks allowed (an SQL
    string literal's content: quotes doubled)."""
    alternatives = "|".join(re.escape(t) for t in sorted(tokens, key=len, reverse=True))
    return (rf"(?i)\s*({alternatives}){'?' if optional else ''}\s*").replace("'", "''")


def _formats(day_first: bool, us_only: bool = False) -> str:
    md = ("%d", "%m") if day_first else ("%m", "%d")
    dates = [f"{md[0]}/{md[1]}/%Y", f"{md[0]}-{md[1]}-%Y"]
    if not us_only:
        dates += ["%Y/%m/%d", "%Y-%m-%d"]
    return "[" + ", ".join(quote(d + t) for d in dates for t in _TIMES) + "]"


@dataclass(frozen=True)
class Typed:
    """SQL for one column over raw text `{v}`: `parse` gives `{x}` (the parsed value, NULL when
    null or unparseable; computed once per row); `value` and `error` are cheap tests on `{x}`,
    looking at `{v}` again only where `{x}` is NULL (NULL token, or which error).

    `fast` (optional) gives `{f}`, computed before `parse`: the final typed value when `{v}` has
    the vendor's usual shape (plain digits, `MM/DD/YYYY HH:MM:SS`, ...), tested with one cheap
    check, else NULL. Rows whose value `fast` typed, and blank fields, skip `parse` and the
    error tests; every other value goes the full way, so the rules are the same either way.
    """

    parse: str
    value: str
    error: str
    fast: str | None = None

    def render(self, part: str, v: str, x: str, f: str = "") -> str:
        sql = getattr(self, part)
        if sql is None:
            return "NULL"
        sql = sql.replace("{v}", v).replace("{x}", x)
        if self.fast is None or part == "fast":
            return sql
        skip = f"{f} IS NOT NULL OR {v} = ''"
        if part == "value":
            return f"coalesce({f}, {sql})"
        return f"CASE WHEN {skip} THEN NULL ELSE {sql} END"

    def is_null(self, x: str, f: str) -> str:
        """SQL true when the typed value is NULL (for the primary-key check)."""
        return f"{x} IS NULL" if self.fast is None else f"({f} IS NULL AND {x} IS NULL)"


_NULL_RE = _tokens_re(NULL_TOKENS, optional=True)  # also matches a blank field


def is_null_sql(v: str) -> str:
    # A regex, not IN (...): DuckDB plans a constant IN list as one hash join per column.
    return f"({v} IS NULL OR (length({v}) <= 21 AND regexp_full_match({v}, '{_NULL_RE}')))"


def _null_or(reason: str) -> str:
    """Where {x} is NULL: no error for a NULL token, else `reason` (an SQL expression)."""
    return f"WHEN {is_null_sql('{v}')} THEN NULL ELSE {reason} END"


def _integer(column: Column, day_first: bool) -> Typed:  # noqa: ARG001 (the builders' signature)
    p, _ = column.precision_scale
    bools = ""
    if p == 1:
        bools = (
            f" WHEN regexp_full_match({{v}}, '{_tokens_re(TRUE_TOKENS)}') THEN 1"
            f" WHEN regexp_full_match({{v}}, '{_tokens_re(FALSE_TOKENS)}') THEN 0"
        )
    sql_type = "BIGINT" if p <= 18 else "HUGEINT"
    fast = None
    if p <= 18:  # plain digits (at most p of them): a cast that cannot fail or round
        fast = f"CASE WHEN regexp_full_match({{v}}, '-?[0-9]{{1,{p}}}') THEN CAST({{v}} AS BIGINT)"
        if p == 1:
            fast += " WHEN {v} = 'True' THEN CAST(1 AS BIGINT) WHEN {v} = 'False' THEN CAST(0 AS BIGINT)"
        fast += " END"
    return Typed(
        fast=fast,
        parse=(
            f"CASE WHEN regexp_full_match({{v}}, '{_INT_RE}') "
            f"THEN TRY_CAST(split_part(trim({{v}}), '.', 1) AS HUGEINT){bools} END"
        ),
        value=f"CASE WHEN abs({{x}}) < {10**p} THEN CAST({{x}} AS {sql_type}) END",
        error=(
            f"CASE WHEN {{x}} IS NOT NULL THEN CASE WHEN abs({{x}}) >= {10**p} "
            f"THEN 'more than {p} digits' END " + _null_or("'not a whole number'")
        ),
    )


def _decimal(column: Column, day_first: bool) -> Typed:  # noqa: ARG001 (the builders' signature)
    p, s = column.precision_scale
    frac = "length(rtrim(regexp_extract({v}, '\\.([0-9]+)', 1), '0'))"
    # plain digits, at most p-s before the point and s after it (then only zeros): exact
    fast = (
        f"CASE WHEN regexp_full_match({{v}}, '-?[0-9]{{1,{max(p - s, 1)}}}"
        f"(\\.[0-9]{{0,{s}}}0*)?') THEN TRY_CAST({{v}} AS DECIMAL({p}, {s})) END"
    )
    return Typed(
        fast=fast,
        parse=(
            f"CASE WHEN regexp_full_match({{v}}, '{_NUM_RE}') "
            f"THEN TRY_CAST(trim({{v}}) AS DECIMAL(38, {min(s + 10, 37 - (p - s))})) END"
        ),
        value=(
            f"CASE WHEN abs({{x}}) < {10 ** (p - s)} AND {{x}} = round({{x}}, {s}) "
            f"AND {frac} <= {s} THEN CAST({{x}} AS DECIMAL({p}, {s})) END"
        ),
        error=(
            f"CASE WHEN {{x}} IS NOT NULL THEN CASE "
            f"WHEN {frac} > {s} OR {{x}} <> round({{x}}, {s}) "
            f"THEN 'more than {s} decimal places' "
            f"WHEN abs({{x}}) >= {10 ** (p - s)} "
            f"THEN 'more than {p - s} digits before the decimal point' END " + _null_or("'not a decimal number'")
        ),
    )


def _double(column: Column, day_first: bool) -> Typed:  # noqa: ARG001 (the builders' signature)
    return Typed(
        fast="CASE WHEN regexp_full_match({v}, '-?[0-9]{1,15}(\\.[0-9]{1,15})?') THEN CAST({v} AS DOUBLE) END",
        parse=f"CASE WHEN regexp_full_match({{v}}, '{_NUM_RE}') THEN TRY_CAST(trim({{v}}) AS DOUBLE) END",
        value="CASE WHEN isfinite({x}) THEN {x} END",
        error=(
            "CASE WHEN {x} IS NOT NULL THEN CASE WHEN NOT isfinite({x}) "
            "THEN 'not a finite number' END " + _null_or("'not a number'")
        ),
    )


def _datetime_parse(day_first: bool) -> str:
    """The parsed timestamp of a date or timestamp column. Cheapest test first: ISO shapes (no
    offset: the regex is anchored) go through DuckDB's cast, the vendor's US shapes through
    strptime with the most common format first; the full list only for what is left. Offsets
    never parse, so they end up as errors."""
    us = _formats(day_first, us_only=True)
    return (
        f"CASE WHEN regexp_full_match({{v}}, '{_ISO_RE}') THEN TRY_CAST(trim({{v}}) AS TIMESTAMP) "
        f"WHEN regexp_full_match({{v}}, '{_US_RE}') THEN try_strptime(trim({{v}}), {us}) "
        f"WHEN regexp_full_match({{v}}, '{_DATEISH_RE}') "
        f"THEN try_strptime(trim({{v}}), {_formats(day_first)}) END"
    )


_SHAPE_ERROR = _null_or(
    f"CASE WHEN regexp_matches({{v}}, '{_OFFSET_RE}') "
    "THEN 'time-zone offsets are not accepted (exports are in local time)' "
    f"WHEN regexp_full_match({{v}}, '{_DATEISH_RE}') THEN 'impossible date or time' "
    "ELSE 'not a recognised date/time format' END"
)


def _fast_dates(day_first: bool) -> str:
    """WHEN branches typing the vendor's usual date shapes, fixed width with the separators
    where they must be (so no field can be longer or shorter than its format's): one strptime,
    no regex."""
    md = "%d/%m" if day_first else "%m/%d"
    us_date = "length({v}) = 10 AND substr({v}, 3, 1) = '/' AND substr({v}, 6, 1) = '/'"
    iso_date = "length({v}) = 10 AND substr({v}, 5, 1) = '-' AND substr({v}, 8, 1) = '-'"
    return f"WHEN {us_date} THEN try_strptime({{v}}, '{md}/%Y') WHEN {iso_date} THEN try_strptime({{v}}, '%Y-%m-%d') "


def _timestamp(column: Column, day_first: bool) -> Typed:  # noqa: ARG001 (the builders' signature)
    md = "%d/%m" if day_first else "%m/%d"
    fast = (
        "CASE WHEN length({v}) = 19 AND substr({v}, 3, 1) = '/' AND substr({v}, 6, 1) = '/' "
        f"AND substr({{v}}, 11, 1) = ' ' THEN try_strptime({{v}}, '{md}/%Y %H:%M:%S') "
        "WHEN length({v}) = 19 AND substr({v}, 5, 1) = '-' AND substr({v}, 8, 1) = '-' "
        "AND substr({v}, 11, 1) = ' ' THEN try_strptime({v}, '%Y-%m-%d %H:%M:%S') " + _fast_dates(day_first) + "END"
    )
    return Typed(
        fast=fast,
        parse=_datetime_parse(day_first),
        value="{x}",
        error="CASE WHEN {x} IS NOT NULL THEN NULL " + _SHAPE_ERROR,
    )


def _date(column: Column, day_first: bool) -> Typed:  # noqa: ARG001 (the builders' signature)
    return Typed(
        fast=f"CAST(CASE {_fast_dates(day_first)}END AS DATE)",
        parse=_datetime_parse(day_first),
        value="CASE WHEN CAST({x} AS TIME) = TIME '00:00:00' THEN CAST({x} AS DATE) END",
        error=(
            "CASE WHEN {x} IS NOT NULL THEN CASE WHEN CAST({x} AS TIME) <> TIME '00:00:00' "
            "THEN 'a time of day in a DATE column' END " + _SHAPE_ERROR
        ),
    )


def _text(column: Column, day_first: bool) -> Typed:  # noqa: ARG001 (the builders' signature)
    """Text is kept exactly as written."""
    return Typed(parse=f"CASE WHEN {is_null_sql('{v}')} THEN NULL ELSE {{v}} END", value="{x}", error="NULL")


BUILDERS: dict[str, Callable[[Column, bool], Typed]] = {
    "integer": _integer,
    "decimal": _decimal,
    "double": _double,
    "timestamp": _timestamp,
    "date": _date,
    "text": _text,
}


def typed(column: Column, *, day_first: bool = False) -> Typed:
    """The SQL that types `column`'s values, by its kind."""
    return BUILDERS[column.kind](column, day_first)
