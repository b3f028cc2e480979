#!/usr/bin/env python3
"""A small HTTP app for the docker tier: the "upstream" of a site (standing in for Jellyfin, a NAS UI, ...).
GET /health answers ok; every other request answers JSON naming the app (UPSTREAM_NAME), the path and
the forwarded headers, so a test can tell which app answered and what HAProxy sent it. With
UPSTREAM_TLS_CERT and UPSTREAM_TLS_KEY (PEM files) it serves HTTPS only, and names the SNI it got."""

import json
import os
import signal
import ssl
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

NAME = os.environ.get("UPSTREAM_NAME", "upstream")
PORT = int(os.environ.get("UPSTREAM_PORT", "8080"))


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def _answer(self, status, payload, content_type="application/json"):
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/health":
            self._answer(200, b"ok\n", "text/plain")
            return
        forwarded = {k: v for k, v in self.headers.items() if k.lower().startswith("x-forwarded") or k == "Host"}
        sni = getattr(self.connection, "sni", None)
        self._answer(200, {"upstream": NAME, "path": self.path, "headers": forwarded, "sni": sni})

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        received = 0
        while received < length:
            chunk = self.rfile.read(min(1 << 16, length - received))
            if not chunk:
                break
            received += len(chunk)
        self._answer(200, {"upstream": NAME, "received": received})


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # as PID 1 nothing else would stop it
    server = ThreadingHTTPServer(("0.0.0.0", PORT), Handler)
    if os.environ.get("UPSTREAM_TLS_CERT"):
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(os.environ["UPSTREAM_TLS_CERT"], os.environ["UPSTREAM_TLS_KEY"])
        ctx.sni_callback = lambda sock, name, _ctx: setattr(sock, "sni", name)
        server.socket = ctx.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
    server.serve_forever()
