"""Oracle names: the reserved words and when a name must be quoted. The one list used by the
loader and (through the macro transform/scripts/generate_models.py writes from it) by dbt.

The words are those of ``SELECT keyword FROM v$reserved_words WHERE reserved = 'Y'`` (lexical
symbols left out), which are the "Oracle SQL Reserved Words" of the SQL Language Reference. An
unquoted reserved word is a syntax error as a table or column name (``CREATE TABLE t (rows
NUMBER)`` fails with ORA-00904), so such a name is always written quoted, in upper case.
SQLAlchemy's list lacks 23 of them (ACCESS, ADD, AUDIT, COLUMN, ROWS, SESSION, ...).
"""

RESERVED_WORDS = frozenset(
    [
        "ACCESS",
        "ADD",
        "ALL",
        "ALTER",
        "AND",
        "ANY",
        "AS",
        "ASC",
        "AUDIT",
        "BETWEEN",
        "BY",
        "CHAR",
        "CHECK",
        "CLUSTER",
        "COLUMN",
        "COMMENT",
        "COMPRESS",
        "CONNECT",
        "CREATE",
        "CURRENT",
        "DATE",
        "DECIMAL",
        "DEFAULT",
        "DELETE",
        "DESC",
        "DISTINCT",
        "DROP",
        "ELSE",
        "EXCLUSIVE",
        "EXISTS",
        "FILE",
        "FLOAT",
        "FOR",
        "FROM",
        "GRANT",
        "GROUP",
        "HAVING",
        "IDENTIFIED",
        "IMMEDIATE",
        "IN",
        "INCREMENT",
        "INDEX",
        "INITIAL",
        "INSERT",
        "INTEGER",
        "INTERSECT",
        "INTO",
        "IS",
        "LEVEL",
        "LIKE",
        "LOCK",
        "LONG",
        "MAXEXTENTS",
        "MINUS",
        "MLSLABEL",
        "MODE",
        "MODIFY",
        "NOAUDIT",
        "NOCOMPRESS",
        "NOT",
        "NOWAIT",
        "NULL",
        "NUMBER",
        "OF",
        "OFFLINE",
        "ON",
        "ONLINE",
        "OPTION",
        "OR",
        "ORDER",
        "PCTFREE",
        "PRIOR",
        "PUBLIC",
        "RAW",
        "RENAME",
        "RESOURCE",
        "REVOKE",
        "ROW",
        "ROWID",
        "ROWNUM",
        "ROWS",
        "SELECT",
        "SESSION",
        "SET",
        "SHARE",
        "SIZE",
        "SMALLINT",
        "START",
        "SUCCESSFUL",
        "SYNONYM",
        "SYSDATE",
        "TABLE",
        "THEN",
        "TO",
        "TRIGGER",
        "UID",
        "UNION",
        "UNIQUE",
        "UPDATE",
        "USER",
        "VALIDATE",
        "VALUES",
        "VARCHAR",
        "VARCHAR2",
        "VIEW",
        "WHENEVER",
        "WHERE",
        "WITH",
    ]
)

import re  # noqa: E402 - the list above is the module's subject

_UNQUOTED = re.compile(r"[A-Z][A-Z0-9_$#]*")


def needs_quotes(name: str) -> bool:
    """Whether Oracle needs `name` quoted: a reserved word, or not a valid unquoted upper-case
    identifier (lower case, a leading `_` or digit, other characters)."""
    return not _UNQUOTED.fullmatch(name) or name.upper() in RESERVED_WORDS


def quote(name: str) -> str:
    """`name` as Oracle SQL must spell it: quoted only when needed."""
    return '"' + name.replace('"', '""') + '"' if needs_quotes(name) else name
