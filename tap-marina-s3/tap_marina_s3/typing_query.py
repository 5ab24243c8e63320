"""The typing query: every row of a transcoded member typed by the catalog, in DuckDB.

The query is built from named parts, each a projection over the one before it that computes
its columns once:

- scan: every field as text, `field_0`, `field_1`, ... (`csv_source`);
- shaped: `shape_ok` (the row has the header's number of fields) and `"fast:<COLUMN>"`, the
  typed value when the text has the vendor's usual shape (NULL otherwise);
- parsed: `"parsed:<COLUMN>"`, the full parse, for what the fast path left;
- checked: `"value:<COLUMN>"` (the typed value) and `"error:<COLUMN>"` (NULL when valid);
- judged: `row_ok` and `business_json`, the canonical JSON of the typed values in catalog
  order (its md5 is the row hash);
- numbered: `source_row`, the row's number in the file.

Two queries share these parts: the good rows (typed columns and lineage, what is loaded) and
the rejects (each row's number and the reject as JSON).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from marina_common.catalog import Column, Table

from .model import EXTRA_FIELDS, Lineage
from .typing_sql import Typed, quote, typed


def csv_source(path: Path, width: int, *, strict: bool, line_bytes: int = 0) -> str:
    """DuckDB's scan of a transcoded member, every field as text (field_0, field_1, ...).
    `strict`: every row is known to have exactly `width` fields, so the file may be scanned in
    parallel. Otherwise a serial scan pads short rows with NULLs and reads up to EXTRA_FIELDS
    more fields (DuckDB cannot pad rows in parallel), so that the typing query can tell each
    row's shape. `line_bytes`: the longest row, when it is long. DuckDB fails on a row over
    its line size and silently drops a last row longer than its buffer, so both are sized for
    it (a normal file keeps the small defaults: a buffer costs memory while it is read)."""
    line_size = max(2 << 20, line_bytes + (1 << 20))
    count = width if strict else width + EXTRA_FIELDS
    columns = "{" + ", ".join(f"'{_field(i)}': 'VARCHAR'" for i in range(count)) + "}"
    scan = (
        "null_padding=false, strict_mode=true, parallel=true"
        if strict
        else "null_padding=true, strict_mode=false, parallel=false"
    )
    return (
        f"read_csv({quote(str(path))}, header=false, columns={columns}, delim=',', "
        f"quote='\"', escape='\"', nullstr='\x01', {scan}, "
        f"auto_detect=false, max_line_size={line_size}, buffer_size={2 * line_size})"
    )


def _field(i: int) -> str:
    return f"field_{i}"


def _step(step: str, column: Column) -> str:
    """The name of one column's result at one step, e.g. "value:AMOUNT"."""
    return f'"{step}:{column.name}"'


