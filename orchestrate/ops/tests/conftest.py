"""Shared fixtures: a clean environment, a local SMTP server, a local webhook server, and a small
copy of the dbt project over a DuckDB filled like the loader does (transform/tests/staging_db.py)."""

from __future__ import annotations

import contextlib
import datetime as dt
import http.server
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[3]
TRANSFORM = REPO / "transform"
sys.path[:0] = [str(TRANSFORM / "scripts"), str(TRANSFORM / "tests")]
VENV_BIN = Path(sys.executable).parent
MARINA_OPS = str(VENV_BIN / "marina-ops")

# Settings this package reads; removed from the environment of every test.
PREFIXES = (
    "MARINA_",
    "TAP_MARINA_S3_",
    "TARGET_ORACLE_",
    "TARGET_DUCKDB_",
    "ORACLE_",
    "DBT_",
    "AWS_",
    "MELTANO_",
    "CONFIG_DIR",
    "WALLET_",
)


def base_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(PREFIXES)}


@pytest.fixture
def clean_env(monkeypatch):
    for name in list(os.environ):
        if name.startswith(PREFIXES):
            monkeypatch.delenv(name)
    return monkeypatch


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- SMTP ---------------------------------------------------------------------------------------
class SmtpSink:
    """aiosmtpd handler keeping every message and the logins."""

    def __init__(self) -> None:
        self.messages: list = []
        self.logins: list[tuple[str, str]] = []

    async def handle_DATA(self, server, session, envelope):
        from email import message_from_bytes, policy

        self.messages.append(
            (envelope.mail_from, list(envelope.rcpt_tos), message_from_bytes(envelope.content, policy=policy.default))
        )
        return "250 OK"

    def authenticate(self, server, session, envelope, mechanism, auth_data):
        from aiosmtpd.smtp import AuthResult

        self.logins.append((auth_data.login.decode(), auth_data.password.decode()))
        return AuthResult(success=auth_data.password == b"right-password", handled=False)


@pytest.fixture
def smtp_server():
    from aiosmtpd.controller import Controller

    sink = SmtpSink()
    controller = Controller(
        sink, hostname="127.0.0.1", port=free_port(), authenticator=sink.authenticate, auth_require_tls=False
    )
    controller.start()
    sink.port = controller.port
    yield sink
    controller.stop()


# --- webhook ------------------------------------------------------------------------------------
class WebhookSink:
    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.status = 200


@contextlib.contextmanager
def serve_webhook():
    """A local HTTP server recording every POST (JSON body and headers)."""
    sink = WebhookSink()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            sink.requests.append(
                {"path": self.path, "headers": dict(self.headers), "body": body, "json": json.loads(body)}
            )
            self.send_response(sink.status)
            self.end_headers()
            self.wfile.write(b"ok" if sink.status < 400 else b"server says no")

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    sink.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    try:
        yield sink
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def webhook_server():
    with serve_webhook() as sink:
        yield sink


# --- a small dbt project ------------------------------------------------------------------------
# The real macros, ops model and generated files of a few tables (stellar_locations because the
# holidays' relationships test refers to it). Parsing 3 tables instead of 79 keeps each dbt
# invocation to seconds.
MINI_STREAMS = ["molo_slip_types", "stellar_holidays", "stellar_locations"]


def mini_project(folder: Path, streams: list[str] = MINI_STREAMS) -> Path:
    import staging_db as sdb

    project = folder / "transform"
    project.mkdir(parents=True)
    for name in ("dbt_project.yml", "profiles.yml"):
        shutil.copy(TRANSFORM / name, project / name)
    for sub in ("macros", "data_tests", "models/ops"):
        shutil.copytree(TRANSFORM / sub, project / sub)
    for md in (TRANSFORM / "models").rglob("*.md"):
        (project / md.relative_to(TRANSFORM).parent).mkdir(parents=True, exist_ok=True)
        shutil.copy(md, project / md.relative_to(TRANSFORM))
    staging = TRANSFORM / "models" / "staging"
    (project / "models" / "staging").mkdir(parents=True, exist_ok=True)
    shutil.copy(staging / "_marina__sources.yml", project / "models" / "staging")
    for stream in streams:
        t = sdb.CATALOG[stream]
        system, table = t.system, t.name
        for layer, stem in (("staging", f"stg_{system}__{table}"), ("dw", f"dw_{stream}")):
            dest = project / "models" / layer / system
            dest.mkdir(parents=True, exist_ok=True)
            for suffix in (".sql", ".yml"):
                shutil.copy(TRANSFORM / "models" / layer / system / (stem + suffix), dest)
    # the generated sources files, trimmed to the tables above (YAML parsing is most of dbt's parse)
    for system in {sdb.CATALOG[s].system for s in streams}:
        name = f"_{system}__sources.yml"
        doc = yaml.safe_load((staging / system / name).read_text())
        wanted = {sdb.CATALOG[s].staging_table for s in streams}
        for source in doc["sources"]:
            source["tables"] = [t for t in source["tables"] if t["name"] in wanted]
        (project / "models" / "staging" / system / name).write_text(yaml.safe_dump(doc, sort_keys=False))
    return project


def dw_models(streams: list[str] = MINI_STREAMS) -> list[str]:
    return [f"dw_{s}" for s in streams]


def load(db: Path, stream: str, key: str, rows: list[dict], rejected: list[dict] = (), run_id: str = "run") -> None:
    """One complete export into staging (staging_db.load_export), with the audit row's
    STARTED_AT/FINISHED_AT set to now (UTC), as the tap writes them."""
    import duckdb
    import staging_db as sdb

    sdb.load_export(db, stream, key, rows, rejected=rejected, run_id=run_id)
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    con = duckdb.connect(str(db))
    try:
        con.execute(
            "update main.STG_MARINA_LOAD_AUDIT set STARTED_AT = ?, FINISHED_AT = ? where RUN_ID = ? and TABLE_NAME = ?",
            [now - dt.timedelta(seconds=2), now, run_id, stream],
        )
    finally:
        con.close()


def run_cli(args: list[str], env: dict, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([MARINA_OPS, *args], check=False, env=env, capture_output=True, text=True, timeout=timeout)
