"""Notifications against a local SMTP server (aiosmtpd) and a local HTTP server, through the CLI's
`notify` command (in-process: the same code Airflow's callback and the job wrapper call)."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from marina_ops.cli import main


@pytest.fixture
def notify_env(clean_env, smtp_server, webhook_server):
    clean_env.setenv("MARINA_SMTP_HOST", "127.0.0.1")
    clean_env.setenv("MARINA_SMTP_PORT", str(smtp_server.port))
    clean_env.setenv("MARINA_SMTP_SECURITY", "none")
    clean_env.setenv("MARINA_SMTP_USER", "ops@marina.example")
    clean_env.setenv("MARINA_SMTP_PASSWORD", "right-password")
    clean_env.setenv("MARINA_SMTP_TO", "oncall@marina.example, data@marina.example")
    clean_env.setenv("MARINA_WEBHOOK_URL", webhook_server.url)
    clean_env.setenv("MARINA_WEBHOOK_TOKEN", "tok-123")
    clean_env.setenv("MARINA_WEBHOOK_SECRET", "s3cret")
    clean_env.setenv("MELTANO_ENVIRONMENT", "staging")
    return clean_env


def test_failure_goes_to_mail_and_webhook(notify_env, smtp_server, webhook_server, capsys):
    rc = main(["notify", "--status", "failure", "--job", "marina", "--message", "tap failed: ORA-01017\nline 2"])
    assert rc == 0, capsys.readouterr()
    ((mail_from, rcpts, msg),) = smtp_server.messages
    assert smtp_server.logins == [("ops@marina.example", "right-password")]
    assert mail_from == "ops@marina.example"
    assert rcpts == ["oncall@marina.example", "data@marina.example"]
    assert msg["Subject"] == "marina [staging]: marina FAILED"
    assert msg["X-Marina-Status"] == "failure"
    body = msg.get_content().replace("\r\n", "\n")
    assert "tap failed: ORA-01017\nline 2" in body
    (req,) = webhook_server.requests
    payload = req["json"]
    assert (payload["status"], payload["job"], payload["environment"]) == ("failure", "marina", "staging")
    assert payload["message"] == "tap failed: ORA-01017\nline 2"
    assert payload["title"] == "marina [staging]: marina FAILED" and payload["text"].startswith(payload["title"])
    assert req["headers"]["Authorization"] == "Bearer tok-123"
    assert req["headers"]["Content-Type"] == "application/json"
    expected = hmac.new(b"s3cret", req["body"], hashlib.sha256).hexdigest()
    assert req["headers"]["X-Marina-Signature"] == f"sha256={expected}"


def test_success_is_sent_only_when_asked_for(notify_env, smtp_server, webhook_server, capsys):
    assert main(["notify", "--status", "success", "--job", "marina"]) == 0
    assert smtp_server.messages == [] and webhook_server.requests == []
    assert "not sent: MARINA_NOTIFY_ON=failure" in capsys.readouterr().out
    notify_env.setenv("MARINA_NOTIFY_ON", "failure,success")
    assert main(["notify", "--status", "success", "--job", "marina"]) == 0
    assert [m[2]["Subject"] for m in smtp_server.messages] == ["marina [staging]: marina succeeded"]
    assert [r["json"]["status"] for r in webhook_server.requests] == ["success"]


def test_a_failing_channel_does_not_stop_the_other_and_fails_the_command(
    notify_env, smtp_server, webhook_server, capsys
):
    webhook_server.status = 500
    assert main(["notify", "--status", "failure", "--job", "marina"]) == 1
    assert len(smtp_server.messages) == 1 and len(webhook_server.requests) == 1
    out = capsys.readouterr().out
    assert "by webhook FAILED: RuntimeError: HTTP 500" in out and "server says no" in out
    assert "sent by email" in out


def test_bad_smtp_password_is_reported(notify_env, smtp_server, webhook_server, capsys):
    notify_env.setenv("MARINA_SMTP_PASSWORD", "wrong")
    notify_env.delenv("MARINA_WEBHOOK_URL")
    assert main(["notify", "--status", "failure", "--job", "marina"]) == 1
    assert smtp_server.messages == []
    assert "by email FAILED: SMTPAuthenticationError" in capsys.readouterr().out


def test_no_channel_is_said_not_silent(clean_env, capsys):
    assert main(["notify", "--status", "failure", "--job", "marina"]) == 0
    assert "no channel configured" in capsys.readouterr().out


@pytest.mark.parametrize(
    "name,value,error",
    [
        ("MARINA_NOTIFY_ON", "failure,sometimes", "unknown status sometimes"),
        ("MARINA_SMTP_SECURITY", "tls13", "use starttls, ssl or none"),
        ("MARINA_WEBHOOK_URL", "hooks.example/x", "must be an http(s) URL"),
    ],
)
def test_misconfiguration_fails_before_anything_runs(clean_env, capsys, name, value, error):
    clean_env.setenv("MARINA_SMTP_HOST", "127.0.0.1")
    clean_env.setenv("MARINA_SMTP_TO", "oncall@marina.example")
    clean_env.setenv(name, value)
    assert main(["notify", "--status", "failure", "--job", "marina"]) == 2
    assert error in capsys.readouterr().err


def test_smtp_host_without_recipients_is_an_error(clean_env, capsys):
    clean_env.setenv("MARINA_SMTP_HOST", "127.0.0.1")
    assert main(["report"]) == 2
    assert "MARINA_SMTP_TO" in capsys.readouterr().err


def test_payload_is_json_serialisable_with_a_summary():
    from marina_ops.notify import Notification

    n = Notification(
        "failure", "marina", "x", summary={"started_at": "2025-01-01T00:00:00", "dw": {"rows_inserted": 1}}
    )
    assert json.loads(json.dumps(n.payload()))["summary"]["dw"]["rows_inserted"] == 1


# --- Apprise ------------------------------------------------------------------------------------
def test_apprise_url_reaches_a_local_server(clean_env, webhook_server):
    """Apprise's own JSON service (json://) against the local HTTP server: the same settings reach
    Slack (slack://...) or Microsoft Teams (workflows://...) with their URLs."""
    host_port = webhook_server.url.split("://", 1)[1]
    clean_env.setenv("MARINA_NOTIFY_URLS", f"json://{host_port}")
    clean_env.setenv("MELTANO_ENVIRONMENT", "prod")
    assert main(["notify", "--status", "failure", "--job", "marina", "--message", "molo export late"]) == 0
    (req,) = webhook_server.requests
    assert req["json"]["title"] == "marina [prod]: marina FAILED"
    assert req["json"]["type"] == "failure" and "molo export late" in req["json"]["message"]


def test_apprise_delivery_failure_is_reported(clean_env, capsys):
    from conftest import free_port

    clean_env.setenv("MARINA_NOTIFY_URLS", f"json://127.0.0.1:{free_port()}")  # nothing listens
    assert main(["notify", "--status", "failure", "--job", "marina"]) == 1
    assert "notification (failure) by apprise FAILED" in capsys.readouterr().out


def test_unknown_apprise_url_is_refused_without_showing_it(clean_env, capsys):
    clean_env.setenv("MARINA_NOTIFY_URLS", "json://127.0.0.1:9 nosuchservice://token-abc")
    assert main(["notify", "--status", "failure", "--job", "marina"]) == 2
    err = capsys.readouterr().err
    assert "MARINA_NOTIFY_URLS: URL 2 (nosuchservice://...) is not a URL Apprise knows" in err
    from conftest import REPO

    assert "is not a URL Apprise knows" in (REPO / "docs" / "operations.md").read_text()
    assert "token-abc" not in err
