"""Where the warehouse is: the Oracle connection parameters and the DuckDB file, from the
loader's settings or from the environment, and what a refused connection means.

The loader (its settings: ``sqlalchemy_url``, ``duckdb_path``, ``oracle_*``,
``default_target_schema``), dbt (transform/profiles.yml and its DuckDB plugin: ``ORACLE_*``,
``MARINA_DUCKDB_PATH``) and marina-ops (which checks both) read them here, so the three agree on
which database a setting names and speak of a problem in the same words.

No database driver is imported: python-oracledb is not in every plugin's venv, so
:meth:`OracleParams.connect_kwargs` gives the keyword arguments of ``oracledb.connect`` and the
caller connects. A SQLAlchemy URL is read with :mod:`urllib.parse` for the same reason (SQLAlchemy
is not in every venv either), with SQLAlchemy's meaning of each part.
"""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

# (oracledb.connect keyword, loader setting, environment variable): meltano.yml sets each loader
# setting from its variable, so a message names the variable people set, whoever reads it.
ORACLE_PARAMETERS = (
    ("user", "oracle_user", "ORACLE_USER"),
    ("password", "oracle_password", "ORACLE_PASSWORD"),
    ("dsn", "oracle_dsn", "ORACLE_DSN"),
    ("config_dir", "oracle_config_dir", "ORACLE_CONFIG_DIR"),
    ("wallet_location", "oracle_wallet_location", "ORACLE_WALLET_LOCATION"),
    ("wallet_password", "oracle_wallet_password", "ORACLE_WALLET_PASSWORD"),
)
SCHEMA_SETTING, SCHEMA_VARIABLE = "default_target_schema", "ORACLE_SCHEMA"
REQUIRED = ("user", "password", "dsn")
VARIABLE = {keyword: variable for keyword, _, variable in ORACLE_PARAMETERS}

# dbt-oracle's profile has no field for the wallet: it reads these variables itself.
DBT_ORACLE_VARIABLES = {
    "CONFIG_DIR": "ORACLE_CONFIG_DIR",
    "WALLET_LOCATION": "ORACLE_WALLET_LOCATION",
    "WALLET_PASSWORD": "ORACLE_WALLET_PASSWORD",
}

# The files of an Autonomous Database wallet that python-oracledb's thin mode reads.
WALLET_FILES = {"config_dir": "tnsnames.ora", "wallet_location": "ewallet.pem"}
WALLET_HINT = "unzip the Autonomous Database wallet there (docs/operations.md, first production run)"

DUCKDB_PATH_VARIABLE = "MARINA_DUCKDB_PATH"
DUCKDB_DEFAULT_FILE = ("output", "marina.duckdb")  # under the project root
MEMORY = ":memory:"
ORACLE_PORT = 1521  # SQLAlchemy's default when a URL names a service or SID but no port


class SettingsError(ValueError):
    """The settings cannot name a database; the message says which setting and why."""


@dataclass(frozen=True)
class OracleParams:
    """One Oracle account: what ``oracledb.connect`` needs, and the schema of the tables."""

    user: str = ""
    password: str = ""
    dsn: str = ""  # Easy Connect string, connect descriptor or tnsnames alias
    config_dir: str = ""
    wallet_location: str = ""
    wallet_password: str = ""
    schema: str = ""  # upper case; the user's own schema unless set

    @property
    def where(self) -> str:
        """How messages name the database (never with the password)."""
        return f"Oracle {self.user}@{self.dsn}"

    @property
    def dsn_is_alias(self) -> bool:
        """A tnsnames alias (``marina_high``) rather than an Easy Connect string or descriptor."""
        return bool(self.dsn) and not re.search(r"[/:()@]", self.dsn)

    def connect_kwargs(self) -> dict[str, str]:
        """Keyword arguments for ``oracledb.connect``: the parameters that are set."""
        return {keyword: value for keyword, *_ in ORACLE_PARAMETERS if (value := getattr(self, keyword))}

    def missing(self) -> list[str]:
        """The environment variables of the required parameters that are not set."""
        return [VARIABLE[keyword] for keyword in REQUIRED if not getattr(self, keyword)]

    def wallet_problems(self, env: Mapping[str, str] | None = None) -> list[str]:
        """Why the wallet settings cannot work, found before connecting (the driver's own errors
        name neither the folder nor the setting). `env` (default: this process's environment)
        gives TNS_ADMIN and ORACLE_HOME, where python-oracledb also looks for tnsnames.ora."""
        env = os.environ if env is None else env
        absent = [
            f"no {needed} in {folder} ({VARIABLE[keyword]})"
            for keyword, needed in WALLET_FILES.items()
            if (folder := getattr(self, keyword)) and not (Path(folder).expanduser() / needed).is_file()
        ]
        problems = [f"{'; '.join(absent)}: {WALLET_HINT}"] if absent else []
        if self.dsn_is_alias and not (self.config_dir or env.get("TNS_ADMIN") or env.get("ORACLE_HOME")):
            problems.append(
                f"ORACLE_DSN {self.dsn!r} is a tnsnames alias but ORACLE_CONFIG_DIR (or TNS_ADMIN) is not set: "
                "set it to the wallet folder, or ORACLE_DSN to host:port/service"
            )
        return problems

    def wallet_problem(self, env: Mapping[str, str] | None = None) -> str | None:
        """:meth:`wallet_problems` as one line naming the database and what to do, or None."""
        problems = self.wallet_problems(env)
        if not problems:
            return None
        return f"{self.where}: {'; '.join(problems)}"


