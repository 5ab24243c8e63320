"""TEST ONLY: a DB-API connection and cursor over :class:`sim.Database`, put behind the real
python-oracledb module's ``connect`` by :func:`install` (the module's types, constants and
exception classes stay the real ones, so product error handling sees the real shapes).

Transactions: DML changes row counts in the session until COMMIT; every DDL commits first (and
the DDL itself is committed even when a later statement fails), as in Oracle.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import typing as t
from decimal import Decimal
from pathlib import Path

import oracledb
import sqlglot
from oracledb.errors import _Error
from sqlglot import exp

from oracle_sim.sim import (
    PSEUDO_COLUMNS,
    RESERVED,
    Analyzer,
    Database,
    OraError,
    Scope,
    SimulatorGap,
    T,
    blank_literals,
    name_of,
    parse_query,
    split_qualified,
    split_top,
    strip_comments,
)

DDL = re.compile(r"^\s*(CREATE|DROP|ALTER|TRUNCATE|COMMENT|GRANT|REVOKE|RENAME)\b", re.I)
DB_NAME = "SIMDB"
_DB: dict[str, Database] = {}


def database(path: str | Path | None = None) -> Database:
    """The process's database of a state file (one per file; created on first use)."""
    key = str(path or os.environ.get("ORACLE_SIM_STATE", ""))
    if key not in _DB:
        _DB[key] = Database(
            Path(key) if key else None,
            schema=os.environ.get("ORACLE_SIM_SCHEMA", "MARINA"),
            max_string_size=os.environ.get("ORACLE_SIM_MAX_STRING_SIZE", "EXTENDED"),
        )
    return _DB[key]


def database_error(err: OraError) -> oracledb.DatabaseError:
    """The exception python-oracledb raises for a server error."""
    e = _Error(err.text, code=err.code)
    return e.exc_type(e)


def _desc(name: str, t: T | None) -> tuple:
    if t is None or t.group == "CHAR":
        code = oracledb.DB_TYPE_NVARCHAR if t is not None and t.base.startswith("N") else oracledb.DB_TYPE_VARCHAR
    elif t.group == "NUMBER":
        code = oracledb.DB_TYPE_BINARY_DOUBLE if t.base == "BINARY_DOUBLE" else oracledb.DB_TYPE_NUMBER
    elif t.base == "DATE":
        code = oracledb.DB_TYPE_DATE
    elif t.base.startswith("TIMESTAMP"):
        code = oracledb.DB_TYPE_TIMESTAMP_TZ if "ZONE" in t.base else oracledb.DB_TYPE_TIMESTAMP
    elif t.base == "NCLOB":
        code = oracledb.DB_TYPE_NCLOB
    elif t.base == "CLOB":
        code = oracledb.DB_TYPE_CLOB
    elif t.base == "RAW":
        code = oracledb.DB_TYPE_RAW
    else:
        code = oracledb.DB_TYPE_VARCHAR
    return (name, code, t.size if t else None, None, t.prec if t else None, t.scale if t else None, True)


