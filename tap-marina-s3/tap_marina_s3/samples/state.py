"""One table across a sequence of exports: its keys, the rows changed so far, and the plan of
inserts / updates / deletes that turns one export into the next.

Memory: keys are implicit for tables with a sequential integer key (ordinal o has key o + 1) and a
list otherwise; only rows that were inserted or updated are held (about change-rate of the table per
export); every other row is regenerated from its chunk when written.

Referential integrity across exports: in a table that other tables reference, only "volatile"
rows (ordinal % 10 == 9) are ever deleted, and children only point at the other, stable keys.
"""

from __future__ import annotations

import bisect
import datetime as dt
import functools
from dataclasses import dataclass, field
from random import Random

from .kinds import ctype
from .model import LONG_AT, LONG_EVERY, TableModel, seeded

CHUNK = 2000
DATE_DOMAIN = [(dt.date(2024, 1, 1) + dt.timedelta(days=d)).isoformat() for d in range(3 * 365)]


def volatile(o: int) -> bool:
    return o % 10 == 9


def stochastic_round(rng: Random, x: float) -> int:
    whole = int(x)
    return whole + (rng.random() < x - whole)


@dataclass
class Plan:
    deleted: list[int] = field(default_factory=list)
    update: set[int] = field(default_factory=set)
    want_long: set[int] = field(default_factory=set)
    inserted: list[int] = field(default_factory=list)


@dataclass
class WriteResult:
    rows: int = 0
    updated: list[str] = field(default_factory=list)
    kinds: dict[str, int] = field(default_factory=dict)


