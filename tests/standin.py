"""An in-process HTTP stand-in for PhotoPrism: /api/v1/status, the /api/v1/ws upgrade, a header echo and
the login routes (POST /api/v1/session, 401 for a wrong password). Counts requests."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

WEBSOCKET_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
STANDIN_PASSWORD = "the-right-password"
SHARE_TOKEN = "3bt8qvxkh4"  # a share link's token, redeemed at the login route as PhotoPrism's share page does
UPLOAD_ROUTE = re.compile(r"/api/v1/users/[^/]+/upload/[^/]+")  # PhotoPrism's internal/api/users_upload.go


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

    def do_POST(self) -> None:
        """PhotoPrism's login routes: 200 for the password STANDIN_PASSWORD or the token SHARE_TOKEN, 401 for any
        other. Its upload
        route: 200 with the number of bytes received. Anything else: 404."""
        self.server.app_requests.append(dict(self.headers.items()))
        if UPLOAD_ROUTE.fullmatch(self.path):
            self._count_upload()
            return
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        login = self.path in ("/api/v1/session", "/api/v1/sessions")
        sent = json.loads(body or b"{}")
        ok = login and (sent.get("password") == STANDIN_PASSWORD or sent.get("token") == SHARE_TOKEN)
        reply = json.dumps({"id": "session"} if ok else {"error": "Invalid credentials"}).encode()
        self.send_response(200 if ok else 401 if login else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def _count_upload(self) -> None:
        remaining, received = int(self.headers.get("Content-Length", "0")), 0
        while remaining:
            chunk = self.rfile.read(min(remaining, 1 << 20))
            if not chunk:
                break
            received, remaining = received + len(chunk), remaining - len(chunk)
        reply = json.dumps({"bytes": received}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

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