def _text(value: object) -> str:
    """A setting as text; blank is unset (Meltano passes an unset `$VARIABLE` as "")."""
    return "" if value is None else str(value).strip()


def oracle_from_env(env: Mapping[str, str] | None = None) -> OracleParams:
    """The account dbt's profile (transform/profiles.yml, output `oracle`) and marina-ops use:
    ORACLE_USER, ORACLE_PASSWORD, ORACLE_DSN, the wallet variables and ORACLE_SCHEMA."""
    env = os.environ if env is None else env
    values = {keyword: _text(env.get(variable)) for keyword, _, variable in ORACLE_PARAMETERS}
    schema = _text(env.get(SCHEMA_VARIABLE)) or values["user"]
    return OracleParams(**values, schema=schema.upper())


def oracle_from_settings(config: Mapping[str, object]) -> OracleParams:
    """The loader's account: an ``oracle+oracledb://`` ``sqlalchemy_url``, if any, with each
    ``oracle_*`` setting that is set taking precedence over the URL's part."""
    values = oracle_url_parts(str(config.get("sqlalchemy_url") or ""))
    for keyword, setting, _ in ORACLE_PARAMETERS:
        if value := _text(config.get(setting)):
            values[keyword] = value
    schema = _text(config.get(SCHEMA_SETTING)) or values.get("user", "")
    return OracleParams(**values, schema=schema.upper())


def oracle_url_parts(url: str) -> dict[str, str]:
    """user, password and dsn of ``oracle+oracledb://user:password@host:port/?service_name=SVC``
    as SQLAlchemy reads it: a service name or a SID (the path) makes a connect descriptor to
    host:port (port 1521 by default); a host alone is a tnsnames alias. Other URLs give {}."""
    if not url.startswith("oracle"):
        return {}
    parts = urlsplit(url)
    options = dict(parse_qsl(parts.query))
    service = options.pop("service_name", "")
    if options:
        raise SettingsError(
            f"sqlalchemy_url: option(s) {', '.join(sorted(options))} not supported (only service_name): "
            "use the oracle_* settings for the wallet"
        )
    sid = unquote(parts.path.lstrip("/"))
    if service and sid:
        raise SettingsError("sqlalchemy_url: a service_name and a database (SID) in the path: give one of them")
    host = parts.hostname or ""
    if ":" in host:  # an IPv6 address, bracketed in a descriptor as in a URL
        host = f"[{host}]"
    if service or sid:
        target = f"(SERVICE_NAME={service})" if service else f"(SID={sid})"
        try:
            port = parts.port or ORACLE_PORT
        except ValueError as exc:
            raise SettingsError(f"sqlalchemy_url: {exc}") from None
        dsn = f"(DESCRIPTION=(ADDRESS=(PROTOCOL=TCP)(HOST={host})(PORT={port}))(CONNECT_DATA={target}))"
    else:
        dsn = host
    values = {"user": unquote(parts.username or ""), "password": unquote(parts.password or ""), "dsn": dsn}
    return {keyword: value for keyword, value in values.items() if value}


def duckdb_path_from_settings(config: Mapping[str, object]) -> str | None:
    """The loader's DuckDB file: the path of a ``duckdb:///`` ``sqlalchemy_url``
    (``duckdb:////abs/marina.duckdb``; ``duckdb:///:memory:`` or no path: in memory), else
    ``duckdb_path``; None when the settings name no DuckDB. A relative path is relative to the
    loader's working directory (the project root under Meltano)."""
    url = str(config.get("sqlalchemy_url") or "")
    if url:
        if not url.startswith("duckdb:"):
            return None
        # SQLAlchemy's database part: what follows the third slash, without the query
        path = unquote(urlsplit(url).path)
        return path[1:] if path.startswith("/") and len(path) > 1 else MEMORY
    path = _text(config.get("duckdb_path"))
    return path or None


