"""Reading DW_ETL_RUN_LOG (written by dbt's on-run-end hook, transform/macros/marina_run_log.sql)
and STG_MARINA_LOAD_AUDIT: the summary of the latest run, and whether a new load awaits dbt."""

from __future__ import annotations

import datetime as dt
import textwrap
from dataclasses import dataclass, field

from .env import TRUE_WORDS
from .warehouse import Warehouse

RUN_LOG = "DW_ETL_RUN_LOG"
LOAD_AUDIT = "STG_MARINA_LOAD_AUDIT"

LOAD_FIGURES = ("ROWS_READ", "ROWS_REJECTED", "ROWS_EMITTED", "ROWS_STAGED")
DW_FIGURES = ("DW_ROWS_INSERTED", "DW_ROWS_UPDATED", "DW_ROWS_DELETED", "DW_ROWS_UNCHANGED")


def _n(value) -> int:
    return int(value) if value is not None else 0


@dataclass
class RunSummary:
    """One dbt invocation as logged: one row per DW table."""

    invocation_id: str
    command: str
    started_at: dt.datetime
    logged_at: dt.datetime
    rows: list[dict] = field(default_factory=list)

    @property
    def failed(self) -> list[dict]:
        """Tables whose model did not succeed, or whose attached tests failed."""
        return [r for r in self.rows if r["MODEL_STATUS"] != "success" or _n(r["TESTS_FAILED"]) > 0]

    @property
    def ok(self) -> bool:
        return not self.failed

    @property
    def new_exports(self) -> list[dict]:
        """Tables whose export in staging was first merged by this run."""
        return [r for r in self.rows if r["EXPORT_IS_NEW"] is not None and _n(r["EXPORT_IS_NEW"]) == 1]

    def load_totals(self) -> dict[str, int]:
        return {k: sum(_n(r[k]) for r in self.new_exports) for k in LOAD_FIGURES}

    def dw_totals(self) -> dict[str, int]:
        return {k: sum(_n(r[k]) for r in self.rows) for k in DW_FIGURES}

    def mismatches(self) -> list[str]:
        """Load-audit figures that do not reconcile (read = emitted + rejected; emitted = staged)."""
        out = []
        for r in self.rows:
            if r["ROWS_READ"] is None:
                continue
            if _n(r["ROWS_READ"]) != _n(r["ROWS_EMITTED"]) + _n(r["ROWS_REJECTED"]):
                out.append(
                    f"{r['TABLE_NAME']}: read {r['ROWS_READ']} != emitted {r['ROWS_EMITTED']}"
                    f" + rejected {r['ROWS_REJECTED']}"
                )
            if _n(r["ROWS_EMITTED"]) != _n(r["ROWS_STAGED"]):
                out.append(f"{r['TABLE_NAME']}: emitted {r['ROWS_EMITTED']} != staged {r['ROWS_STAGED']}")
        return out

    @property
    def notes(self) -> list[str]:
        """What the run log's NOTE column says (an empty snapshot: the DW keeps its rows)."""
        return [r["NOTE"] for r in self.rows if r.get("NOTE")]

    @property
    def seconds(self) -> float:
        """dbt: from the run timestamp to the run log's write (the end of the invocation)."""
        return (self.logged_at - self.started_at).total_seconds()

    @property
    def load_seconds(self) -> float | None:
        """Extractor: from the first start to the last end of reading the new exports."""
        spans = [
            (r["LOAD_STARTED_AT"], r["LOAD_FINISHED_AT"])
            for r in self.new_exports
            if r["LOAD_STARTED_AT"] is not None and r["LOAD_FINISHED_AT"] is not None
        ]
        if not spans:
            return None
        return (max(f for _, f in spans) - min(s for s, _ in spans)).total_seconds()

    def as_dict(self) -> dict:
        """JSON-friendly summary (webhook payload)."""
        return {
            "invocation_id": self.invocation_id,
            "command": self.command,
            "started_at": self.started_at.isoformat(),
            "logged_at": self.logged_at.isoformat(),
            "seconds": round(self.seconds, 1),
            "tables": len(self.rows),
            "load_seconds": None if self.load_seconds is None else round(self.load_seconds, 1),
            "tables_with_new_export": len(self.new_exports),
            "ok": self.ok,
            "failed": [
                {
                    "table": r["DW_TABLE"],
                    "status": r["MODEL_STATUS"],
                    "tests_failed": _n(r["TESTS_FAILED"]),
                    "message": r["MODEL_MESSAGE"],
                }
                for r in self.failed
            ],
            "load": {k.lower(): v for k, v in self.load_totals().items()},
            "dw": {k.lower().removeprefix("dw_"): v for k, v in self.dw_totals().items()},
            "mismatches": self.mismatches(),
            "notes": self.notes,
        }


def latest_run(wh: Warehouse) -> RunSummary | None:
    """The last logged invocation, or None when nothing is logged yet."""
    if not wh.exists(RUN_LOG):
        return None
    log = wh.table(RUN_LOG)
    ids = wh.query(f"select distinct DBT_INVOCATION_ID from {log} where LOGGED_AT = (select max(LOGGED_AT) from {log})")
    if not ids:
        return None
    invocation = sorted(r["DBT_INVOCATION_ID"] for r in ids)[-1]
    rows = wh.query(
        f"select * from {wh.table(RUN_LOG)} where DBT_INVOCATION_ID = :i order by DW_TABLE", {"i": invocation}
    )
    first = rows[0]
    return RunSummary(invocation, first["DBT_COMMAND"] or "", first["RUN_STARTED_AT"], first["LOGGED_AT"], rows)


def _is_true(value) -> bool:
    return str(value).strip().lower() in TRUE_WORDS