class Session:
    """One connection's transaction: uncommitted row-count changes per table."""

    def __init__(self, db: Database):
        self.db = db
        self.pending: dict[str, int] = {}
        self.statements: list[str] = []

    # -- transaction
    def commit(self) -> None:
        with self.db.lock:
            for name, rows in self.pending.items():
                if name in self.db.objects:
                    self.db.objects[name]["rows"] = rows
            self.pending.clear()

    def rollback(self) -> None:
        self.pending.clear()

    def rows(self, table: str) -> int:
        return self.pending.get(table, self.db.objects.get(table, {}).get("rows", 0))

    # -- statements
    def execute(self, sql: str, binds: t.Any = None, many: list | None = None, batcherrors: bool = False):
        """Run one statement; returns (description, rows, rowcount, batch errors)."""
        with self.db.lock:
            self.statements.append(sql)
            if self.db.crash_at and re.search(self.db.crash_at, strip_comments(sql), re.I | re.S):
                # the process dies here: committed work (and every DDL) stays, the rest is lost
                self.db.save()
                os._exit(70)
            text = (
                strip_comments(sql).rstrip().rstrip(";").rstrip("/").strip()
                if not re.match(r"^\s*(/\*.*?\*/\s*)*(BEGIN|DECLARE)\b", sql, re.I | re.S)
                else strip_comments(sql)
            )
            if re.match(r"^(BEGIN|DECLARE)\b", text, re.I):
                self.plsql(text)
                return None, [], 0, []
            if DDL.match(text) and not re.match(r"^ALTER\s+SESSION\b", text, re.I):
                self.commit()
                self.db.ddl(text)
                return None, [], 0, []
            word = text.split(None, 1)[0].upper() if text else ""
            if word in ("SELECT", "WITH") or text.startswith("("):
                return self.select(text, binds)
            if word == "INSERT":
                n, errors = self.insert(text, many if many is not None else [binds], batcherrors)
                return None, [], n, errors
            if word in ("UPDATE", "DELETE", "MERGE"):
                return None, [], self.dml(word, text), []
            if word == "COMMIT":
                self.commit()
                return None, [], 0, []
            if word == "ROLLBACK":
                self.rollback()
                return None, [], 0, []
            if word in ("SAVEPOINT", "NULL") or re.match(r"^ALTER\s+SESSION\b", text, re.I):
                return None, [], 0, []
            raise SimulatorGap(f"statement not simulated: {text[:200]}")

    # -- PL/SQL blocks of dbt-oracle: BEGIN stmts; EXCEPTION WHEN x THEN ...; END;
    def plsql(self, text: str) -> None:
        block = text.strip().rstrip("/").strip()
        names: dict[str, int] = {}
        m = re.match(r"DECLARE\b(.*?)\bBEGIN\b", block, re.I | re.S)
        if m:
            for ex, code in re.findall(r"EXCEPTION_INIT\s*\(\s*(\w+)\s*,\s*(-?\d+)\s*\)", m.group(1), re.I):
                names[ex.upper()] = abs(int(code))
            block = block[m.end() - len("BEGIN") :]
        self._block(block, names)

    def _block(self, block: str, names: dict[str, int]) -> None:
        body, handlers = _split_block(block)
        try:
            for stmt in _statements(body):
                self._plsql_statement(stmt, names)
        except OraError as err:
            for cond, action in handlers:
                if cond == {"OTHERS"} or any(names.get(c) == err.code for c in cond):
                    if m := re.fullmatch(
                        r"\s*IF\s+SQLCODE\s*(?:!=|<>)\s*-(\d+)\s+THEN\s+RAISE\s*;\s*END\s+IF\s*;\s*", action, re.I
                    ):
                        if int(m.group(1)) != err.code:
                            raise
                        return
                    reraise = False
                    for stmt in _statements(action):
                        if stmt.upper() == "RAISE":
                            reraise = True
                        else:
                            self._plsql_statement(stmt, names)
                    if reraise:
                        raise
                    return
            raise

    def _plsql_statement(self, stmt: str, names: dict[str, int]) -> None:
        s = stmt.strip()
        if re.match(r"^BEGIN\b", s, re.I):
            self._block(s, names)
            return
        if m := re.match(r"^EXECUTE\s+IMMEDIATE\s+'(.*)'$", s, re.I | re.S):
            self.execute(m.group(1).replace("''", "'"))
            return
        if s.upper() in ("NULL", "COMMIT", "ROLLBACK") or s.upper().startswith("SAVEPOINT"):
            if s.upper() == "COMMIT":
                self.commit()
            return
        self.execute(s)

    # -- queries
    def select(self, text: str, binds: t.Any):
        up = blank_literals(text).upper()
        if re.search(
            r"\b(SYS\.)?(ALL|USER|DBA)_(TAB_COLUMNS|TABLES|OBJECTS|VIEWS|USERS|INDEXES|IND_COLUMNS|CONSTRAINTS|CONS_COLUMNS|MVIEWS|TAB_PRIVS)\b|\bV\$PARAMETER\b",
            up,
        ):
            return self.dictionary_query(text, binds)
        tree = parse_query(text)
        cols = Analyzer(self.db).query_columns(tree)
        desc = [_desc(n.lstrip("\0")[:128], ty) for n, ty in cols]
        return desc, self._rows(tree, cols, binds), 0, []

    def _rows(self, tree: exp.Expression, cols: list, binds: t.Any) -> list[tuple]:
        """Rows of a query: none, except FROM DUAL (evaluated), one row for an aggregate without
        GROUP BY (counts from the row counts kept), and WHERE 1 = 0 gives none."""
        if not isinstance(tree, exp.Select):
            return []
        where = tree.args.get("where")
        if where is not None and re.search(r"\b1\s*=\s*0\b", where.sql()):
            return []
        frm = tree.args.get("from_")
        table = frm.this if frm is not None else None
        if isinstance(table, exp.Table) and table.name.upper() == "DUAL" and not tree.args.get("joins"):
            return [tuple(self._value(e) for e in tree.expressions)]
        if tree.args.get("group") is None and any(isinstance(e.unalias(), exp.AggFunc) for e in tree.expressions):
            count = self.rows(table.name.upper()) if isinstance(table, exp.Table) and where is None else 0
            return [tuple(count if isinstance(e.unalias(), exp.Count) else None for e in tree.expressions)]
        return []

    def _value(self, e: exp.Expression) -> t.Any:
        e = e.unalias()
        if isinstance(e, exp.Literal):
            return e.this if e.is_string else Decimal(e.this)
        if isinstance(e, (exp.CurrentTimestamp, exp.Systimestamp)) or (
            isinstance(e, exp.Anonymous) and e.name.upper() == "SYS_EXTRACT_UTC"
        ):
            return dt.datetime.now()
        if isinstance(e, exp.StrToTime) and isinstance(e.this, exp.Literal):
            return dt.datetime.fromisoformat(e.this.this)  # the project's 'YYYY-MM-DD HH24:MI:SS.FF6' literals
        if isinstance(e, exp.Cast):
            return self._value(e.this)
        if isinstance(e, exp.Anonymous) and e.name.upper() == "SYS_CONTEXT":
            key = e.expressions[1].name.upper()
            return {"DB_NAME": DB_NAME, "CURRENT_SCHEMA": self.db.schema, "SESSION_USER": self.db.schema}.get(key)
        return None

    def dictionary_query(self, text: str, binds: t.Any):
        """Queries on the dictionary views: dbt-oracle's column and relation lists (known shapes),
        others evaluated row by row (one view, a WHERE of AND-ed simple conditions)."""
        binds = {k.upper(): v for k, v in (binds or {}).items()} if isinstance(binds, dict) else {}
        low = " ".join(text.lower().split())
        schema_filter = re.search(r"upper\((?:owner|table_schema)\) = upper\('([^']*)'\)", low)
        owner_ok = not (schema_filter and schema_filter.group(1).upper() != self.db.schema)
        if "sys.all_tab_columns" in low and 'as "name"' in low:  # oracle__get_columns_in_relation
            ident = re.search(r"upper\(table_name\) = upper\('([^']+)'\)", text, re.I).group(1)
            name = ident if ident.upper() != ident and self.db.obj(ident) else ident.upper()
            rows = self.db.dictionary_rows("ALL_TAB_COLUMNS", name) if owner_ok else []
            if self.db.obj(name) is not None:
                self.db.columns(name)  # a view that no longer compiles: ORA-04063 as Oracle would
            out = [
                (
                    r["COLUMN_NAME"],
                    r["DATA_TYPE"],
                    r["CHAR_LENGTH"],
                    r["DATA_PRECISION"],
                    r["DATA_SCALE"],
                    r["CHAR_USED"],
                )
                for r in rows
            ]
            desc = [
                _desc(n, None)
                for n in (
                    "name",
                    "type",
                    "character_maximum_length",
                    "numeric_precision",
                    "numeric_scale",
                    "char_length_unit",
                )
            ]
            return desc, out, len(out), []
        if "sys.all_tables" in low and 'as "kind"' in low:  # oracle__list_relations_without_caching
            rows = []
            for name, o in sorted(self.db.objects.items()):
                if o["kind"] == "TABLE" and not o.get("temporary"):
                    rows.append((DB_NAME, name, self.db.schema, "table"))
                elif o["kind"] == "VIEW":
                    rows.append((DB_NAME, name, self.db.schema, "view"))
            rows = rows if owner_ok else []
            return [_desc(n, None) for n in ("database_name", "name", "schema_name", "kind")], rows, len(rows), []
        tree = parse_query(text)
        if (
            not isinstance(tree, exp.Select)
            or tree.args.get("joins")
            or not isinstance(tree.args["from_"].this, exp.Table)
        ):
            raise SimulatorGap(f"dictionary query not simulated: {text[:300]}")
        view = tree.args["from_"].this.name.upper()
        named = binds.get("TABLE_NAME")
        if named is None and (m := re.search(r"\btable_name\s*=\s*(?:upper\()?'([^']+)'", text, re.I)):
            named = m.group(1).upper() if "upper(" in m.group(0).lower() else m.group(1)
        if named is None and (m := re.search(r"\btable_name\s+IN\s*\(((?:\s*'[^']*'\s*,?)+)\)", text, re.I)):
            named = set(re.findall(r"'([^']*)'", m.group(1)))
        rows = self.db.dictionary_rows(view, named if isinstance(named, (str, set)) else None)
        where = tree.args.get("where")
        rows = [r for r in rows if where is None or self._truth(where.this, r, binds)]
        exprs = tree.expressions
        if len(exprs) == 1 and isinstance(exprs[0].unalias(), exp.Count):
            return [_desc("COUNT", T("NUMBER"))], [(len(rows),)], 1, []
        out_names, getters = [], []
        for e in exprs:
            if isinstance(e, exp.Star):
                keys = list(rows[0]) if rows else []
                out_names += keys
                getters += [(lambda r, k=k: r.get(k)) for k in keys]
                continue
            out_names.append(e.alias_or_name.upper())
            unaliased = e.unalias()
            getters.append(lambda r, e=unaliased: self._eval(e, r, binds))
        order = tree.args.get("order")
        if order is not None:
            for o in reversed(order.expressions):
                rows.sort(
                    key=lambda r, o=o: (self._eval(o.this, r, binds) is None, self._eval(o.this, r, binds) or 0),
                    reverse=bool(o.args.get("desc")),
                )
        out = [tuple(g(r) for g in getters) for r in rows]
        return [_desc(n, None) for n in out_names], out, len(out), []

    def _eval(self, e: exp.Expression, row: dict, binds: dict) -> t.Any:
        if isinstance(e, exp.Column):
            key = e.name.upper()
            if key not in row:
                raise OraError(904, f'"{key}": invalid identifier')
            return row[key]
        if isinstance(e, exp.Literal):
            return e.this if e.is_string else Decimal(e.this)
        if isinstance(e, exp.Placeholder):
            return binds.get(e.name.upper())
        if isinstance(e, exp.Paren):
            return self._eval(e.this, row, binds)
        if isinstance(e, exp.Null):
            return None
        if isinstance(e, (exp.Upper, exp.Lower)):
            v = self._eval(e.this, row, binds)
            return None if v is None else (v.upper() if isinstance(e, exp.Upper) else v.lower())
        if isinstance(e, exp.Coalesce):
            for x in [e.this, *e.expressions]:
                v = self._eval(x, row, binds)
                if v is not None:
                    return v
            return None
        if isinstance(e, exp.Anonymous) and e.name.upper() == "SYS_CONTEXT":
            return self._value(e)
        return self._truth(e, row, binds)

    def _truth(self, e: exp.Expression, row: dict, binds: dict) -> bool:
        if isinstance(e, exp.And):
            return self._truth(e.this, row, binds) and self._truth(e.expression, row, binds)
        if isinstance(e, exp.Or):
            return self._truth(e.this, row, binds) or self._truth(e.expression, row, binds)
        if isinstance(e, exp.Not):
            return not self._truth(e.this, row, binds)
        if isinstance(e, exp.Paren):
            return self._truth(e.this, row, binds)
        if isinstance(e, (exp.EQ, exp.NEQ)):
            a, b = self._eval(e.this, row, binds), self._eval(e.expression, row, binds)
            return (a == b) if isinstance(e, exp.EQ) else (a is not None and b is not None and a != b)
        if isinstance(e, exp.Like):
            a, pat = self._eval(e.this, row, binds), self._eval(e.expression, row, binds)
            esc = e.args.get("escape")
            rx = _like_regex(pat, self._eval(esc, row, binds) if esc is not None else None)
            return a is not None and re.fullmatch(rx, a, re.S) is not None
        if isinstance(e, exp.Escape):
            a, pat = self._eval(e.this.this, row, binds), self._eval(e.this.expression, row, binds)
            rx = _like_regex(pat, self._eval(e.expression, row, binds))
            return a is not None and re.fullmatch(rx, a, re.S) is not None
        if isinstance(e, exp.In):
            if e.args.get("query") is not None:
                sub = e.args["query"].this if isinstance(e.args["query"], exp.Subquery) else e.args["query"]
                view = sub.args["from_"].this.name.upper()
                col = sub.expressions[0]
                values = {
                    self._eval(col, r, binds)
                    for r in self.db.dictionary_rows(view)
                    if sub.args.get("where") is None or self._truth(sub.args["where"].this, r, binds)
                }
            else:
                values = {self._eval(x, row, binds) for x in e.expressions}
            return self._eval(e.this, row, binds) in values
        if isinstance(e, exp.Is):
            return self._eval(e.this, row, binds) is None
        raise SimulatorGap(f"dictionary condition not simulated: {e.sql('oracle')}")

    # -- DML
    def _target(self, node: exp.Expression) -> tuple[str, list[str] | None]:
        if isinstance(node, exp.Schema):
            cols = [c.this.upper() if not c.quoted else c.this for c in node.expressions]
            return self._target(node.this)[0], cols
        name = node.this.this if node.this.quoted else node.name.upper()
        self.db.table(name)
        return name, None

    def insert(self, text: str, many: list, batcherrors: bool) -> tuple[int, list]:
        tree = parse_query(text)
        if not isinstance(tree, exp.Insert):
            raise SimulatorGap(f"INSERT not understood: {text[:200]}")
        table, cols = self._target(tree.this)
        have = self.db.columns(table)
        names = [n for n, _ in have]
        cols = cols or names
        for c in cols:
            if c not in names:
                raise OraError(904, f'"{c}": invalid identifier')
        types = dict(have)
        source = tree.expression
        if isinstance(source, exp.Values):
            values = source.expressions[0].expressions
            if len(values) > len(cols):
                raise OraError(913, "too many values")
            if len(values) < len(cols):
                raise OraError(947, "not enough values")
            errors, ok = [], 0
            for offset, raw in enumerate(many):
                row = raw if isinstance(raw, dict) else list(raw or [])
                err = self._row_error(table, cols, types, values, row)
                if err is None:
                    ok += 1
                elif batcherrors:
                    errors.append(BatchError(offset, err))
                else:
                    raise err
            self.pending[table] = self.rows(table) + ok
            return ok, errors
        out = Analyzer(self.db).query_columns(source)
        if len(out) > len(cols):
            raise OraError(913, "too many values")
        if len(out) < len(cols):
            raise OraError(947, "not enough values")
        for c, (_, st) in zip(cols, out):
            if st is not None and st.is_lob and not types[c].is_lob:
                pass  # converted implicitly (fails per row only when a value is too long)
        frm = source.args.get("from_") if isinstance(source, exp.Select) else None
        n = (
            self.rows(frm.this.name.upper())
            if frm is not None and isinstance(frm.this, exp.Table) and not source.args.get("joins")
            else 0
        )
        self.pending[table] = self.rows(table) + n
        return n, []

    def _row_error(self, table: str, cols: list[str], types: dict, values: list, row: list) -> OraError | None:
        for c, v in zip(cols, values):
            value = _bind(v, row)
            if value is None:
                continue
            ty = types[c]
            if ty.group == "CHAR" and isinstance(value, str):
                actual = (
                    len(value.encode("utf-16-le")) // 2
                    if ty.base.startswith("N") or ty.unit == "C"
                    else len(value.encode())
                )
                if actual > (ty.size or 0):
                    return OraError(
                        12899,
                        f'value too large for column "{self.db.schema}"."{table}"."{c}" '
                        f"(actual: {actual}, maximum: {ty.size})",
                    )
            if ty.base == "NUMBER" and ty.prec is not None and isinstance(value, (int, Decimal, float)):
                digits = len(str(abs(int(Decimal(value))))) if Decimal(value) != 0 else 0
                if digits > ty.prec - (ty.scale or 0):
                    return OraError(1438, "value larger than specified precision allowed for this column")
        return None

    def direct_path_load(self, schema: str, table: str, cols: list[str], data: t.Any) -> None:
        have = self.db.columns(table)
        types = dict(have)
        for c in cols:
            if c not in types:
                raise OraError(904, f'"{c}": invalid identifier')
        rows = [tuple(r.values()) for r in data.to_pylist()] if hasattr(data, "num_rows") else [tuple(r) for r in data]
        values = [exp.Placeholder(this=f"b{i + 1}") for i in range(len(cols))]
        for row in rows:
            err = self._row_error(table, cols, types, values, list(row))
            if err is not None:
                raise err
        self.pending[table] = self.rows(table) + len(rows)
        self.commit()

    def dml(self, word: str, text: str) -> int:
        tree = parse_query(text)
        an = Analyzer(self.db)
        if isinstance(tree, exp.Merge):
            table, _ = self._target(tree.this)
            scope = Scope()
            alias = tree.this.alias.upper() if tree.this.alias else table
            scope.sources[alias] = self.db.columns(table)
            using = tree.args["using"]
            src_alias, src_cols = an.source(using, Scope())
            scope.sources[src_alias] = src_cols
            on = tree.args["on"]
            an.cond(on, scope)
            on_cols = {c.name.upper() for c in on.find_all(exp.Column) if (c.table or "").upper() == alias}
            whens = tree.args.get("whens")
            for when in whens.expressions if whens is not None else []:
                then = when.args.get("then")
                if isinstance(then, exp.Update):
                    for eq in then.expressions:
                        col = eq.this.name.upper()
                        if col in on_cols:
                            raise OraError(
                                38104, f'Columns referenced in the ON Clause cannot be updated: "{alias}"."{col}"'
                            )
                        if col not in dict(scope.sources[alias]):  # a SET column is the target's
                            raise OraError(904, f'"{alias}"."{col}": invalid identifier')
                        an.typ(eq.expression, scope)
                    if then.args.get("where") is not None:
                        where = then.args["where"]
                        an.cond(where.this if isinstance(where, exp.Where) else where, scope)
                elif isinstance(then, exp.Insert):
                    tcols = [_name(c) for c in (then.this.expressions if isinstance(then.this, exp.Tuple) else [])]
                    names = {n for n, _ in self.db.columns(table)}
                    for c in tcols:
                        if c not in names:
                            raise OraError(904, f'"{c}": invalid identifier')
                    vals = then.expression.expressions if then.expression is not None else []
                    vscope = Scope()
                    vscope.sources[src_alias] = src_cols
                    for v in vals:
                        an.typ(v, vscope)
            return 0
        if isinstance(tree, exp.Update):
            table, _ = self._target(tree.this)
            scope = Scope()
            scope.sources[tree.this.alias.upper() if tree.this.alias else table] = self.db.columns(table)
            for eq in tree.expressions:
                an.column(eq.this, scope)
                an.typ(eq.expression, scope)
            if tree.args.get("where") is not None:
                an.cond(tree.args["where"].this, scope)
            return 0
        if isinstance(tree, exp.Delete):
            table, _ = self._target(tree.this)
            scope = Scope()
            scope.sources[tree.this.alias.upper() if tree.this.alias else table] = self.db.columns(table)
            if tree.args.get("where") is not None:
                an.cond(tree.args["where"].this, scope)
                return 0
            n = self.rows(table)
            self.pending[table] = 0
            return n
        raise SimulatorGap(f"{word} not understood: {text[:200]}")


