"""stack.yaml's `notify:`: where the stack says that something needs a person (a webhook, e-mail).
Credentials live in secrets/notify.env (WEBHOOK_TOKEN, SMTP_USER, SMTP_PASSWORD), never here."""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass
from typing import Any, Literal

from stackctl.config import rules as rule
from stackctl.config.rules import show
from stackctl.core.errors import SpecError

WebhookFormat = Literal["json", "ntfy", "gotify"]
SmtpSecurity = Literal["starttls", "tls", "none"]


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    sender: str
    port: int = 587
    security: SmtpSecurity = "starttls"


@dataclass(frozen=True)
class NotifySettings:
    webhook: str | None = None
    format: WebhookFormat = "json"
    email: str | None = None  # where the mails go
    smtp: SmtpSettings | None = None


def webhook_url(path: str, value: Any) -> str:
    text = rule.string(path, value)
    parts = urllib.parse.urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SpecError(path, f"must be an http:// or https:// URL, got {show(value)}")
    if parts.username or parts.password:
        raise SpecError(
            path, "must not hold a user or password", "put the token in secrets/notify.env as WEBHOOK_TOKEN"
        )
    return text


def mail_address(path: str, value: Any) -> str:
    text = rule.string(path, value)
    local, at, domain = text.partition("@")
    if not at or not local or "." not in domain or any(c in text for c in " <>,;\"'"):
        raise SpecError(path, f"must be one e-mail address such as admin@example.com, got {show(value)}")
    return text


def smtp_host(path: str, value: Any) -> str:
    """A mail server's DNS name, or its IP address."""
    try:
        return rule.ip_address(path, value)
    except SpecError:
        return rule.hostname(path, value)


def _smtp(section: rule.Section) -> SmtpSettings:
    if "host" not in section.raw or "from" not in section.raw:
        raise SpecError(section.key_path("host" if "host" not in section.raw else "from"), "is required for e-mail",
                        "e.g. smtp: {host: smtp.example.com, from: stackctl@example.com}")  # fmt: skip
    smtp = SmtpSettings(
        host=section.take("host", "", smtp_host),
        sender=section.take("from", "", mail_address),
        port=section.take("port", 587, rule.port),
        security=section.take("security", "starttls", rule.choice("starttls", "tls", "none")),
    )
    section.finish()
    return smtp


def notify_settings(section: rule.Section) -> NotifySettings | None:
    if not section.raw:
        return None
    email = section.take("email", None, lambda p, v: None if v is None else mail_address(p, v))
    smtp_section = section.section("smtp")
    smtp = _smtp(smtp_section) if smtp_section.raw else None
    if email is not None and smtp is None:
        raise SpecError(section.key_path("smtp"), "is required with notify.email", "add smtp: {host: ..., from: ...}")
    settings = NotifySettings(
        webhook=section.take("webhook", None, lambda p, v: None if v is None else webhook_url(p, v)),
        format=section.take("format", "json", rule.choice("json", "ntfy", "gotify")),
        email=email,
        smtp=smtp,
    )
    section.finish()
    if settings.webhook is None and settings.email is None:
        raise SpecError(section.path, "names no webhook and no email", "add webhook: URL or email: ADDRESS")
    return settings
