"""TEST ONLY: a fake `oracledb` driver so that dbt-oracle can run without a database.

dbt-oracle opens a connection even to compile. This stub records every SQL statement and answers
the metadata queries dbt-oracle issues with plausible results: the schema exists, every DW_* table
exists (so the incremental path with its MERGE is taken) and has the catalog's columns, and so does
every snapshot's *_HIST table (DW columns + snapshot meta columns: the snapshot MERGE path).

`python oracle_stub.py <out.json> '<JSON list of dbt arg lists>'` installs the stub, runs dbt
in-process and writes the results and recorded statements to out.json (run it in a subprocess:
the stub must be imported before dbt-oracle and must never leak into other tests).
"""

from __future__ import annotations

import datetime
import json
import re
import sys
import types
from pathlib import Path

SCHEMA = "MARINA"
STATEMENTS: list[str] = []


def _catalog_columns() -> dict[str, list[tuple]]:
    from marina_common.catalog import load_catalog

    out = {}
    for t in load_catalog():
        cols = []
        for c in t.columns:
            if c.precision_scale:
                cols.append((c.name, "NUMBER", None, *c.precision_scale, None))
            elif c.max_length:
                cols.append((c.name, c.base_type, c.max_length, None, None, "C"))
            else:
                cols.append((c.name, c.base_type, None, None, None, None))
        dw = [
            ("DW_ID", "VARCHAR2", 32, None, None, "B"),
            ("DW_ROW_HASH", "VARCHAR2", 4000, None, None, "B"),
            ("DW_LAST_INSERTED", "TIMESTAMP(6)", None, None, None, None),
            ("DW_LAST_UPDATED", "TIMESTAMP(6)", None, None, None, None),
            ("DW_IS_DELETED", "NUMBER", None, 1, 0, None),
            ("DW_DELETED_AT", "TIMESTAMP(6)", None, None, None, None),
            ("DW_SOURCE_KEY", "VARCHAR2", 4000, None, None, "B"),
        ]
        out[t.dw_table] = cols + dw
    return out


def _history_columns(dw: dict[str, list[tuple]]) -> dict[str, list[tuple]]:
    """HIST tables of the snapshots (snapshots/*.yml): their DW table's columns + the meta columns
    named in dbt_project.yml, so that `dbt snapshot` takes the MERGE path."""
    import yaml

    transform = Path(__file__).resolve().parent.parent
    meta = yaml.safe_load((transform / "dbt_project.yml").read_text())["snapshots"]["marina"]
    names = meta["+snapshot_meta_column_names"]
    extra = [(names["dbt_scd_id"], "VARCHAR2", 32, None, None, "B")] + [
        (names[n], "TIMESTAMP(6)", None, None, None, None) for n in ("dbt_updated_at", "dbt_valid_from", "dbt_valid_to")
    ]
    out = {}
    for path in sorted((transform / "snapshots").glob("*.yml")):
        for snap in yaml.safe_load(path.read_text()).get("snapshots", []):
            parent = re.fullmatch(r"ref\('(\w+)'\)", snap["relation"]).group(1).upper()
            out[snap["config"]["alias"].upper()] = dw[parent] + extra
    return out


COLUMNS = _catalog_columns()
COLUMNS.update(_history_columns(COLUMNS))


class _TypeCode:
    def __init__(self, name):
        self.name = name


def _desc(*names):
    return [(n, _TypeCode("DB_TYPE_VARCHAR"), None, None, None, None, True) for n in names]


class Cursor:
    def __init__(self):
        self.description = None
        self.rowcount = 0
        self._rows: list[tuple] = []
        self.arraysize = 100

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def execute(self, sql, bindings=None):
        STATEMENTS.append(sql)
        low = " ".join(sql.lower().split())
        self.description, self._rows = None, []
        if "sys.all_tab_columns" in low:
            ident = re.search(r"upper\(table_name\) = upper\('([^']+)'\)", sql).group(1)
            base = re.sub(r"^o\$pt_", "", ident, flags=re.I)
            base = re.sub(r"\d{12}$", "", base).upper()
            self.description = _desc(
                "name", "type", "character_maximum_length", "numeric_precision", "numeric_scale", "char_length_unit"
            )
            self._rows = list(COLUMNS.get(base, []))
        elif "sys.all_tables" in low:
            self.description = _desc("database_name", "name", "schema_name", "kind")
            self._rows = [("STUBDB", t, SCHEMA, "table") for t in COLUMNS]
        elif "from sys.all_users" in low and "count(*)" in low:
            self.description, self._rows = _desc("count"), [(1,)]
        elif "from sys.all_users" in low:
            self.description, self._rows = _desc("name"), [(SCHEMA,)]
        elif "sys_context('userenv', 'db_name')" in low and "from dual" in low:
            self.description, self._rows = _desc("db_name"), [("STUBDB",)]
        elif re.fullmatch(r"(/\*.*?\*/ )?select .* from dual", low) and "timestamp" in low:  # snapshot time
            self.description, self._rows = _desc("now"), [(datetime.datetime(2025, 1, 1, 6, 0, 0),)]
        elif low.startswith(("select", "with")) or "/* {" in low[:5]:
            code = re.sub(r"'(?:[^']|'')*'", "''", low)  # ('insert' as dbt_change_type is a select)
            if re.search(r"\bselect\b", code) and not re.search(r"\b(create|merge|insert|begin)\b", code):
                self.description = _desc("dummy")
        self.rowcount = len(self._rows)

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
    def cursor(self):
        return Cursor()

    def commit(self):
        pass

    def rollback(self):
        pass

    def close(self):
        pass


class Error(Exception):
    pass


class DatabaseError(Error):
    pass


def install() -> types.ModuleType:
    mod = types.ModuleType("oracledb")
    mod.__version__ = "0.0-stub"
    mod.version = mod.__version__
    mod.Connection, mod.Error, mod.DatabaseError = Connection, Error, DatabaseError
    mod.ATTR_PURITY_NEW, mod.ATTR_PURITY_SELF, mod.ATTR_PURITY_DEFAULT = 1, 2, 0
    mod.connect = lambda **kwargs: Connection()
    mod.init_oracle_client = lambda **kwargs: None
    sys.modules["oracledb"] = mod
    return mod


def main(argv: list[str]) -> int:
    """argv: out.json, then a JSON list of dbt argument lists, run one after the other."""
    out, invocations = Path(argv[0]), json.loads(argv[1])
    install()
    from dbt.cli.main import dbtRunner

    results = []
    for args in invocations:
        first = len(STATEMENTS)
        res = dbtRunner().invoke(args)
        results.append(
            {
                "args": args,
                "success": res.success,
                "exception": str(res.exception or ""),
                "statements": [first, len(STATEMENTS)],
            }
        )  # this invocation's slice
    out.write_text(json.dumps({"results": results, "statements": STATEMENTS}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
