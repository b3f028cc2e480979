"""`stackctl doctor`'s end-to-end checks of a PhotoPrism site through the real proxy, each a pass or a
fail that says what to change. Every route and answer is PhotoPrism's own (internal/api/*.go):
POST /api/v1/session logs in; its `config.siteUrl` is PHOTOPRISM_SITE_URL; POST /api/v1/oauth/token
with grant_type=password makes an app password, which GET /api/v1/users/<uid>/sessions lists with the
ClientIP PhotoPrism recorded; uploads go to POST /api/v1/users/<uid>/upload/<token>; WebDAV is
/originals; /favicon.ico is a static file that answers Range."""

from __future__ import annotations

import base64
import contextlib
import http.client
import json
import ssl
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

from stackctl.health.doctor_route import Answer, Route, request
from stackctl.health.probe import websocket_check

Outcome = Literal["pass", "fail", "skip"]
Failure = (OSError, ssl.SSLError, http.client.HTTPException)
CHUNK = bytes(1 << 20)
UID_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")


@dataclass(frozen=True)
class Finding:
    check: str
    outcome: Outcome
    detail: str
    fix: str = ""

    def as_json(self) -> dict[str, str]:
        return {"check": self.check, "outcome": self.outcome, "detail": self.detail, "fix": self.fix}


@dataclass(frozen=True)
class Diagnosis:
    domain: str
    caller: str  # where the requests came from
    findings: list[Finding]

    @property
    def ok(self) -> bool:
        return all(f.outcome != "fail" for f in self.findings)

    def as_json(self) -> dict[str, object]:
        return {"site": self.domain, "ok": self.ok, "caller": self.caller,
                "checks": [f.as_json() for f in self.findings]}  # fmt: skip


@dataclass(frozen=True)
class Login:
    token: str
    uid: str
    site_url: str


def _json(answer: Answer) -> Any:
    try:
        return json.loads(answer.body)
    except ValueError:
        return None


def _auth(token: str) -> dict[str, str]:
    return {"X-Auth-Token": token}


def log_in(route: Route, user: str, password: str) -> tuple[Login | None, Finding]:
    body = json.dumps({"username": user, "password": password}).encode()
    try:
        answer = request(route, "POST", "/api/v1/session", body, {"Content-Type": "application/json"})
    except Failure as e:
        return None, Finding("login", "fail", f"POST /api/v1/session failed: {e}", "run stackctl status")
    document = _json(answer) if answer.status == 200 else None
    if not isinstance(document, dict):
        fix = (
            f"the admin password in secrets/ no longer logs in {user}; set it with stackctl secrets rotate admin"
            if answer.status == 401
            else "run stackctl status, and look at PhotoPrism's log"
        )
        detail = f"{user} from {route.shown}: POST /api/v1/session -> {answer.status}"
        return None, Finding("login", "fail", detail, fix)
    user_doc, config = document.get("user") or {}, document.get("config") or {}
    uid, token = str(user_doc.get("UID", "")), str(document.get("access_token", ""))
    if not (len(uid) == 16 and set(uid) <= UID_CHARS and token):
        return None, Finding("login", "fail", "PhotoPrism's session answer has no user UID or token",
                             "is this PhotoPrism? look at sites[].photoprism.image")  # fmt: skip
    login = Login(token, uid, str(config.get("siteUrl", "")))
    return login, Finding("login", "pass", f"{user} logs in from {route.shown}")


def log_out(route: Route, token: str) -> None:
    """End a session the doctor opened (DELETE /api/v1/session); best effort, it expires anyway."""
    with contextlib.suppress(*Failure):
        request(route, "DELETE", "/api/v1/session", None, _auth(token))


def site_url_check(login: Login, expected: str) -> Finding:
    if login.site_url.rstrip("/") == expected.rstrip("/"):
        return Finding("site_url", "pass", f"PhotoPrism's site URL is {login.site_url}")
    return Finding(
        "site_url", "fail", f"PhotoPrism's site URL is {login.site_url or 'empty'}, not {expected}",
        "its share links and WebDAV URLs point elsewhere: remove PHOTOPRISM_SITE_URL (SiteUrl) from "
        "storage/config/options.yml, then run stackctl up",
    )  # fmt: skip


def websocket(route: Route) -> Finding:
    check = websocket_check(route.target)
    fix = "" if check.ok else "PhotoPrism's live updates need it: run stackctl status, then stackctl up"
    return Finding("websocket", "pass" if check.ok else "fail", check.detail, fix)


