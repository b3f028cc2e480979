"""A request the app takes and then drops (it crashed or is stopping: the connection is reset before an
answer) gets the site's maintenance answer, 503 with Retry-After, and is not sent to the app again. An
app's own 502 reaches the client as it is. Run by the real haproxy binary (2.6, 3.0, 3.2) on loopback."""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.guard_client import https_at
from tests.helpers import free_port, native_site
from tests.native_versions import HAPROXY_VERSIONS

DOMAIN = "photos.example.com"
CLOSE = b"Connection: close\r\n\r\n"
HEALTHY = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n" + CLOSE + b"{}"
OWN_502 = b"HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/plain\r\nContent-Length: 8\r\n" + CLOSE + b"upstream"


class DroppingApp:
    """Answers PhotoPrism's health check; resets the connection of a request for /drop, answers its own
    502 to /own-502, and counts the /drop requests it was sent."""

    def __init__(self, port: int) -> None:
        self.listener = socket.create_server(("127.0.0.1", port))
        self.dropped = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            with conn:
                head = b""
                while b"\r\n\r\n" not in head:
                    chunk = conn.recv(4096)
                    if not chunk:
                        break
                    head += chunk
                if head.startswith(b"GET /drop "):
                    self.dropped += 1
                    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # an RST
                else:
                    conn.sendall(OWN_502 if head.startswith(b"GET /own-502 ") else HEALTHY)


@contextlib.contextmanager
def dropping_app() -> Iterator[tuple[int, DroppingApp]]:
    port = free_port()
    app = DroppingApp(port)
    try:
        yield port, app
    finally:
        app.listener.close()


@pytest.mark.parametrize("image", HAPROXY_VERSIONS)
def test_a_request_the_app_drops_gets_the_maintenance_answer_once(image: str | None, tmp_path: Path) -> None:
    with dropping_app() as (port, app), native_site(tmp_path, [DOMAIN], {}, image=image, backend=port) as site:

        def get(path: str) -> tuple[int, dict[str, str], bytes]:
            return https_at(site.public, site.https, "127.0.0.1", DOMAIN, str(site.cafile), "GET", path)

        status, headers, body = get("/drop")
        assert (status, headers.get("retry-after")) == (503, "5"), (status, headers, body[:200])
        assert headers.get("cache-control") == "no-store"  # as the other maintenance answers
        assert b"will be back in a moment" in body
        assert app.dropped == 1  # not retried: the app may have acted on it

        status, headers, body = get("/own-502")
        assert (status, body) == (502, b"upstream") and "retry-after" not in headers