@dataclass(frozen=True)
class TypingQuery:
    """The typing SQL of one transcoded member.

    `positions`: each catalog column's field in the file (None: missing); `extras`: the
    fields that match no catalog column; `removed`: rows taken out of the file before the
    scan (too long), which still count in the row numbers."""

    table: Table
    header: list[str]
    positions: list[int | None]
    extras: list[int]
    source: str
    strict: bool
    day_first: bool = False
    removed: tuple[int, ...] = ()

    # -- the two queries ---------------------------------------------------------------------
    def good_rows(self, lineage: Lineage) -> str:
        """The typed values and lineage of the rows that are loaded, in file order."""
        typed_columns = ", ".join(  # Parquet has no 128-bit integer: wide ones go as DECIMAL
            (
                f"CAST({_step('value', c)} AS DECIMAL({c.precision_scale[0]}, 0))"
                if c.kind == "integer" and c.precision_scale[0] > 18
                else _step("value", c)
            )
            + f' AS "{c.property_name}"'
            for c in self.table.columns
        )
        return f"""SELECT {typed_columns},
  {quote(lineage.source_key)} AS _sdc_source_key, {quote(lineage.member)} AS _sdc_source_member,
  source_row AS _sdc_row_number, CAST({quote(lineage.exported_at)} AS TIMESTAMP) AS _sdc_exported_at,
  {self._extra_json()} AS _sdc_extra, md5(business_json) AS _sdc_row_hash
FROM ({self._numbered()}) WHERE row_ok"""

    def rejects(self) -> str:
        """The row number and reject (JSON: raw_values, errors, record_key) of the others."""
        return (
            f"SELECT source_row, {self._reject_json()} AS reject "
            f"FROM ({self._numbered()}) WHERE NOT row_ok ORDER BY source_row"
        )

    # -- the parts, innermost first ----------------------------------------------------------
    def _columns(self) -> list[tuple[Column, str, Typed]]:
        """Each catalog column with its raw text (SQL) and its typing SQL."""
        return [
            (column, "CAST(NULL AS VARCHAR)" if pos is None else _field(pos), typed(column, day_first=self.day_first))
            for column, pos in zip(self.table.columns, self.positions)
        ]

    def _fields(self) -> str:
        count = len(self.header) if self.strict else len(self.header) + EXTRA_FIELDS
        return ", ".join(_field(i) for i in range(count))

    def _shape_ok(self) -> str:
        """The row has exactly the header's fields: the last one is there and the next is not
        (padding fills missing fields with NULL); the exact count is only needed for rejects."""
        width = len(self.header)
        return "TRUE" if self.strict else f"{_field(width - 1)} IS NOT NULL AND {_field(width)} IS NULL"

    def _shaped(self) -> str:
        fast = "".join(
            f", {sql.render('fast', text, _step('parsed', c))} AS {_step('fast', c)}"
            for c, text, sql in self._columns()
            if sql.fast is not None
        )
        return f"SELECT {self._fields()}, {self._shape_ok()} AS shape_ok{fast} FROM {self.source}"

    def _parsed(self) -> str:
        columns = self._columns()
        fast = "".join(f", {_step('fast', c)}" for c, _, sql in columns if sql.fast is not None)
        parsed = ", ".join(
            f"{sql.render('parse', text, _step('parsed', c), _step('fast', c))} AS {_step('parsed', c)}"
            for c, text, sql in columns
        )
        return f"SELECT {self._fields()}, shape_ok{fast}, {parsed} FROM ({self._shaped()})"

    def _checked(self) -> str:
        checked = []
        for column, text, sql in self._columns():
            parsed, fast = _step("parsed", column), _step("fast", column)
            error = sql.render("error", text, parsed, fast)
            if column.name in self.table.primary_key:
                empty = f"CASE WHEN {sql.is_null(parsed, fast)} THEN 'primary key column is empty' END"
                error = f"coalesce({error}, {empty})"
            value = sql.render("value", text, parsed, fast)
            checked.append(f"({value}) AS {_step('value', column)}, ({error}) AS {_step('error', column)}")
        return f"SELECT {self._fields()}, shape_ok, {', '.join(checked)} FROM ({self._parsed()})"

    def _judged(self) -> str:
        no_error = " AND ".join(f"{_step('error', c)} IS NULL" for c in self.table.columns)
        business = ", ".join(f'"{c.property_name}" := {_step("value", c)}' for c in self.table.columns)
        return (
            f"SELECT *, CASE WHEN row_ok THEN CAST(to_json(struct_pack({business})) AS VARCHAR) END AS business_json "
            f"FROM (SELECT *, shape_ok AND {no_error} AS row_ok FROM ({self._checked()}))"
        )

    def _numbered(self) -> str:
        """A streaming window numbers the rows; the rows taken out of the file still count: the
        k-th row read is row k + (rows taken out before it)."""
        shift = "".join(f" + (file_row > {r - j})::INT" for j, r in enumerate(self.removed, 1))
        numbered = f"SELECT *, row_number() OVER () AS file_row FROM ({self._judged()})"
        return f"SELECT *, file_row{shift} AS source_row FROM ({numbered})"

    # -- what the two queries give besides the values ----------------------------------------
    def _extra_json(self) -> str:
        """The fields matching no catalog column, as a JSON object (NULL when all are blank)."""
        if not self.extras:
            return "CAST(NULL AS VARCHAR)"
        any_extra = " OR ".join(f"coalesce({_field(i)}, '') <> ''" for i in self.extras)
        pairs = ", ".join(f"{quote(self.header[i])}, {_field(i)}" for i in self.extras)
        return f"CAST(CASE WHEN {any_extra} THEN json_object({pairs}) END AS VARCHAR)"

    def _reject_json(self) -> str:
        width = len(self.header)
        count = width if self.strict else width + EXTRA_FIELDS
        every_field = ", ".join(_field(i) for i in range(count))
        field_count = " + ".join(f"({_field(i)} IS NOT NULL)::INT" for i in range(count))
        raw = "json_object(" + ", ".join(f"{quote(h)}, {_field(i)}" for i, h in enumerate(self.header)) + ")"
        errors = ", ".join(
            f"{{'column': {quote(c.name)}, 'value': {text}, 'error': {_step('error', c)}}}"
            for c, text, _ in self._columns()
        )
        by_name = {c.name: c for c in self.table.columns}
        key = [by_name[name] for name in self.table.primary_key]
        key_text = " || '|' || ".join(f"CAST({_step('value', c)} AS VARCHAR)" for c in key)
        key_ok = " AND ".join(f"{_step('error', c)} IS NULL" for c in key)
        return f"""CASE WHEN NOT shape_ok THEN to_json({{
      'raw_values': {{'fields': list_filter([{every_field}], lambda f: f IS NOT NULL)}},
      'errors': [{{'column': NULL, 'value': NULL,
                  'error': CASE WHEN ({field_count}) >= {count} THEN 'more than {count - 1}'
                    ELSE CAST(({field_count}) AS VARCHAR) END || ' fields, expected {width}'}}],
      'record_key': NULL}})
    ELSE to_json({{
      'raw_values': {raw},
      'errors': list_filter([{errors}], lambda e: e.error IS NOT NULL),
      'record_key': CASE WHEN {key_ok} THEN {key_text} END}})
  END"""