def range_check(route: Route) -> Finding:
    try:
        answer = request(route, "GET", "/favicon.ico", None, {"Range": "bytes=0-15"})
    except Failure as e:
        return Finding("range", "fail", f"GET /favicon.ico with Range failed: {e}", "run stackctl status")
    ok = answer.status == 206 and answer.header("Content-Range").startswith("bytes 0-15/")
    detail = f"GET /favicon.ico, Range bytes=0-15 -> {answer.status} {answer.header('Content-Range')}".strip()
    fix = "" if ok else "videos cannot seek and downloads cannot resume: look for a proxy in front of this one"
    return Finding("range", "pass" if ok else "fail", detail, fix)


def _basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def webdav_check(route: Route, user: str, password: str, nonce: str) -> Finding:
    """PROPFIND, then a hidden file PUT, MOVEd and DELETEd in /originals (PhotoPrism skips hidden files)."""
    auth, first = _basic(user, password), f"/originals/.stackctl-doctor-{nonce}"
    moved = f"{first}-moved"
    port = "" if route.target.https_port == 443 else f":{route.target.https_port}"
    steps: list[tuple[str, str, dict[str, str], tuple[int, ...]]] = [
        ("PROPFIND", "/originals/", {"Depth": "1"}, (207,)),
        ("PUT", first, {"Content-Type": "text/plain"}, (201, 204)),
        ("MOVE", first, {"Destination": f"https://{route.target.domain}{port}{moved}"}, (201, 204)),
        ("DELETE", moved, {}, (204,)),
    ]
    done = []
    try:
        for method, path, headers, wanted in steps:
            body = b"stackctl doctor\n" if method == "PUT" else None
            answer = request(route, method, path, body, {**auth, **headers})
            if answer.status not in wanted:
                _remove_quietly(route, auth, (first, moved))
                return Finding("webdav", "fail", f"{method} {path} -> {answer.status}", _webdav_fix(answer.status))
            done.append(f"{method} {answer.status}")
    except Failure as e:
        _remove_quietly(route, auth, (first, moved))
        return Finding("webdav", "fail", f"WebDAV on /originals failed: {e}", "run stackctl status")
    return Finding("webdav", "pass", "/originals: " + ", ".join(done))


def _webdav_fix(status: int) -> str:
    if status == 401:
        return "PhotoPrism refused the admin over WebDAV: allow WebDAV for the account (Settings > Account)"
    if status in (404, 405):
        return "WebDAV looks disabled: remove PHOTOPRISM_DISABLE_WEBDAV from sites[].photoprism.env"
    if status in (403, 413):
        return "the proxy refused the request: look at limits: and exposure: in stack.yaml"
    return "look at PhotoPrism's log"


def _remove_quietly(route: Route, auth: dict[str, str], paths: tuple[str, ...]) -> None:
    for path in paths:
        with contextlib.suppress(*Failure):
            request(route, "DELETE", path, None, auth)


def _multipart(size: int, name: str, boundary: str) -> tuple[int, Iterator[bytes]]:
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="{name}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()

    def parts() -> Iterator[bytes]:
        yield head
        left = size
        while left:
            piece = CHUNK if left >= len(CHUNK) else CHUNK[:left]
            left -= len(piece)
            yield piece
        yield tail

    return len(head) + size + len(tail), parts()


def upload_check(route: Route, login: Login, size: int, token: str, timeout: float) -> Finding:
    """A streamed upload of `size` bytes to the admin's upload folder (the caller removes it)."""
    boundary = f"stackctl-doctor-{token}"
    length, parts = _multipart(size, f"stackctl-doctor-{token}.bin", boundary)
    headers = {**_auth(login.token), "Content-Type": f"multipart/form-data; boundary={boundary}",
               "Content-Length": str(length)}  # fmt: skip
    path = f"/api/v1/users/{login.uid}/upload/{token}"
    started = time.monotonic()
    try:
        answer = request(route.slower(timeout), "POST", path, parts, headers)
    except Failure as e:
        return Finding("upload", "fail", f"{_size(size)} to {path} broke off after "
                       f"{time.monotonic() - started:.0f}s: {e}", _UPLOAD_FIX)  # fmt: skip
    seconds = time.monotonic() - started
    if answer.status != 200:
        return Finding("upload", "fail", f"{_size(size)} -> {answer.status} after {seconds:.0f}s", _UPLOAD_FIX)
    rate = size / (1 << 20) / max(seconds, 0.001)
    return Finding("upload", "pass", f"{_size(size)} in {seconds:.1f}s ({rate:.0f} MiB/s)")


_UPLOAD_FIX = (
    "raise limits.upload in stack.yaml if it took that long, then run stackctl up; else look at PhotoPrism's log"
)


def _size(size: int) -> str:
    for unit, factor in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= factor and size % factor == 0:
            return f"{size // factor} {unit}"
    return f"{size} bytes"