def _bind(v: exp.Expression, row: list | dict) -> t.Any:
    """The bound value of a placeholder (:1 / :name) in one row of binds."""
    if not isinstance(v, exp.Placeholder):
        return None
    key = v.name
    if isinstance(row, dict):
        return row.get(key) if key in row else row.get(key.lower())
    if re.fullmatch(r"b\d+", key):
        return row[int(key[1:]) - 1]
    return None


def _name(node: exp.Expression) -> str:
    ident = node.this if isinstance(node, exp.Column) else node
    return ident.this if getattr(ident, "quoted", False) else ident.name.upper()


def _like_regex(pattern: str, escape: str | None) -> str:
    out, i = [], 0
    while i < len(pattern):
        c = pattern[i]
        if escape and c == escape and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        out.append(".*" if c == "%" else "." if c == "_" else re.escape(c))
        i += 1
    return "".join(out)


def _split_block(block: str) -> tuple[str, list[tuple[set[str], str]]]:
    """BEGIN body [EXCEPTION WHEN a [OR b] THEN stmts ...] END; -> (body, handlers)."""
    inner = re.match(r"^BEGIN\b(.*)\bEND\s*;?\s*$", block.strip(), re.I | re.S)
    if not inner:
        raise SimulatorGap(f"PL/SQL block not understood: {block[:200]}")
    text = inner.group(1)
    # the EXCEPTION keyword of this block: outside literals and nested BEGIN...END
    code = _mask(text)
    depth, pos = 0, None
    for m in re.finditer(r"\b(BEGIN|END|EXCEPTION)\b", code, re.I):
        w = m.group(1).upper()
        if w == "BEGIN":
            depth += 1
        elif w == "END":
            depth -= 1
        elif depth == 0:
            pos = m.start()
            break
    if pos is None:
        return text, []
    body, rest = text[:pos], text[pos + len("EXCEPTION") :]
    handlers: list = []
    code, depth, last = _mask(rest), 0, None
    for m in re.finditer(r"\bBEGIN\b|\bEND\b\s*;|\bWHEN\s+([\w\s]+?)\s+THEN\b", code, re.I):
        tok = m.group(0).upper()
        if tok == "BEGIN":
            depth += 1
        elif tok.startswith("END"):
            depth -= 1
        elif depth == 0:
            if last is not None:
                handlers.append((last[0], rest[last[1] : m.start()]))
            last = ({c.strip().upper() for c in re.split(r"\bOR\b", m.group(1), flags=re.I)}, m.end())
    if last is not None:
        handlers.append((last[0], rest[last[1] :]))
    return body, handlers


