"""Notifications: a renewal that fails for real (its ACME server is not running) reaches a webhook receiver
on 127.0.0.1 and an SMTP server (aiosmtpd), once; the next run of the same failure sends nothing new; no
secret is in a message; `notify test` reaches every channel and says which one does not."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Iterator
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from stackctl.certs.store import CertStore
from tests.certfactory import make_cert
from tests.helpers import free_port, run_cli

DOMAIN = "photos.example.com"
TOKEN = "webhook-token-0123456789"


class Receiver(ThreadingHTTPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.posts: list[tuple[dict[str, str], bytes]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hooks/photos"


class _Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.server.posts.append(({k.lower(): v for k, v in self.headers.items()}, body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


class _Mailbox:
    def __init__(self) -> None:
        self.mails: list[bytes] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.mails.append(envelope.content)
        return "250 OK"


@pytest.fixture
def mailbox() -> Iterator[tuple[_Mailbox, int]]:
    box, port = _Mailbox(), free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    yield box, port
    controller.stop()


def _stack(root: Path, webhook: str, smtp_port: int, fmt: str = "json") -> Path:
    assert run_cli("--dir", str(root), "init", "--domain", DOMAIN).code == 0
    spec = root / "stack.yaml"
    stopped_acme = f"https://127.0.0.1:{free_port()}/dir"  # an ACME server that is not running
    text = spec.read_text().replace("source: local-ca", "source: acme", 1)
    text = text.replace("email: null", "email: admin@example.com", 1)
    text = text.replace("directory: letsencrypt-staging", f"directory: {stopped_acme}", 1)
    smtp = f"{{host: 127.0.0.1, port: {smtp_port}, security: none, from: stackctl@example.com}}"
    notify = f"notify:\n  webhook: {webhook}\n  format: {fmt}\n  email: admin@example.com\n  smtp: {smtp}\n"
    spec.write_text(text + notify)
    (root / "secrets/notify.env").write_text(f"WEBHOOK_TOKEN={TOKEN}\n")
    (root / "secrets/notify.env").chmod(0o600)
    # An ACME certificate with a day left of 90: renewal is due, and the CA cannot be reached.
    now = dt.datetime.now(dt.timezone.utc)
    leaf = make_cert(
        DOMAIN, names=[DOMAIN], not_before=now - dt.timedelta(days=89), not_after=now + dt.timedelta(days=1)
    )
    key = leaf.key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    CertStore(root / "certs").write_site(DOMAIN, leaf.cert, [], key, "acme")
    return root


def _secrets(root: Path) -> list[str]:
    values = []
    for path in (root / "secrets").rglob("*.env"):
        values += [line.split("=", 1)[1] for line in path.read_text().splitlines() if "=" in line]
    return values


def test_a_failed_renewal_is_sent_once_to_the_webhook_and_by_mail(
    tmp_path: Path, receiver: Receiver, mailbox: tuple[_Mailbox, int]
) -> None:
    box, smtp_port = mailbox
    root = _stack(tmp_path / "stack", receiver.url, smtp_port)
    result = run_cli("--dir", str(root), "schedule", "run", "renew")
    assert result.code == 1, result.err  # the renewal failed
    titles = [json.loads(body)["title"] for _, body in receiver.posts]
    assert "Certificate renewal failed" in titles, titles
    assert f"The certificate for {DOMAIN} is due and was not renewed" in titles, titles
    assert all(headers["authorization"] == f"Bearer {TOKEN}" for headers, _ in receiver.posts)
    failed = next(json.loads(b) for _, b in receiver.posts if json.loads(b)["title"] == "Certificate renewal failed")
    assert failed["stack"] == "photoprism" and "Run: stackctl certs renew" in failed["message"]
    assert "127.0.0.1" in failed["message"]  # what went wrong: the CA could not be reached
    subjects = [message_from_bytes(m)["Subject"] for m in box.mails]
    assert "stackctl photoprism: Certificate renewal failed" in subjects and len(box.mails) == len(receiver.posts)
    everything = b"".join(body for _, body in receiver.posts) + b"".join(box.mails)
    assert not [s for s in _secrets(root) if s.encode() in everything]  # no password, no token in a message
    entry = json.loads((root / "schedule.jsonl").read_text().splitlines()[-1])
    assert "renew-failed" in entry["notified"]

    sent = len(receiver.posts), len(box.mails)
    assert run_cli("--dir", str(root), "schedule", "run", "renew").code == 1  # the same failure again
    assert (len(receiver.posts), len(box.mails)) == sent  # nothing new


def test_notify_test_reaches_ntfy_and_names_a_channel_that_fails(
    tmp_path: Path, receiver: Receiver, mailbox: tuple[_Mailbox, int]
) -> None:
    _, smtp_port = mailbox
    root = _stack(tmp_path / "stack", receiver.url, smtp_port, fmt="ntfy")
    result = run_cli("--dir", str(root), "notify", "test")
    assert result.code == 0 and "Sent a test message to the webhook and admin@example.com" in result.out, result.err
    headers, body = receiver.posts[-1]
    assert headers["title"] == "stackctl photoprism: Test message" and b"Nothing needs doing" in body
    spec = root / "stack.yaml"
    spec.write_text(spec.read_text().replace(f"port: {smtp_port}", f"port: {free_port()}"))  # no mail server there
    result = run_cli("--dir", str(root), "notify", "test")
    assert result.code == 1 and "e-mail: the mail to admin@example.com could not be sent" in result.err, result.err
    assert " — " in result.err and TOKEN not in result.err


def test_a_gotify_webhook_without_its_token_is_refused_with_what_to_do(tmp_path: Path, receiver: Receiver) -> None:
    root = _stack(tmp_path / "stack", receiver.url, free_port(), fmt="gotify")
    (root / "secrets/notify.env").write_text("\n")
    result = run_cli("--dir", str(root), "notify", "test")
    assert result.code == 1 and "Gotify needs an application token" in result.err and not receiver.posts
