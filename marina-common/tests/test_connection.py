"""The warehouse settings: which database each form of setting names, the parameters handed to
``oracledb.connect``, the wallet checked before connecting, and one line per connect error."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from marina_common.connection import (
    MEMORY,
    OracleParams,
    SettingsError,
    dbt_duckdb_path,
    dbt_oracle_env,
    duckdb_path_from_settings,
    explain_connect_error,
    missing_settings,
    oracle_from_env,
    oracle_from_settings,
    warehouse_kind,
)

NO_TNS = {}  # an environment without TNS_ADMIN or ORACLE_HOME


# --- Oracle: settings, URL, environment ---------------------------------------------------------
def test_url_alias_with_wallet_settings():
    params = oracle_from_settings(
        {
            "sqlalchemy_url": "oracle+oracledb://scott:t%40ger@myadb_high",
            "oracle_config_dir": "/w",
            "oracle_wallet_location": "/w",
            "oracle_wallet_password": "pw",
        }
    )
    assert params.connect_kwargs() == {
        "user": "scott",
        "password": "t@ger",
        "dsn": "myadb_high",
        "config_dir": "/w",
        "wallet_location": "/w",
        "wallet_password": "pw",
    }
    assert params.schema == "SCOTT" and params.dsn_is_alias


@pytest.mark.parametrize(
    ("url", "dsn"),
    [
        (
            "oracle+oracledb://u:p@db.example.com:1522/?service_name=svc_high",
            "(DESCRIPTION=(ADDRESS=(PROTOCOL=TCP)(HOST=db.example.com)(PORT=1522))(CONNECT_DATA=(SERVICE_NAME=svc_high)))",
        ),
        (
            "oracle+oracledb://u:p@db.example.com/ORCL",
            "(DESCRIPTION=(ADDRESS=(PROTOCOL=TCP)(HOST=db.example.com)(PORT=1521))(CONNECT_DATA=(SID=ORCL)))",
        ),
        (
            "oracle://u:p@[::1]:1522?service_name=s",
            "(DESCRIPTION=(ADDRESS=(PROTOCOL=TCP)(HOST=[::1])(PORT=1522))(CONNECT_DATA=(SERVICE_NAME=s)))",
        ),
    ],
)
def test_url_service_or_sid_makes_a_descriptor_as_sqlalchemy_does(url, dsn):
    params = oracle_from_settings({"sqlalchemy_url": url})
    assert (params.user, params.password, params.dsn) == ("u", "p", dsn)
    assert not params.dsn_is_alias


def test_settings_take_precedence_over_the_url_and_name_the_schema():
    params = oracle_from_settings(
        {
            "sqlalchemy_url": "oracle+oracledb://scott:tiger@alias_one",
            "oracle_dsn": "h:1521/svc",
            "oracle_password": "",  # unset in Meltano's terms: the URL's stays
            "default_target_schema": "marina_stg",
        }
    )
    assert params.connect_kwargs() == {"user": "scott", "password": "tiger", "dsn": "h:1521/svc"}
    assert params.schema == "MARINA_STG"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("oracle+oracledb://u:p@h:1521/?service_name=s&mode=SYSDBA", "option(s) mode not supported"),
        ("oracle+oracledb://u:p@h:1521/ORCL?service_name=s", "a service_name and a database (SID)"),
        ("oracle+oracledb://u:secret@h:port/?service_name=s", "Port could not be cast"),
    ],
)
def test_url_that_cannot_be_read_names_the_setting(url, expected):
    with pytest.raises(SettingsError, match=r"^sqlalchemy_url: ") as caught:
        oracle_from_settings({"sqlalchemy_url": url})
    assert expected in str(caught.value) and "secret" not in str(caught.value)


def test_environment_as_dbt_profile_reads_it():
    env = {
        "ORACLE_USER": " marina_app ",
        "ORACLE_PASSWORD": "pw",
        "ORACLE_DSN": "adb.example.com:1522/svc_high",
        "ORACLE_WALLET_LOCATION": "/wallet",
        "ORACLE_CONFIG_DIR": "",
    }
    params = oracle_from_env(env)
    assert params.connect_kwargs() == {
        "user": "marina_app",
        "password": "pw",
        "dsn": "adb.example.com:1522/svc_high",
        "wallet_location": "/wallet",
    }
    assert params.schema == "MARINA_APP" and params.where == "Oracle marina_app@adb.example.com:1522/svc_high"
    assert oracle_from_env({**env, "ORACLE_SCHEMA": "stage"}).schema == "STAGE"


def test_dbt_oracle_reads_the_wallet_under_its_own_names():
    env = {"ORACLE_CONFIG_DIR": "/w", "ORACLE_WALLET_PASSWORD": "pw", "WALLET_PASSWORD": "kept"}
    assert dbt_oracle_env(env) == {"CONFIG_DIR": "/w"}


# --- which database, what is missing --------------------------------------------------------------
@pytest.mark.parametrize(
    ("config", "kind"),
    [
        ({"sqlalchemy_url": "duckdb:////tmp/w.duckdb", "oracle_dsn": "h/s"}, "duckdb"),
        ({"duckdb_path": "output/marina.duckdb"}, "duckdb"),
        ({"sqlalchemy_url": "oracle+oracledb://u:p@alias", "duckdb_path": "x.duckdb"}, "oracle"),
        ({"oracle_dsn": "h:1521/s"}, "oracle"),
        ({"batch_size_rows": 100000}, None),
    ],
)
def test_which_database_the_settings_name(config, kind):
    assert warehouse_kind(config) == kind


def test_missing_settings_name_the_variables_and_the_environment():
    assert missing_settings({"batch_size_rows": 1}, "prod").startswith(
        "no warehouse configured for environment prod: set ORACLE_DSN, ORACLE_USER and ORACLE_PASSWORD"
    )
    assert missing_settings({"oracle_dsn": "h:1521/s"}) == (
        "ORACLE_USER, ORACLE_PASSWORD not set (the other Oracle settings are): set them in .env"
    )
    assert missing_settings({"oracle_user": "u", "oracle_password": "p", "oracle_dsn": "h/s"}) is None
    assert missing_settings({"duckdb_path": "w.duckdb"}) is None
    assert OracleParams(user="u").missing() == ["ORACLE_PASSWORD", "ORACLE_DSN"]


# --- DuckDB ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("config", "path"),
    [
        ({"sqlalchemy_url": "duckdb:////abs/marina.duckdb"}, "/abs/marina.duckdb"),
        ({"sqlalchemy_url": "duckdb:///output/marina.duckdb?threads=2"}, "output/marina.duckdb"),
        ({"sqlalchemy_url": "duckdb:///my%20files/w.duckdb"}, "my files/w.duckdb"),
        ({"sqlalchemy_url": "duckdb:///:memory:"}, MEMORY),
        ({"sqlalchemy_url": "duckdb://"}, MEMORY),
        ({"sqlalchemy_url": "", "duckdb_path": "/w/marina.duckdb"}, "/w/marina.duckdb"),
        ({"sqlalchemy_url": "oracle+oracledb://u:p@a", "duckdb_path": "/w.duckdb"}, None),
        ({"duckdb_path": " "}, None),
    ],
)
def test_loader_duckdb_file(config, path):
    assert duckdb_path_from_settings(config) == path


def test_dbt_duckdb_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert dbt_duckdb_path({}, "/project") == Path("/project/output/marina.duckdb")
    assert dbt_duckdb_path({"MARINA_DUCKDB_PATH": "  "}, "/project") == Path("/project/output/marina.duckdb")
    assert dbt_duckdb_path({"MARINA_DUCKDB_PATH": "w/x.duckdb"}, "/project") == tmp_path / "w" / "x.duckdb"
    assert dbt_duckdb_path({}) == tmp_path.parent / "output" / "marina.duckdb"  # started in transform/


# --- the wallet ------------------------------------------------------------------------------------
def test_wallet_folders_without_their_files(tmp_path):
    params = OracleParams("u", "p", "marina_high", config_dir=str(tmp_path), wallet_location=str(tmp_path / "no"))
    problem = params.wallet_problem(NO_TNS)
    assert problem == (
        f"Oracle u@marina_high: no tnsnames.ora in {tmp_path} (ORACLE_CONFIG_DIR); no ewallet.pem in "
        f"{tmp_path / 'no'} (ORACLE_WALLET_LOCATION): unzip the Autonomous Database wallet there "
        "(docs/operations.md, first production run)"
    )
    (tmp_path / "tnsnames.ora").write_text("marina_high = (DESCRIPTION=...)")
    (tmp_path / "ewallet.pem").write_text("-----BEGIN")
    assert OracleParams("u", "p", "marina_high", str(tmp_path), str(tmp_path)).wallet_problem(NO_TNS) is None


def test_alias_needs_a_configuration_folder():
    alias = OracleParams("u", "p", "marina_high")
    assert alias.wallet_problems(NO_TNS) == [
        "ORACLE_DSN 'marina_high' is a tnsnames alias but ORACLE_CONFIG_DIR (or TNS_ADMIN) is not set: "
        "set it to the wallet folder, or ORACLE_DSN to host:port/service"
    ]
    assert alias.wallet_problems({"TNS_ADMIN": "/opt/tns"}) == []
    assert OracleParams("u", "p", "h:1522/svc").wallet_problems(NO_TNS) == []


# --- connect errors --------------------------------------------------------------------------------
class DatabaseError(Exception):
    """What python-oracledb raises: the code leads its text."""


PARAMS = OracleParams("marina", "secret", "127.0.0.1:1/svc")


def test_known_codes_say_what_to_do():
    exc = DatabaseError("DPY-6005: cannot connect to database (CONNECTION_ID=x).\n[Errno 111] Connection refused")
    assert explain_connect_error(exc, PARAMS) == (
        "Oracle marina@127.0.0.1:1/svc: cannot connect to the host/port in ORACLE_DSN: check the port, the "
        "firewall and the database's access list (DPY-6005: cannot connect to database (CONNECTION_ID=x). "
        "[Errno 111] Connection refused)"
    )
    refused = explain_connect_error(DatabaseError("ORA-01017: invalid credential or not authorized"), PARAMS)
    assert "user name or password refused: check ORACLE_USER / ORACLE_PASSWORD" in refused
    assert "secret" not in refused


def test_unknown_errors_keep_their_text_and_dns_failures_are_named():
    assert (
        explain_connect_error(DatabaseError("ORA-99999: new"), PARAMS)
        == "Oracle marina@127.0.0.1:1/svc: ORA-99999: new"
    )
    gai = socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    assert explain_connect_error(gai, PARAMS) == (
        "Oracle marina@127.0.0.1:1/svc: the database host in ORACLE_DSN cannot be resolved "
        "(Name or service not known): check the host name and the DNS of this machine"
    )


def test_real_unresolvable_host_is_a_gaierror():
    """The premise of the DNS branch: resolving a name that cannot exist raises socket.gaierror."""
    with pytest.raises(socket.gaierror) as caught:
        socket.getaddrinfo("adb.example.invalid", 1522)
    assert "cannot be resolved" in explain_connect_error(caught.value, PARAMS)


def test_refused_connection_through_the_driver():
    """python-oracledb (where the venv has it) against a port nothing listens on."""
    oracledb = pytest.importorskip("oracledb")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    params = oracle_from_settings(
        {"oracle_user": "marina", "oracle_password": "pw", "oracle_dsn": f"127.0.0.1:{port}/svc"}
    )
    with pytest.raises(oracledb.Error) as caught:
        oracledb.connect(**params.connect_kwargs(), tcp_connect_timeout=5)
    assert explain_connect_error(caught.value, params).startswith(
        f"Oracle marina@127.0.0.1:{port}/svc: cannot connect to the host/port in ORACLE_DSN"
    )