def _mask(text: str) -> str:
    """The text with the inside of string literals masked (same length, so positions hold)."""
    return re.sub(r"'(?:[^']|'')*'", lambda m: "'" + "x" * (len(m.group(0)) - 2) + "'", text)


def _statements(body: str) -> list[str]:
    """Top-level statements of a PL/SQL body (a nested BEGIN ... END; kept whole)."""
    code = _mask(body)
    out, start, depth = [], 0, 0
    for m in re.finditer(r"\bBEGIN\b|\bEND\b\s*;|;", code, re.I):
        tok = m.group(0).upper()
        if tok == "BEGIN":
            depth += 1
        elif tok.startswith("END"):
            depth -= 1
            if depth == 0:
                out.append(body[start : m.end()].strip())
                start = m.end()
        elif depth == 0:
            out.append(body[start : m.start()].strip())
            start = m.end()
    out.append(body[start:].strip())
    return [s for s in out if s]


class BatchError:
    def __init__(self, offset: int, err: OraError):
        self.offset = offset
        self.message = err.text
        self.code = err.code
        self.full_code = f"ORA-{err.code:05d}"


class Cursor:
    def __init__(self, con: Connection):
        self.con = con
        self.description = None
        self.rowcount = 0
        self.arraysize = 100
        self._rows: list = []
        self._errors: list = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def __iter__(self):
        while self._rows:
            yield self._rows.pop(0)

    def _run(self, sql, binds=None, many=None, batcherrors=False):
        try:
            desc, rows, count, errors = self.con.session.execute(sql, binds, many, batcherrors)
        except OraError as err:
            self.con.session.db.state["failures"].append(err.text[:200])
            raise database_error(err) from None
        self.description, self._rows, self.rowcount, self._errors = desc, list(rows), count, errors

    def execute(self, statement, parameters=None, **kwargs):
        self._run(statement, parameters if parameters else kwargs or None)

    def executemany(self, statement, parameters, batcherrors=False, arraydmlrowcounts=False):
        self._run(statement, None, list(parameters), batcherrors)

    def getbatcherrors(self):
        return list(self._errors)

    def setinputsizes(self, *args, **kwargs):
        return None

    def fetchall(self):
        rows, self._rows = self._rows, []
        return rows

    def fetchmany(self, size=None):
        size = size or self.arraysize
        rows, self._rows = self._rows[:size], self._rows[size:]
        return rows

    def fetchone(self):
        return self._rows.pop(0) if self._rows else None

    def close(self):
        pass


