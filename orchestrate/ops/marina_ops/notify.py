"""Notifications: e-mail (SMTP), a signed webhook (JSON POST) and any service Apprise reaches
(Slack, Microsoft Teams, Telegram, ... one URL each). Each is optional, configured from env.

MARINA_NOTIFY_ON        statuses that notify: failure,warning (default); add success for every run
MARINA_NOTIFY_URLS      Apprise URLs, space separated (https://github.com/caronc/apprise/wiki)
MARINA_SMTP_HOST        SMTP server; e-mail is off when unset
MARINA_SMTP_PORT        default 587 (starttls), 465 (ssl), 25 (none)
MARINA_SMTP_SECURITY    starttls (default) | ssl | none
MARINA_SMTP_USER, MARINA_SMTP_PASSWORD   login (optional)
MARINA_SMTP_FROM        sender (default MARINA_SMTP_USER, else marina-ops@<host name>)
MARINA_SMTP_TO          recipients, comma separated (required with MARINA_SMTP_HOST)
MARINA_WEBHOOK_URL      URL that receives a JSON POST; off when unset
MARINA_WEBHOOK_TOKEN    optional: sent as "Authorization: Bearer <token>"
MARINA_WEBHOOK_SECRET   optional: HMAC-SHA256 of the body, sent as "X-Marina-Signature: sha256=<hex>"
MARINA_NOTIFY_TIMEOUT   seconds per attempt (default 20)
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import smtplib
import socket
import ssl
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from email.message import EmailMessage

from . import env as envmod
from .env import Env

STATUSES = ("success", "warning", "failure")
DEFAULT_NOTIFY_ON = "failure,warning"


@dataclass
class Notification:
    status: str  # success | warning (e.g. a late export, run went on) | failure
    job: str
    message: str
    summary: dict | None = None  # RunSummary.as_dict() when known
    environment: str = ""
    host: str = field(default_factory=socket.gethostname)
    time: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, not {self.status!r}")

    @property
    def title(self) -> str:
        where = f" [{self.environment}]" if self.environment else ""
        outcome = {"failure": "FAILED", "warning": "WARNING", "success": "succeeded"}[self.status]
        return f"marina{where}: {self.job} {outcome}"

    def text(self) -> str:
        return f"{self.title}\n{self.time:%Y-%m-%d %H:%M:%S} UTC on {self.host}\n\n{self.message}".rstrip() + "\n"

    def payload(self) -> dict:
        return {
            "text": self.text(),
            "title": self.title,
            "status": self.status,
            "job": self.job,
            "environment": self.environment,
            "host": self.host,
            "time": self.time.isoformat(),
            "message": self.message,
            "summary": self.summary,
        }


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    security: str
    user: str
    password: str
    sender: str
    recipients: tuple[str, ...]
    timeout: float


@dataclass(frozen=True)
class WebhookSettings:
    url: str
    token: str
    secret: str
    timeout: float


@dataclass(frozen=True)
class AppriseSettings:
    urls: tuple[str, ...]  # each service's own timeouts apply (Apprise URL options cto/rto)


@dataclass(frozen=True)
class NotifySettings:
    notify_on: tuple[str, ...]
    smtp: SmtpSettings | None
    webhook: WebhookSettings | None
    apprise: AppriseSettings | None = None

    @property
    def channels(self) -> list[str]:
        return [
            name for name, cfg in (("email", self.smtp), ("webhook", self.webhook), ("apprise", self.apprise)) if cfg
        ]

    def wants(self, status: str) -> bool:
        return status in self.notify_on


def settings_from_env(env: Env) -> NotifySettings:
    """Raises ValueError for a setting that cannot work (so a misconfiguration is never silent)."""
    notify_on = tuple(w.lower() for w in envmod.words(env, "MARINA_NOTIFY_ON", DEFAULT_NOTIFY_ON))
    unknown = [w for w in notify_on if w not in STATUSES]
    if unknown:
        raise ValueError(f"MARINA_NOTIFY_ON: unknown status {', '.join(unknown)} (use failure, warning, success)")
    timeout = envmod.number(env, "MARINA_NOTIFY_TIMEOUT", 20)
    smtp = None
    if host := envmod.get(env, "MARINA_SMTP_HOST"):
        security = envmod.get(env, "MARINA_SMTP_SECURITY", "starttls").lower()
        if security not in ("starttls", "ssl", "none"):
            raise ValueError(f"MARINA_SMTP_SECURITY={security!r}: use starttls, ssl or none")
        recipients = tuple(envmod.words(env, "MARINA_SMTP_TO"))
        if not recipients:
            raise ValueError("MARINA_SMTP_HOST is set but MARINA_SMTP_TO (recipients) is empty")
        user = envmod.get(env, "MARINA_SMTP_USER")
        smtp = SmtpSettings(
            host=host,
            port=int(envmod.number(env, "MARINA_SMTP_PORT", {"starttls": 587, "ssl": 465, "none": 25}[security])),
            security=security,
            user=user,
            password=envmod.get(env, "MARINA_SMTP_PASSWORD"),
            sender=envmod.get(env, "MARINA_SMTP_FROM") or (user if "@" in user else f"marina-ops@{socket.getfqdn()}"),
            recipients=recipients,
            timeout=timeout,
        )
    webhook = None
    if url := envmod.get(env, "MARINA_WEBHOOK_URL"):
        if not url.lower().startswith(("https://", "http://")):
            raise ValueError(f"MARINA_WEBHOOK_URL must be an http(s) URL, not {url!r}")
        webhook = WebhookSettings(
            url, envmod.get(env, "MARINA_WEBHOOK_TOKEN"), envmod.get(env, "MARINA_WEBHOOK_SECRET"), timeout
        )
    apprise_cfg = None
    if urls := tuple(envmod.get(env, "MARINA_NOTIFY_URLS").split()):
        import apprise  # noqa: PLC0415 - loads every notification service it knows: only when configured

        for i, url in enumerate(urls, start=1):
            if not apprise.Apprise().add(url):  # shown without the URL: it holds tokens
                scheme = url.split("://", 1)[0] if "://" in url else "(no scheme)"
                raise ValueError(
                    f"MARINA_NOTIFY_URLS: URL {i} ({scheme}://...) is not a URL Apprise knows "
                    "(https://github.com/caronc/apprise/wiki)"
                )
        apprise_cfg = AppriseSettings(urls)
    return NotifySettings(notify_on, smtp, webhook, apprise_cfg)


def send_email(n: Notification, cfg: SmtpSettings) -> None:
    msg = EmailMessage()
    msg["Subject"] = n.title
    msg["From"] = cfg.sender
    msg["To"] = ", ".join(cfg.recipients)
    msg["Date"] = n.time.strftime("%a, %d %b %Y %H:%M:%S +0000")
    msg["X-Marina-Status"] = n.status
    msg.set_content(n.text())
    context = ssl.create_default_context()
    if cfg.security == "ssl":
        server = smtplib.SMTP_SSL(cfg.host, cfg.port, timeout=cfg.timeout, context=context)
    else:
        server = smtplib.SMTP(cfg.host, cfg.port, timeout=cfg.timeout)
    with server:
        if cfg.security == "starttls":
            server.starttls(context=context)
        if cfg.user:
            server.login(cfg.user, cfg.password)
        server.send_message(msg)


def webhook_request(n: Notification, cfg: WebhookSettings) -> urllib.request.Request:
    body = json.dumps(n.payload(), default=str).encode("utf-8")
    headers = {"Content-Type": "application/json", "User-Agent": "marina-ops"}
    if cfg.token:
        headers["Authorization"] = f"Bearer {cfg.token}"
    if cfg.secret:
        digest = hmac.new(cfg.secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
        headers["X-Marina-Signature"] = f"sha256={digest}"
    return urllib.request.Request(cfg.url, data=body, headers=headers, method="POST")  # noqa: S310 - http(s) only, checked when read


def send_webhook(n: Notification, cfg: WebhookSettings) -> None:
    try:
        with urllib.request.urlopen(webhook_request(n, cfg), timeout=cfg.timeout) as resp:  # noqa: S310 - as above
            resp.read()
    except urllib.error.HTTPError as exc:
        detail = exc.read()[:300].decode("utf-8", "replace")
        raise RuntimeError(f"HTTP {exc.code} {exc.reason}: {detail}") from exc


def send_apprise(n: Notification, cfg: AppriseSettings) -> None:
    """Every Apprise URL; Apprise logs a failed delivery, this raises when one failed."""
    import apprise  # noqa: PLC0415 - as in settings_from_env

    kinds = {
        "failure": apprise.NotifyType.FAILURE,
        "warning": apprise.NotifyType.WARNING,
        "success": apprise.NotifyType.SUCCESS,
    }
    asset = apprise.AppriseAsset(app_id="marina-ops", app_desc="marina pipeline operations")
    service = apprise.Apprise(asset=asset)
    for url in cfg.urls:
        service.add(url)
    body = f"{n.time:%Y-%m-%d %H:%M:%S} UTC on {n.host}\n\n{n.message}".rstrip()
    if not service.notify(title=n.title, body=body, notify_type=kinds[n.status]):
        raise RuntimeError(f"Apprise could not deliver to every one of its {len(cfg.urls)} URL(s)")


def send(n: Notification, cfg: NotifySettings, log=print) -> list[str]:
    """Send `n` on every configured channel when its status is wanted. Returns the errors (one
    per failed channel); every outcome is logged, including "no channel configured"."""
    if not cfg.wants(n.status):
        log(f"notification ({n.status}) not sent: MARINA_NOTIFY_ON={','.join(cfg.notify_on)}")
        return []
    if not cfg.channels:
        log(
            f"notification ({n.status}) not sent: no channel configured (MARINA_SMTP_HOST, MARINA_WEBHOOK_URL, "
            "MARINA_NOTIFY_URLS)"
        )
        return []
    errors = []
    for name, sender, channel_cfg in (
        ("email", send_email, cfg.smtp),
        ("webhook", send_webhook, cfg.webhook),
        ("apprise", send_apprise, cfg.apprise),
    ):
        if channel_cfg is None:
            continue
        try:
            sender(n, channel_cfg)
            log(f"notification ({n.status}) sent by {name}")
        except (OSError, smtplib.SMTPException, RuntimeError, ValueError) as exc:
            errors.append(f"{name}: {type(exc).__name__}: {exc}")
            log(f"notification ({n.status}) by {name} FAILED: {type(exc).__name__}: {exc}")
    return errors
