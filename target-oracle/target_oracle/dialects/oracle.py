"""Oracle dialect: python-oracledb thin mode, array-bound ``executemany`` with batch errors.

The SQL comes from :mod:`target_oracle.dialects.oracle_sql` (pure, unit tested offline).
"""

from __future__ import annotations

import socket
import socket
import typing as t
from decimal import Decimal
from pathlib import Path
from pathlib import Path

import oracledb

from target_oracle import types as ty
from target_oracle.errors import LoaderError
from target_oracle.errors import LoaderError
from target_oracle.connector import DbColumn, Dialect, RowError, RowErrors, Swap
from target_oracle.dialects import oracle_sql as sql

if t.TYPE_CHECKING:
    import logging

    from target_oracle.types import ColumnSpec

LONG_BIND_BYTES = 32767  # strings up to this size bind as NVARCHAR; larger ones as NCLOB


def connect_params(config: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    """``oracledb.connect`` keyword arguments from the settings (URL or parts + wallet)."""
    params: dict[str, t.Any] = {}
    url = config.get("sqlalchemy_url")
    if url:
        from sqlalchemy.dialects.oracle.oracledb import OracleDialect_oracledb  # noqa: PLC0415
        from sqlalchemy.engine import make_url  # noqa: PLC0415

        _, cparams = OracleDialect_oracledb(dbapi=oracledb).create_connect_args(make_url(url))
        params.update(cparams)
    for key, setting in (
        ("user", "oracle_user"),
        ("password", "oracle_password"),
        ("dsn", "oracle_dsn"),
        ("config_dir", "oracle_config_dir"),
        ("wallet_location", "oracle_wallet_location"),
        ("wallet_password", "oracle_wallet_password"),
    ):
        if config.get(setting):
            params[key] = config[setting]
    return params


def connect(config: t.Mapping[str, t.Any]) -> t.Any:
    """A thin-mode connection; a wallet folder that cannot work, an unknown or unreachable host
    and refused credentials raise LoaderError naming the setting to fix."""
    params = connect_params(config)
    where = f"Oracle {params.get('user', '')}@{params.get('dsn', '')}"
    for key, setting, needed in (("config_dir", "ORACLE_CONFIG_DIR", "tnsnames.ora"),
                                 ("wallet_location", "ORACLE_WALLET_LOCATION", "ewallet.pem")):
        folder = params.get(key)
        if folder and not (Path(folder).expanduser() / needed).is_file():
            raise LoaderError(
                f"{where}: no {needed} in {folder} ({setting}): unzip the Autonomous Database "
                "wallet there (docs/operations.md, first production run)"
            )
    try:
        return oracledb.connect(**params)
    except socket.gaierror as exc:  # thin mode resolves the host itself, outside its errors
        raise LoaderError(
            f"{where}: the database host in ORACLE_DSN cannot be resolved ({exc.strerror}): "
            "check the host name and the DNS of this machine"
        ) from exc
    except oracledb.Error as exc:
        raise LoaderError(f"{where}: {explain_connect_error(exc)}") from exc


# The connection errors an operator meets, with what to do (the driver's text follows).
CONNECT_ERRORS = {
    "ORA-01017": "user name or password refused: check ORACLE_USER / ORACLE_PASSWORD",
    "ORA-28000": "the account is locked: ask the DBA to unlock ORACLE_USER",
    "ORA-28001": "the password has expired: set a new one (ORACLE_PASSWORD)",
    "ORA-12506": "the listener rejected the connection: is the database stopped, or this "
                 "machine's IP not on its access list?",
    "ORA-12514": "the service name in ORACLE_DSN is not known to the listener",
    "DPY-4026": "tnsnames.ora is missing or unreadable: check ORACLE_CONFIG_DIR",
    "DPY-4027": "ORACLE_DSN is empty or an alias without ORACLE_CONFIG_DIR: set ORACLE_DSN "
                "(host:port/service) or ORACLE_CONFIG_DIR (the wallet folder with tnsnames.ora)",
    "DPY-4000": "ORACLE_DSN is an alias that no tnsnames.ora defines: check ORACLE_DSN and "
                "ORACLE_CONFIG_DIR",
    "DPY-4011": "the database closed the connection: wrong port, or TLS/mTLS needs the wallet "
                "(ORACLE_WALLET_LOCATION)",
    "DPY-6005": "cannot connect to the host/port in ORACLE_DSN: check the port, the firewall "
                "and the database's access list",
    "DPY-4005": "timed out connecting to the host/port in ORACLE_DSN: check the firewall and "
                "the database's access list",
    "DPY-6006": "the wallet could not be used: check ORACLE_WALLET_LOCATION / "
                "ORACLE_WALLET_PASSWORD",
}


def explain_connect_error(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    for code, meaning in CONNECT_ERRORS.items():
        if code in text:
            return f"{meaning} ({text})"
    return text or type(exc).__name__


def connect(config: t.Mapping[str, t.Any]) -> t.Any:
    """A thin-mode connection; a wallet folder that cannot work, an unknown or unreachable host
    and refused credentials raise LoaderError naming the setting to fix."""
    params = connect_params(config)
    where = f"Oracle {params.get('user', '')}@{params.get('dsn', '')}"
    for key, setting, needed in (("config_dir", "ORACLE_CONFIG_DIR", "tnsnames.ora"),
                                 ("wallet_location", "ORACLE_WALLET_LOCATION", "ewallet.pem")):
        folder = params.get(key)
        if folder and not (Path(folder).expanduser() / needed).is_file():
            raise LoaderError(
                f"{where}: no {needed} in {folder} ({setting}): unzip the Autonomous Database "
                "wallet there (docs/operations.md, first production run)"
            )
    try:
        return oracledb.connect(**params)
    except socket.gaierror as exc:  # thin mode resolves the host itself, outside its errors
        raise LoaderError(
            f"{where}: the database host in ORACLE_DSN cannot be resolved ({exc.strerror}): "
            "check the host name and the DNS of this machine"
        ) from exc
    except oracledb.Error as exc:
        raise LoaderError(f"{where}: {explain_connect_error(exc)}") from exc


# The connection errors an operator meets, with what to do (the driver's text follows).
CONNECT_ERRORS = {
    "ORA-01017": "user name or password refused: check ORACLE_USER / ORACLE_PASSWORD",
    "ORA-28000": "the account is locked: ask the DBA to unlock ORACLE_USER",
    "ORA-28001": "the password has expired: set a new one (ORACLE_PASSWORD)",
    "ORA-12506": "the listener rejected the connection: is the database stopped, or this "
                 "machine's IP not on its access list?",
    "ORA-12514": "the service name in ORACLE_DSN is not known to the listener",
    "DPY-4026": "tnsnames.ora is missing or unreadable: check ORACLE_CONFIG_DIR",
    "DPY-4027": "ORACLE_DSN is empty or an alias without ORACLE_CONFIG_DIR: set ORACLE_DSN "
                "(host:port/service) or ORACLE_CONFIG_DIR (the wallet folder with tnsnames.ora)",
    "DPY-4000": "ORACLE_DSN is an alias that no tnsnames.ora defines: check ORACLE_DSN and "
                "ORACLE_CONFIG_DIR",
    "DPY-4011": "the database closed the connection: wrong port, or TLS/mTLS needs the wallet "
                "(ORACLE_WALLET_LOCATION)",
    "DPY-6005": "cannot connect to the host/port in ORACLE_DSN: check the port, the firewall "
                "and the database's access list",
    "DPY-4005": "timed out connecting to the host/port in ORACLE_DSN: check the firewall and "
                "the database's access list",
    "DPY-6006": "the wallet could not be used: check ORACLE_WALLET_LOCATION / "
                "ORACLE_WALLET_PASSWORD",
}


def explain_connect_error(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    for code, meaning in CONNECT_ERRORS.items():
        if code in text:
            return f"{meaning} ({text})"
    return text or type(exc).__name__


def utf16_units(value: str) -> int:
    """Length of a string in NVARCHAR2 characters (UTF-16 code units, AL16UTF16)."""
    return len(value.encode("utf-16-le")) // 2


def max_chars(values: list) -> int:
    """Largest NVARCHAR2 length needed by a column of Python strings."""
    lengths = [len(v) for v in values if v is not None]
    if not lengths:
        return 0
    longest = max(lengths)
    # A character outside the BMP takes two code units: only long values can matter.
    return max(utf16_units(v) for v in values if v is not None and len(v) * 2 > longest)


def input_type(col: DbColumn, values: list) -> t.Any:
    """The bind type of a column for ``setinputsizes``."""
    kind = col.sql_type
    if kind == "NVARCHAR2":
        return oracledb.DB_TYPE_NVARCHAR
    if kind in ("NCLOB", "CLOB"):
        big = any(v is not None and len(v) * 4 > LONG_BIND_BYTES for v in values)
        if big and max_chars(values) * 2 > LONG_BIND_BYTES:
            return oracledb.DB_TYPE_NCLOB
        return oracledb.DB_TYPE_NVARCHAR
    if kind.startswith("NUMBER"):
        return oracledb.DB_TYPE_NUMBER
    if kind == "BINARY_DOUBLE":
        return oracledb.DB_TYPE_BINARY_DOUBLE
    if kind == "DATE":
        return oracledb.DB_TYPE_DATE
    if kind.startswith("TIMESTAMP"):
        return oracledb.DB_TYPE_TIMESTAMP
    return None


def decimal_scale_errors(spec: ColumnSpec, values: list) -> list[RowError]:
    """Values with more decimals than the column's scale (Oracle would round them silently)."""
    scale = spec.scale or 0
    quantum = Decimal(1).scaleb(-scale)
    errors = []
    for index, value in enumerate(values):
        if type(value) is Decimal and value.as_tuple().exponent < -scale:  # type: ignore[operator]
            if value.quantize(quantum) != value:
                errors.append(
                    RowError(index, spec.name, f"more than {scale} decimals for NUMBER", value)
                )
    return errors


class OracleDialect(Dialect):
    name = "oracle"

    def __init__(
        self,
        config: t.Mapping[str, t.Any],
        logger: logging.Logger,
        connection: t.Any = None,
    ) -> None:
        """Connect in thin mode (or use ``connection``, any DB-API connection)."""
        super().__init__(config, logger)
        self.schema: str | None = (config.get("default_target_schema") or "").upper() or None
        self.array_size = int(config.get("oracle_array_size") or 10000)
        self.con = connection if connection is not None else connect(config)
        self.con.autocommit = False

    # -- helpers ---------------------------------------------------------------------------
    def _execute(self, statement: str, params: t.Any = None) -> None:
        self.logger.debug("Oracle: %s", statement)
        with self.con.cursor() as cur:
            cur.execute(statement, params or {})

    def _read_columns(self, table: str) -> dict[str, DbColumn] | None:
        with self.con.cursor() as cur:
            cur.execute(sql.COLUMNS_QUERY, owner=self.schema, table_name=table)
            rows = cur.fetchall()
        if not rows:
            return None
        return {row[0]: sql.db_column_from_row(*row) for row in rows}

    # -- DDL -------------------------------------------------------------------------------
    def create_table(self, table: str, specs: t.Sequence[ColumnSpec]) -> None:
        self._execute(sql.create_table_sql(self.schema, table, specs))
        self._forget(table)

    def drop_table(self, table: str) -> None:
        if self.table_columns(table) is not None:
            self._execute(sql.drop_table_sql(self.schema, table))
        self._forget(table)

    def add_columns(self, table: str, specs: t.Sequence[ColumnSpec]) -> None:
        self._execute(
            sql.add_columns_sql(self.schema, table, [(s.name, sql.type_sql(s)) for s in specs])
        )
        self._forget(table)

    def _grow(self, table: str, col: DbColumn, needed: int) -> None:
        statements = sql.string_growth_sql(self.schema, table, col, needed)
        if not statements:
            return
        self.logger.info("Widening %s.%s for %d characters", table, col.name, needed)
        existing = self.table_columns(table) or {}
        if statements[0].endswith("NCLOB)") and sql.nclob_temp_column(col.name) in existing:
            # left over by an interrupted conversion
            self._execute(
                f"ALTER TABLE {sql.qualified(self.schema, table)} "
                f"DROP COLUMN {sql.ident(sql.nclob_temp_column(col.name))}"
            )
        for statement in statements:
            self._execute(statement)
        self.con.commit()
        self._forget(table)

    def widen_for_specs(self, table: str, specs: t.Sequence[ColumnSpec]) -> None:
        existing = self.table_columns(table) or {}
        for spec in specs:
            col = existing.get(spec.name)
            if col is not None and spec.kind == ty.STRING:
                self._grow(table, col, spec.max_length or sql.NVARCHAR2_MAX_CHARS + 1)

    # -- data ------------------------------------------------------------------------------
    def _prepare(self, specs: t.Sequence[ColumnSpec], columns: t.Sequence[t.Sequence]) -> list[list]:
        prepared = []
        errors: list[RowError] = []
        for spec, raw in zip(specs, columns, strict=True):
            values = ty.convert_column(spec, list(raw))
            if spec.kind == ty.BOOLEAN:
                values = [None if v is None else int(v) for v in values]  # noqa: PLW2901
            elif spec.kind == ty.DECIMAL:
                errors.extend(decimal_scale_errors(spec, values))
            prepared.append(values)
        if errors:
            raise RowErrors("", errors)
        return prepared

    def insert_batch(
        self, table: str, specs: t.Sequence[ColumnSpec], columns: t.Sequence[t.Sequence]
    ) -> None:
        try:
            columns = self._prepare(specs, columns)
        except RowErrors as exc:
            exc.table = table
            raise
        existing = self.table_columns(table) or {}
        for spec, values in zip(specs, columns, strict=True):
            col = existing.get(spec.name)
            if col is not None and col.sql_type == "NVARCHAR2":
                self._grow(table, col, max_chars(values))
        existing = self.table_columns(table) or {}
        db_cols = [existing[s.name] for s in specs]
        statement = sql.insert_sql(self.schema, table, [s.name for s in specs])
        rows = list(zip(*columns, strict=True))
        errors: list[RowError] = []
        with self.con.cursor() as cur:
            for start in range(0, len(rows), self.array_size):
                chunk = rows[start : start + self.array_size]
                cur.setinputsizes(
                    *[
                        input_type(col, values[start : start + self.array_size])
                        for col, values in zip(db_cols, columns, strict=True)
                    ]
                )
                cur.executemany(statement, chunk, batcherrors=True)
                for err in cur.getbatcherrors():
                    errors.append(
                        RowError(start + err.offset, sql.column_from_error(err.message), err.message)
                    )
        if errors:
            self.con.rollback()
            raise RowErrors(table, errors)
        self.con.commit()

    def activate(self, swaps: t.Sequence[Swap]) -> list[int]:
        for swap in swaps:
            if swap.shadow is None:
                continue
            staging_cols = self.table_columns(swap.staging) or {}
            shadow_cols = self.table_columns(swap.shadow) or {}
            for statement in sql.align_sql(self.schema, swap.staging, staging_cols, shadow_cols):
                self.logger.info("Aligning %s: %s", swap.staging, statement)
                self._execute(statement)
            self._forget(swap.staging)
        counts = []
        try:
            with self.con.cursor() as cur:
                for swap in swaps:
                    columns = list(self.table_columns(swap.shadow) or {}) if swap.shadow else []
                    for statement in sql.swap_sql(self.schema, swap.staging, swap.shadow, columns):
                        if ":version" in statement:
                            cur.execute(statement, version=swap.version)
                        else:
                            cur.execute(statement)
                    counts.append(int(cur.rowcount) if swap.shadow else 0)
            self.con.commit()
        except BaseException:
            self.con.rollback()
            raise
        for swap in swaps:
            if swap.shadow is not None:
                self.drop_table(swap.shadow)
        return counts

    def close(self) -> None:
        self.con.close()