class Connection:
    """What ``oracledb.connect`` returns while the simulator is installed."""

    def __init__(self, db: Database, **params):
        self.session = Session(db)
        self.autocommit = False
        self.params = params
        self.client_identifier = self.module = self.action = self.clientinfo = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def cursor(self):
        return Cursor(self)

    def commit(self):
        self.session.commit()

    def rollback(self):
        self.session.rollback()

    def close(self):
        self.session.rollback()

    def ping(self):
        return None

    def direct_path_load(self, schema_name, table_name, column_names, data, *, batch_size=2**32 - 1):
        try:
            self.session.direct_path_load(schema_name, table_name, list(column_names), data)
        except OraError as err:
            raise database_error(err) from None

    @property
    def thin(self):
        return True

    @property
    def version(self):
        return "19.28.0.1.0"


def install(state: str | Path | None = None) -> Database:
    """Route ``oracledb.connect`` (and ``oracledb.Connection`` checks) to the simulator."""
    if state is not None:
        os.environ["ORACLE_SIM_STATE"] = str(state)
    db = database(state)
    oracledb.connect = lambda *args, **kwargs: Connection(db, **kwargs)
    return db


__all__ = [
    "PSEUDO_COLUMNS",
    "RESERVED",
    "Connection",
    "Cursor",
    "Database",
    "OraError",
    "SimulatorGap",
    "database",
    "database_error",
    "install",
    "name_of",
    "split_qualified",
    "split_top",
    "sqlglot",
]
