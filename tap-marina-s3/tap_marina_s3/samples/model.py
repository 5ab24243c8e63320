"""Row generation for one table, driven by its catalog entry: value pools, foreign keys, interval
pairs, deliberately over-long text, and the mutations used for updates.

Rows are generated column by column in chunks: every plain column draws from a pool of 1024
pre-rendered values (about 160 distinct ones plus NULL slots), foreign keys draw from the parent's
key list. A chunk depends only on (seed, table, chunk number) and the parents' base key lists, so
the same rows come out again, byte for byte, in every later export.
"""

from __future__ import annotations

import csv
import hashlib
import io
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from operator import itemgetter
from random import Random

from marina_common.catalog import Column, Table

from . import values
from .kinds import ColType, ctype
from .relations import pairs_of
from .text import long_text
from .writers import LINE_END

POOL = 256  # a pool index is one random byte
DISTINCT = 120
LONG_EVERY, LONG_AT = 500, 7  # ordinals o with o % LONG_EVERY == LONG_AT carry one over-long text
FK_NULL_RATE = 0.08
assert array("I").itemsize == 4


def seeded(seed: int, *parts: object) -> Random:
    digest = hashlib.sha256(repr((seed, *parts)).encode()).digest()
    return Random(int.from_bytes(digest[:8], "big"))


def pick(rng: Random, pool: list, n: int) -> Sequence:
    """n draws from a pool of exactly POOL entries (one random byte each, all in C)."""
    if n < 2:
        return [pool[b] for b in rng.randbytes(n)]
    return itemgetter(*rng.randbytes(n))(pool)


def pick_any(rng: Random, seq: Sequence[str], n: int) -> list[str]:
    return list(map(seq.__getitem__, map(len(seq).__rmod__, array("I", rng.randbytes(4 * n)))))