class TableState:
    def __init__(self, model: TableModel, count: int, is_parent: bool, base_domains: dict[str, list[str]]) -> None:
        self.model = model
        self.is_parent = is_parent
        table = model.table
        pk_cols = [table.columns[i] for i in model.pk_idx]
        self.sequential = (
            len(pk_cols) == 1 and model.pk_idx[0] not in model.fk and ctype(pk_cols[0], table.system).kind == "int"
        )
        self.keys: list[tuple[str, ...]] | None = None
        if self.sequential:
            self.total = count
        else:
            self.keys = sorted(
                self._new_keys(seeded(model.seed, model.stream, "keys"), count, base_domains, set()),
                key=lambda k: tuple((len(p), p) for p in k),
            )
            self.total = len(self.keys)
        self.used = set(self.keys or ())
        self.n_base = self.total
        self.rows: dict[int, list[str]] = {}
        self.deleted: set[int] = set()

    # ------------------------------------------------------------------ keys
    def _domain(self, i: int, domains: dict[str, list[str]]) -> list[str]:
        if i in self.model.fk:
            return domains[self.model.fk[i]]
        kind = ctype(self.model.table.columns[i], self.model.table.system).kind
        if kind == "date":
            return DATE_DOMAIN
        return [str(n) for n in range(1, 100000)]

    def _new_keys(self, rng: Random, n: int, domains: dict[str, list[str]], used: set) -> list[tuple[str, ...]]:
        doms = [self._domain(i, domains) for i in self.model.pk_idx]
        if len(doms) == 1:
            free = [d for d in doms[0] if (d,) not in used]
            return [(d,) for d in rng.sample(free, min(n, len(free)))]
        space = 1
        for d in doms:
            space *= len(d)
        n = min(n, max(0, space // 2 - len(used)))
        out: set[tuple[str, ...]] = set()
        while len(out) < n:
            k = tuple(rng.choice(d) for d in doms)
            if k not in used:
                out.add(k)
        return sorted(out)

    def record_key(self, o: int) -> str:
        return str(o + 1) if self.keys is None else "|".join(self.keys[o])

    def pk_columns(self, ordinals: range) -> list[list[str]]:
        if self.keys is None:
            return [list(map(str, range(ordinals.start + 1, ordinals.stop + 1)))]
        chunk = self.keys[ordinals.start : ordinals.stop]
        return [[k[j] for k in chunk] for j in range(len(self.model.pk_idx))]

    def alive(self) -> list[int]:
        return [o for o in range(self.total) if o not in self.deleted]

    def stable_keys(self) -> list[str]:
        """Rendered keys children may point at (never deleted)."""
        return [
            self.record_key(o)
            for o in range(self.total)
            if o not in self.deleted and not (self.is_parent and volatile(o))
        ]

    # ------------------------------------------------------------------ changes
    def plan(
        self, rng: Random, domains: dict[str, list[str]], change_rate: float, insert_rate: float, delete_rate: float
    ) -> Plan:
        """Choose this export's changes; inserted rows are generated now (they join self.rows)."""
        plan = Plan()
        alive = self.alive()
        deletable = [o for o in alive if volatile(o)] if self.is_parent else alive
        n_del = min(len(deletable), stochastic_round(rng, len(alive) * delete_rate))
        plan.deleted = sorted(rng.sample(deletable, n_del))
        gone = set(plan.deleted)
        remaining = [o for o in alive if o not in gone]
        if self.model.mutable:
            n_upd = min(len(remaining), stochastic_round(rng, len(remaining) * change_rate))
            plan.update = set(rng.sample(remaining, n_upd))
            longs = [o for o in remaining if o % LONG_EVERY == LONG_AT]
            if self.model.long_cols and longs and n_upd:
                pick = rng.choice(longs)
                if pick not in plan.update:
                    plan.update.discard(rng.choice(sorted(plan.update)))
                    plan.update.add(pick)
                plan.want_long.add(pick)
        n_ins = stochastic_round(rng, len(alive) * insert_rate)
        if self.keys is None:
            new = list(range(self.total, self.total + n_ins))
        else:
            fresh = self._new_keys(rng, n_ins, domains, self.used)
            self.keys.extend(fresh)
            self.used.update(fresh)
            new = list(range(self.total, self.total + len(fresh)))
        if new:
            span = range(new[0], new[-1] + 1)
            cols = self.model.gen_columns(rng, self.pk_columns(span), new, domains)
            for o, row in zip(new, zip(*cols)):
                self.rows[o] = list(row)
        self.total += len(new)
        self.deleted.update(plan.deleted)
        for o in plan.deleted:
            self.rows.pop(o, None)
        plan.inserted = new
        return plan

    # ------------------------------------------------------------------ writing
    def _final(
        self, o: int, row_of, plan: Plan, rng: Random | None, domains: dict[str, list[str]], result: WriteResult
    ) -> list[str] | None:
        """The row written for ordinal o in this export (None: deleted), applying an update."""
        if o in self.deleted:
            return None
        row = self.rows[o] if o in self.rows else row_of()
        if o in plan.update:
            row = list(row)
            kind = self.model.mutate(rng, row, domains, o in plan.want_long)
            if kind:
                self.rows[o] = row
                result.updated.append(self.record_key(o))
                result.kinds[kind] = result.kinds.get(kind, 0) + 1
        return row

    def write(
        self,
        sink,
        base_domains: dict[str, list[str]],
        domains: dict[str, list[str]],
        plan: Plan | None,
        update_rng: Random | None,
    ) -> WriteResult:
        """Write header and rows (in key order, inserted rows last) to a Sink.

        Base rows are regenerated chunk by chunk as pre-quoted CSV lines; the few rows that were
        deleted, updated now or before, are parsed back, changed and re-quoted in place."""
        model, result = self.model, WriteResult()
        sink.writer.writerow(model.headers)
        plan = plan or Plan()
        special = sorted(set(self.rows) | self.deleted | plan.update)
        for start in range(0, self.n_base, CHUNK):
            span = range(start, min(self.n_base, start + CHUNK))
            rng = seeded(model.seed, model.stream, "chunk", start // CHUNK)
            cols = model.gen_columns(rng, self.pk_columns(span), span, base_domains, escaped=True)
            lines: list[str | None] = list(map(",".join, zip(*cols)))
            lo, hi = bisect.bisect_left(special, span.start), bisect.bisect_left(special, span.stop)
            for o in special[lo:hi]:
                pos = o - start
                parse = functools.partial(sink.parse, lines[pos])
                row = self._final(o, parse, plan, update_rng, domains, result)
                lines[pos] = None if row is None else sink.format(row)
            kept = [line for line in lines if line is not None]
            sink.write_lines(kept)
            result.rows += len(kept)
        for o in range(self.n_base, self.total):
            row = self._final(o, functools.partial(self.rows.__getitem__, o), plan, update_rng, domains, result)
            if row is not None:
                sink.writer.writerow(row)
                result.rows += 1
        return result
