"""Telling a person when the stack needs one: a webhook (generic JSON, ntfy or Gotify) and/or e-mail, as
stack.yaml's `notify:` says, with the credentials of secrets/notify.env. Each event is sent once: the
keys of the events sent are kept in notified.json until the event is over, so a failure that lasts
is not sent again at every run, and one that comes back is."""

from __future__ import annotations

import json
import smtplib
import socket
import ssl
import urllib.error
import urllib.request
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

from stackctl.config.layout import StackPaths
from stackctl.config.notify_spec import NotifySettings
from stackctl.config.secrets import read_env_file
from stackctl.config.spec import StackSpec
from stackctl.core.clock import timestamp
from stackctl.core.errors import InvalidInput, OperationFailed
from stackctl.core.fsio import PRIVATE_FILE_MODE, MiB, atomic_write, read_user_text

SEND_TIMEOUT_S = 10
NOTIFY_ENV = "notify.env"
MIN_SECRET_CHARS = 6  # shorter values are too common to blank out of a message


@dataclass(frozen=True)
class Event:
    key: str  # the same problem has the same key, run after run
    title: str
    detail: str
    command: str  # what to run about it
    site: str | None = None


@dataclass(frozen=True)
class Message:
    subject: str
    text: str


def _secret_values(paths: StackPaths) -> list[str]:
    """Every value of every env file in secrets/: blanked out of a message, whatever produced it."""
    values: list[str] = []
    for path in sorted(paths.secrets.rglob("*.env")) if paths.secrets.is_dir() else []:
        values += [v for v in read_env_file(path).values() if len(v) >= MIN_SECRET_CHARS]
    return sorted(values, key=len, reverse=True)


def message(paths: StackPaths, spec: StackSpec, event: Event) -> Message:
    where = f"the stack {spec.name} in {paths.root.resolve()} on {socket.gethostname()}"
    lines = [event.title, f"Stack: {where}"]
    if event.site:
        lines.append(f"Site: {event.site}")
    lines += ["", event.detail, "", f"Run: {event.command}"]
    text, subject = "\n".join(lines) + "\n", f"stackctl {spec.name}: {event.title}"
    for secret in _secret_values(paths):
        text, subject = text.replace(secret, "[secret]"), subject.replace(secret, "[secret]")
    return Message(subject, text)


def _credentials(paths: StackPaths) -> dict[str, str]:
    path = paths.secrets / NOTIFY_ENV
    return read_env_file(path) if path.exists() or path.is_symlink() else {}


def _post(url: str, body: bytes, headers: dict[str, str]) -> None:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=SEND_TIMEOUT_S, context=ssl.create_default_context()) as answer:
            answer.read(64 * 1024)
    except urllib.error.HTTPError as e:
        raise OperationFailed(
            f"the webhook answered {e.code} {e.reason}", "check notify.webhook and WEBHOOK_TOKEN"
        ) from None
    except (urllib.error.URLError, OSError) as e:
        why = getattr(e, "reason", e)
        raise OperationFailed(f"the webhook could not be reached: {why}", "check notify.webhook") from None


def send_webhook(
    settings: NotifySettings, credentials: dict[str, str], spec: StackSpec, event: Event, text: Message
) -> None:
    assert settings.webhook is not None
    token = credentials.get("WEBHOOK_TOKEN", "")
    if settings.format == "ntfy":
        headers = {"Title": text.subject, "Priority": "high", "Tags": "warning", "Content-Type": "text/plain"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        _post(settings.webhook, text.text.encode(), headers)
        return
    if settings.format == "gotify":
        if not token:
            raise InvalidInput(
                "Gotify needs an application token", f"put WEBHOOK_TOKEN=<token> in secrets/{NOTIFY_ENV}"
            )
        body = {"title": text.subject, "message": text.text, "priority": 8}
        _post(settings.webhook, json.dumps(body).encode(), {"Content-Type": "application/json", "X-Gotify-Key": token})
        return
    body_json = {
        "stack": spec.name,
        "event": event.key,
        "site": event.site,
        "title": event.title,
        "message": text.text,
        "command": event.command,
        "time": timestamp(),
    }
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    _post(settings.webhook, json.dumps(body_json).encode(), headers)


def send_mail(settings: NotifySettings, credentials: dict[str, str], text: Message) -> None:
    assert settings.email is not None and settings.smtp is not None
    smtp = settings.smtp
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = smtp.sender, settings.email, text.subject
    mail.set_content(text.text)
    try:
        if smtp.security == "tls":
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                smtp.host, smtp.port, timeout=SEND_TIMEOUT_S, context=ssl.create_default_context()
            )
        else:
            client = smtplib.SMTP(smtp.host, smtp.port, timeout=SEND_TIMEOUT_S)
        with client:
            if smtp.security == "starttls":
                client.starttls(context=ssl.create_default_context())
            if credentials.get("SMTP_USER"):
                client.login(credentials["SMTP_USER"], credentials.get("SMTP_PASSWORD", ""))
            client.send_message(mail)
    except (smtplib.SMTPException, OSError) as e:
        raise OperationFailed(
            f"the mail to {settings.email} could not be sent: {type(e).__name__}: {e}"[:300],
            f"check notify.smtp and SMTP_USER/SMTP_PASSWORD in secrets/{NOTIFY_ENV}",
        ) from None


def send(paths: StackPaths, spec: StackSpec, event: Event) -> list[str]:
    """The event to every channel; returns what could not be sent (each channel is tried)."""
    settings = spec.notify
    if settings is None:
        raise InvalidInput("stack.yaml has no notify:", "add notify: {webhook: URL} or notify: {email: ..., smtp: ...}")
    credentials = _credentials(paths)
    text = message(paths, spec, event)
    problems = []
    if settings.webhook is not None:
        try:
            send_webhook(settings, credentials, spec, event, text)
        except (OperationFailed, InvalidInput) as e:
            problems.append(f"webhook: {e.message}")
    if settings.email is not None:
        try:
            send_mail(settings, credentials, text)
        except OperationFailed as e:
            problems.append(f"e-mail: {e.message}")
    return problems


def state_file(paths: StackPaths) -> Path:
    return paths.root / "notified.json"


def _sent_keys(paths: StackPaths) -> dict[str, str]:
    path = state_file(paths)
    if not path.exists():
        return {}
    try:
        data = json.loads(read_user_text(path, MiB, "", f"delete {path.name}"))
    except json.JSONDecodeError:
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


@dataclass(frozen=True)
class Notified:
    sent: list[str]  # the keys of the events sent now
    problems: list[str]  # what could not be sent (tried again at the next run)


def notify_once(paths: StackPaths, spec: StackSpec, current: list[Event], scope: set[str]) -> Notified:
    """Send each of `current` not sent before. A key under `scope` (prefixes of the keys this run judged)
    that is not current any more is forgotten: that problem is over, and is sent again if it comes back."""
    if spec.notify is None:
        return Notified([], [])
    keys = {event.key for event in current}
    sent = {k: v for k, v in _sent_keys(paths).items() if k in keys or not k.startswith(tuple(scope))}
    now, problems = [], []
    for event in current:
        if event.key in sent:
            continue
        failed = send(paths, spec, event)
        if failed:
            problems += failed
        else:
            sent[event.key] = timestamp()
            now.append(event.key)
    atomic_write(state_file(paths), json.dumps(sent, indent=1, sort_keys=True) + "\n", PRIVATE_FILE_MODE)
    return Notified(now, problems)