@dataclass
class Pending:
    """Completed loads not yet seen by a logged dbt run, per table (stream)."""

    tables: dict[str, dt.datetime]
    has_log: bool

    def __bool__(self) -> bool:
        return bool(self.tables)


def pending_loads(wh: Warehouse) -> Pending:
    """Tables with a completed load-audit row finished after the table's last logged dbt run
    (RUN_STARTED_AT; both are UTC). A table never logged counts as pending."""
    if not wh.exists(LOAD_AUDIT):
        return Pending({}, wh.exists(RUN_LOG))
    name, completed = wh.text("TABLE_NAME"), wh.text("COMPLETED")
    audit = wh.query(
        f"select {name} as TABLE_NAME, {completed} as COMPLETED, max(FINISHED_AT) as LAST_FINISHED "
        f"from {wh.table(LOAD_AUDIT)} group by {name}, {completed}"
    )
    finished: dict[str, dt.datetime] = {}
    for r in audit:
        name, last = str(r["TABLE_NAME"]), r["LAST_FINISHED"]
        if _is_true(r["COMPLETED"]) and last is not None and (name not in finished or last > finished[name]):
            finished[name] = last
    seen: dict[str, dt.datetime] = {}
    has_log = wh.exists(RUN_LOG)
    if has_log:
        for r in wh.query(
            f"select TABLE_NAME, max(RUN_STARTED_AT) as LAST_RUN from {wh.table(RUN_LOG)} group by TABLE_NAME"
        ):
            seen[r["TABLE_NAME"]] = r["LAST_RUN"]
    pending = {t: f for t, f in finished.items() if t not in seen or f > seen[t]}
    return Pending(pending, has_log)


def _fmt(n) -> str:
    return "-" if n is None else f"{int(n):,}"


WIDTH = 120  # the summary is read in a terminal and in e-mails


def format_summary(s: RunSummary, all_tables: bool = False) -> str:
    """The run summary: a few lines of totals and failures, then a table of the tables with
    changes; every line fits WIDTH columns (long messages are wrapped, long names cut, marked '~')."""
    load, dw = s.load_totals(), s.dw_totals()
    status = "OK" if s.ok else f"FAILED ({len(s.failed)} of {len(s.rows)} tables)"
    lines = [
        f"dbt {s.command} {s.started_at:%Y-%m-%d %H:%M:%S} UTC, {s.seconds:.0f} s, {len(s.rows)} DW tables: {status}",
        f"exports loaded since the previous run: {len(s.new_exports)} tables; rows read {_fmt(load['ROWS_READ'])},"
        f" rejected {_fmt(load['ROWS_REJECTED'])}, landed in staging {_fmt(load['ROWS_STAGED'])}"
        + (f" (read in {s.load_seconds:.0f} s)" if s.load_seconds is not None else ""),
        f"DW rows inserted {_fmt(dw['DW_ROWS_INSERTED'])}, updated {_fmt(dw['DW_ROWS_UPDATED'])},"
        f" deleted {_fmt(dw['DW_ROWS_DELETED'])}, unchanged {_fmt(dw['DW_ROWS_UNCHANGED'])}",
    ]
    for r in s.failed:
        why = f"{r['MODEL_STATUS']}" + (f", {_n(r['TESTS_FAILED'])} failed tests" if _n(r["TESTS_FAILED"]) else "")
        message = " ".join((r["MODEL_MESSAGE"] or "").split())
        lines.append(f"FAILED {r['DW_TABLE']}: {why}" + (f": {message}" if message and message != "OK" else ""))
    for m in s.mismatches():
        lines.append(f"AUDIT MISMATCH {m}")
    for note in s.notes:
        lines.append(f"NOTE {note}")
    shown = (
        s.rows
        if all_tables
        else [r for r in s.rows if r in s.failed or r in s.new_exports or any(_n(r[k]) for k in DW_FIGURES[:3])]
    )
    if shown:
        # 8 figure columns take 78 characters: the table name gets the rest, at most 40
        name_width = min(max(len("table"), *(len(r["DW_TABLE"]) for r in shown)), WIDTH - 80, 40)
        lines += [
            "",
            f"{'table':<{name_width}} {'status':<7} {'new':>3} {'read':>9} {'rej':>6} {'staged':>9} "
            f"{'ins':>8} {'upd':>8} {'del':>7} {'unch':>9} {'secs':>6}",
        ]
        for r in shown:
            lines.append(
                f"{_cut(r['DW_TABLE'], name_width):<{name_width}} {_cut(r['MODEL_STATUS'], 7):<7} "
                f"{'yes' if r in s.new_exports else '':>3} "
                f"{_fmt(r['ROWS_READ']):>9} {_fmt(r['ROWS_REJECTED']):>6} {_fmt(r['ROWS_STAGED']):>9} "
                f"{_fmt(r['DW_ROWS_INSERTED']):>8} {_fmt(r['DW_ROWS_UPDATED']):>8} {_fmt(r['DW_ROWS_DELETED']):>7} "
                f"{_fmt(r['DW_ROWS_UNCHANGED']):>9} {float(r['DBT_SECONDS'] or 0):>6.1f}"
            )
        keys = sorted({str(r["SOURCE_KEY"]) for r in shown if r["SOURCE_KEY"]})
        lines += [""] * bool(keys) + [f"export {key}" for key in keys]
    if not all_tables and len(shown) < len(s.rows):
        lines.append(f"({len(s.rows) - len(shown)} tables without changes not shown; --all shows them)")
    return "\n".join(
        textwrap.fill(line, WIDTH, subsequent_indent="    ", break_on_hyphens=False) if len(line) > WIDTH else line
        for line in lines
    )


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "~"