def csv_escaper(lineterminator: str):
    """Quote one field exactly as csv.writer (QUOTE_MINIMAL) does inside a multi-field row."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator=lineterminator)
    tail = len(",x" + lineterminator)

    def escape(value: str) -> str:
        buf.seek(0)
        buf.truncate()
        writer.writerow((value, "x"))
        return buf.getvalue()[:-tail]

    return escape


ESCAPE = {system: csv_escaper(lt) for system, lt in LINE_END.items()}


@dataclass
class Pool:
    values: list[str]  # POOL rendered entries (NULL slots included)
    escaped: list[str]  # the same entries as they appear in the CSV text
    canon: dict[str, str | None]  # rendered -> canonical
    distinct: list[str]  # distinct non-NULL rendered values


def null_renders(column: Column, system: str) -> tuple[str, ...]:
    if ctype(column, system).is_text:
        return ("",)
    return ("", "", "", values.NULL_TOKEN[system])


def build_pool(rng: Random, column: Column, system: str) -> Pool:
    factory = values.factory_for(column, system)
    canon: dict[str, str | None] = {}
    for _ in range(DISTINCT):
        c, r = factory(rng)
        canon.setdefault(r, c)
    distinct = list(canon)
    nulls = null_renders(column, system)
    n_null = round(POOL * values.null_rate(column))
    entries = [nulls[i % len(nulls)] for i in range(n_null)]
    entries += [distinct[i % len(distinct)] for i in range(POOL - n_null)]
    canon.update(dict.fromkeys(nulls))
    escape = ESCAPE[system]
    escaped = {v: escape(v) for v in canon}
    return Pool(entries, [escaped[v] for v in entries], canon, distinct)


@dataclass
class PairGen:
    start: int
    end: int
    pool: list[tuple[str, str]]
    canon: dict[str, str | None]


def build_pair(rng: Random, table: Table, start: int, end: int) -> PairGen:
    a, b = table.columns[start], table.columns[end]
    system = table.system
    canon: dict[str, str | None] = {}
    distinct = []
    for _ in range(DISTINCT):
        t0 = values.random_moment(rng, a.name)
        ca, ra = values.render_temporal(rng, ctype(a, system), t0, system)
        cb, rb = values.render_temporal(rng, ctype(b, system), t0 + values.random_duration(rng), system)
        canon[ra], canon[rb] = ca, cb
        distinct.append((ra, rb))
    entries = []
    for i in range(POOL):
        ra, rb = distinct[i % len(distinct)]
        if b.nullable and i % 8 == 3:
            rb = ""
            if a.nullable and i % 24 == 3:
                ra = ""
        entries.append((ra, rb))
    canon[""] = None
    return PairGen(start, end, entries, canon)


class TableModel:
    """Compiled generator of one catalog table."""

    def __init__(self, table: Table, fks: dict[str, str], seed: int) -> None:
        self.table = table
        self.stream = table.stream
        self.seed = seed
        self.headers = [table.header(c) for c in table.columns]
        names = [c.name for c in table.columns]
        self.pk_idx = [names.index(k) for k in table.primary_key]
        self.fk = {i: fks[c.name] for i, c in enumerate(table.columns) if c.name in fks}
        self.pairs = [build_pair(seeded(seed, self.stream, "pair", a), table, a, b) for a, b in pairs_of(table)]
        in_pair = {p.start for p in self.pairs} | {p.end for p in self.pairs}
        self.pools: dict[int, Pool] = {}
        for i, c in enumerate(table.columns):
            if i not in self.pk_idx and i not in self.fk and i not in in_pair:
                self.pools[i] = build_pool(seeded(seed, self.stream, "pool", c.name), c, table.system)
        self.nulls = {i: null_renders(c, table.system) for i, c in enumerate(table.columns)}
        self.mutable = [i for i in range(len(table.columns)) if i not in self.pk_idx and i not in in_pair]
        texty = [i for i in self.pools if self._long_ok(ctype(table.columns[i], table.system))]
        notes = [i for i in texty if any(w in table.columns[i].name for w in ("NOTE", "DESCRIPTION", "TEXT", "TERMS"))]
        self.long_cols = notes or texty

    @staticmethod
    def _long_ok(t: ColType) -> bool:
        return t.kind == "clob" or (t.kind == "text" and (t.length or 0) >= 20)

    # ------------------------------------------------------------------ generation
    def gen_columns(
        self,
        rng: Random,
        pk_cols: list[list[str]],
        ordinals: range | list[int],
        domains: dict[str, list[str]],
        escaped: bool = False,
    ) -> list[Sequence[str]]:
        """Columns of rendered text for len(ordinals) rows whose key columns are given; with
        `escaped`, text is already quoted for the CSV (same draws, so the same rows)."""
        n = len(ordinals)
        cols: list[list[str] | None] = [None] * len(self.table.columns)
        for j, i in enumerate(self.pk_idx):
            cols[i] = pk_cols[j]
        for i, parent in self.fk.items():
            if cols[i] is not None:
                continue
            col = pick_any(rng, domains[parent], n)
            if self.table.columns[i].nullable:
                nulls = self.nulls[i]
                for pos in (p for p, r in enumerate(pick(rng, _NULL_MASK, n)) if r):
                    col[pos] = nulls[pos % len(nulls)]
            cols[i] = col
        for pair in self.pairs:
            drawn = pick(rng, pair.pool, n)
            cols[pair.start] = [d[0] for d in drawn]
            cols[pair.end] = [d[1] for d in drawn]
        for i, pool in self.pools.items():
            cols[i] = pick(rng, pool.escaped if escaped else pool.values, n)
        if self.long_cols:
            for pos, o in enumerate(ordinals):
                if o % LONG_EVERY == LONG_AT:
                    i = self.long_cols[(o // LONG_EVERY) % len(self.long_cols)]
                    cols[i] = list(cols[i])
                    lrng = seeded(self.seed, self.stream, "long", o)
                    text = long_text(lrng, values.long_length(lrng, ctype(self.table.columns[i], self.table.system)))
                    cols[i][pos] = ESCAPE[self.table.system](text) if escaped else text
        return cols  # type: ignore[return-value]

    # -------------------------------------------------------------------- updates
    def canonical(self, i: int, text: str) -> str | None:
        if text in self.nulls[i]:
            return None
        pool = self.pools.get(i)
        return pool.canon.get(text, text) if pool else text

    def _candidates(self, i: int, domains: dict[str, list[str]]) -> Sequence[str]:
        return domains[self.fk[i]] if i in self.fk else self.pools[i].distinct

    def _new_value(self, rng: Random, i: int, row: list[str], kind: str, domains: dict[str, list[str]]) -> str | None:
        cur = self.canonical(i, row[i])
        column = self.table.columns[i]
        if kind == "value_to_null":
            return rng.choice(self.nulls[i]) if cur is not None and column.nullable else None
        if kind == "null_to_value" and cur is not None:
            return None
        if kind == "value_change" and cur is None:
            return None
        candidates = self._candidates(i, domains)
        for _ in range(12):
            new = rng.choice(candidates)
            if self.canonical(i, new) != cur:
                return new
        return None

    def mutate(self, rng: Random, row: list[str], domains: dict[str, list[str]], want_long: bool = False) -> str | None:
        """Change `row` in place so that at least one canonical value differs; returns the kind of
        change (long_text_end, value_change, null_to_value, value_to_null) or None if impossible."""
        if want_long:
            long_at = [
                i
                for i in self.long_cols
                if len(row[i]) > (ctype(self.table.columns[i], self.table.system).length or 2000)
            ]
            if long_at:
                i = long_at[0]
                row[i] = row[i][:-1] + ("y" if row[i][-1] != "y" else "z")
                return "long_text_end"
        kinds = ["value_change", "value_change", "null_to_value", "value_to_null"]
        rng.shuffle(kinds)
        cols = list(self.mutable)
        rng.shuffle(cols)
        for kind in kinds:
            for i in cols:
                new = self._new_value(rng, i, row, kind, domains)
                if new is not None:
                    row[i] = new
                    if rng.random() < 0.3 and len(cols) > 1:  # sometimes a second column too
                        j = cols[0] if cols[0] != i else cols[1]
                        second = self._new_value(rng, j, row, "value_change", domains)
                        if second is not None:
                            row[j] = second
                    return kind
        return None


_NULL_MASK = [i % 100 < round(100 * FK_NULL_RATE) for i in range(POOL)]