def warehouse_kind(config: Mapping[str, object]) -> str | None:
    """ "duckdb" or "oracle": the database the loader's settings name (a URL wins over the
    other settings), or None when they name none."""
    url = str(config.get("sqlalchemy_url") or "")
    if url.startswith("duckdb:") or (not url and config.get("duckdb_path")):
        return "duckdb"
    if url.startswith("oracle") or (not url and any(config.get(s) for _, s, _ in ORACLE_PARAMETERS)):
        return "oracle"
    return None


def missing_settings(config: Mapping[str, object], environment: str = "") -> str | None:
    """Why the loader's settings name no database to load, or None. `environment`: the Meltano
    environment, named in the message because each environment has its own settings."""
    if config.get("sqlalchemy_url") or config.get("duckdb_path"):
        return None
    where = f" for environment {environment}" if environment else ""
    missing = oracle_from_settings(config).missing()
    if len(missing) == len(REQUIRED):
        return (
            f"no warehouse configured{where}: set ORACLE_DSN, ORACLE_USER and ORACLE_PASSWORD "
            "(see .env.example), or duckdb_path / sqlalchemy_url for DuckDB"
        )
    if missing:
        return f"{', '.join(missing)} not set{where} (the other Oracle settings are): set them in .env"
    return None


def dbt_duckdb_path(env: Mapping[str, str] | None = None, project_root: str | Path = "..") -> Path:
    """dbt's DuckDB file, as transform/profiles.yml names it: MARINA_DUCKDB_PATH (absolute, or
    relative to the working directory), else <project root>/output/marina.duckdb. The root's
    default ".." is transform/'s parent: dbt started from inside transform/."""
    env = os.environ if env is None else env
    configured = _text(env.get(DUCKDB_PATH_VARIABLE))
    path = Path(configured).expanduser() if configured else Path(project_root, *DUCKDB_DEFAULT_FILE)
    return Path(os.path.abspath(path))


def dbt_oracle_env(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The wallet variables dbt-oracle reads (CONFIG_DIR, ...), from ORACLE_CONFIG_DIR, ...;
    one already set in `env` is kept."""
    env = os.environ if env is None else env
    return {
        name: value
        for name, variable in DBT_ORACLE_VARIABLES.items()
        if not _text(env.get(name)) and (value := _text(env.get(variable)))
    }


# The connection errors an operator meets, with what to do (the driver's text follows).
CONNECT_ERRORS = {
    "ORA-01017": "user name or password refused: check ORACLE_USER / ORACLE_PASSWORD",
    "ORA-28000": "the account is locked: ask the DBA to unlock ORACLE_USER",
    "ORA-28001": "the password has expired: set a new one (ORACLE_PASSWORD)",
    "ORA-12506": "the listener rejected the connection: is the database stopped, or this "
    "machine's IP not on its access list?",
    "ORA-12514": "the service name in ORACLE_DSN is not known to the listener",
    "ORA-12154": "ORACLE_DSN is neither an Easy Connect string nor an alias in tnsnames.ora",
    "DPY-4026": "tnsnames.ora is missing or unreadable: check ORACLE_CONFIG_DIR",
    "DPY-4027": "ORACLE_DSN is empty or an alias without ORACLE_CONFIG_DIR: set ORACLE_DSN "
    "(host:port/service) or ORACLE_CONFIG_DIR (the wallet folder with tnsnames.ora)",
    "DPY-4000": "ORACLE_DSN is an alias that no tnsnames.ora defines: check ORACLE_DSN and ORACLE_CONFIG_DIR",
    "DPY-4011": "the database closed the connection: wrong port, or TLS/mTLS needs the wallet (ORACLE_WALLET_LOCATION)",
    "DPY-6005": "cannot connect to the host/port in ORACLE_DSN: check the port, the firewall "
    "and the database's access list",
    "DPY-4005": "timed out connecting to the host/port in ORACLE_DSN: check the firewall and "
    "the database's access list",
    "DPY-6000": "the listener refused the connection: check the service name in ORACLE_DSN and the access list",
    "DPY-6006": "the wallet could not be used: check ORACLE_WALLET_LOCATION / ORACLE_WALLET_PASSWORD",
}


def explain_connect_error(exc: BaseException, params: OracleParams) -> str:
    """One line for a failed ``oracledb.connect``: the database, what the error means and what
    to do, then the driver's text. Thin mode resolves the host itself, so a DNS failure is a
    ``socket.gaierror`` rather than a driver error."""
    if isinstance(exc, socket.gaierror):
        return (
            f"{params.where}: the database host in ORACLE_DSN cannot be resolved ({exc.strerror}): "
            "check the host name and the DNS of this machine"
        )
    text = " ".join(str(exc).split())
    for code, meaning in CONNECT_ERRORS.items():
        if code in text:
            return f"{params.where}: {meaning} ({text})"
    return f"{params.where}: {text or type(exc).__name__}"
