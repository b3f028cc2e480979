"""An in-process HTTP stand-in for PhotoPrism: /api/v1/status, the /api/v1/ws upgrade and a header echo.
Counts requests."""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

WEBSOCKET_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def do_GET(self) -> None:
        if self.path == "/api/v1/ws" and self.headers.get("Upgrade", "").lower() == "websocket":
            self._accept_websocket()
            return
        if self.path != "/api/v1/status":
            self.server.app_requests.append(dict(self.headers.items()))
        body = json.dumps(
            {"status": "operational"}
            if self.path == "/api/v1/status"
            else {"headers": {k.lower(): v for k, v in self.headers.items()}}
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _accept_websocket(self) -> None:
        """PhotoPrism's /api/v1/ws upgrade (RFC 6455's handshake); the connection then closes."""
        key = self.headers.get("Sec-WebSocket-Key", "")
        accept = base64.b64encode(hashlib.sha1((key + WEBSOCKET_GUID).encode()).digest()).decode()
        self.send_response(101)
        self.send_header("Upgrade", "websocket")
        self.send_header("Connection", "Upgrade")
        self.send_header("Sec-WebSocket-Accept", accept)
        self.end_headers()
        self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        return None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    app_requests: list[dict[str, str]]

    def handle_error(self, request: Any, client_address: Any) -> None:
        return None  # health checks and probes hang up early; that is not a test failure


@contextmanager
def http_standin(port: int) -> Iterator[_Server]:
    server = _Server(("127.0.0.1", port), _Handler)
    server.app_requests = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
