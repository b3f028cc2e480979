"""Limits by path as rendered, run by the real haproxy binary: a slow client is cut off, a large body on
an ordinary path is refused, and uploads stream at any size and pace."""

from __future__ import annotations

import json
import select
import socket
import ssl
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.helpers import NativeSite, native_site
from tests.native_versions import HAPROXY_VERSIONS

DOMAIN = "photos.example.com"
REQUEST_S, BODY_MAX = 2, 64 * 1024
UPLOAD = "/api/v1/users/uqxc08w3d0ej2283/upload/1x7vj3"


@dataclass
class Limited:
    site: NativeSite

    def connect(self) -> ssl.SSLSocket:
        ctx = ssl.create_default_context(cafile=str(self.site.cafile))
        raw = socket.create_connection((self.site.public, self.site.https), timeout=15)
        return ctx.wrap_socket(raw, server_hostname=DOMAIN)


@pytest.fixture(scope="module", params=HAPROXY_VERSIONS)
def limited(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Limited]:
    limits = {"limits": {"request": REQUEST_S, "body_max": "64KiB"}}
    with native_site(tmp_path_factory.mktemp("limits"), [DOMAIN], limits, image=request.param) as site:
        yield Limited(site)


def _trickle(conn: ssl.SSLSocket, data: bytes, every_s: float) -> tuple[float, int | None]:
    """Send `data` a byte at a time until the proxy answers or hangs up: (seconds until then, the answer's
    status or None for a hang-up without one)."""
    start = time.monotonic()
    for byte in data:
        try:
            conn.sendall(bytes([byte]))
        except (ssl.SSLError, OSError):
            return time.monotonic() - start, None
        if select.select([conn], [], [], every_s)[0]:
            answer = _answer(conn)
            if answer != b"nothing yet":
                return time.monotonic() - start, _status_of(answer)
    raise AssertionError("the proxy waited for the whole request")


def _answer(conn: ssl.SSLSocket) -> bytes:
    """What the proxy sent: b"" when it hung up, b"nothing yet" for TLS records without data (tickets)."""
    conn.setblocking(False)
    try:
        return conn.recv(64)
    except ssl.SSLWantReadError:
        return b"nothing yet"
    except (ssl.SSLError, OSError):
        return b""
    finally:
        conn.setblocking(True)


def _status_of(answer: bytes) -> int | None:
    return int(answer.split()[1]) if answer.startswith(b"HTTP/1.1 ") else None


def _status(conn: ssl.SSLSocket) -> int | None:
    conn.settimeout(5)
    try:
        return _status_of(conn.recv(64))
    except (ssl.SSLError, OSError):
        return None


def test_a_client_sending_one_header_byte_per_second_is_cut_off(limited: Limited) -> None:
    head = f"GET /api/v1/status HTTP/1.1\r\nHost: {DOMAIN}\r\nUser-Agent: {'slow' * 10}\r\n\r\n".encode()
    with limited.connect() as conn:
        seconds, status = _trickle(conn, head, every_s=1.0)
    assert REQUEST_S - 0.5 <= seconds <= REQUEST_S + 1.5, f"cut off after {seconds:.1f}s"
    assert status in (408, None)


def test_a_slow_body_on_an_ordinary_path_gets_408(limited: Limited) -> None:
    head = f"POST /api/v1/photos HTTP/1.1\r\nHost: {DOMAIN}\r\nContent-Length: 100\r\n\r\n".encode()
    with limited.connect() as conn:
        conn.sendall(head)
        seconds, status = _trickle(conn, b"x" * 100, every_s=1.0)
    assert seconds <= REQUEST_S + 1.5 and status == 408


def test_a_body_over_body_max_on_an_ordinary_path_gets_413_before_it_is_sent(limited: Limited) -> None:
    with limited.connect() as conn:
        conn.sendall(
            f"POST /api/v1/photos HTTP/1.1\r\nHost: {DOMAIN}\r\nContent-Length: {BODY_MAX + 1}\r\n\r\n".encode()
        )
        assert _status(conn) == 413


def test_an_upload_streams_past_body_max_and_past_the_request_time(limited: Limited) -> None:
    size, parts = 8 * 1024 * 1024, 4
    with limited.connect() as conn:
        conn.sendall(f"POST {UPLOAD} HTTP/1.1\r\nHost: {DOMAIN}\r\nContent-Length: {size}\r\n\r\n".encode())
        for _ in range(parts):  # slower than limits.request in all, which an upload may be
            conn.sendall(b"\0" * (size // parts))
            time.sleep(REQUEST_S / 2)
        conn.settimeout(10)
        reply = b""
        while b"}" not in reply:
            chunk = conn.recv(4096)
            assert chunk, reply
            reply += chunk
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200") and json.loads(body) == {"bytes": size}
