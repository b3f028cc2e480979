#!/usr/bin/env python3
"""A small HTTP app for the docker tier: the "upstream" of a site (standing in for Jellyfin, a NAS UI, ...).
GET /health answers ok; every other request answers JSON naming the app (UPSTREAM_NAME), the path and
the forwarded headers, so a test can tell which app answered and what HAProxy sent it."""

import json
import os
import signal
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
        self._answer(200, {"upstream": NAME, "path": self.path, "headers": forwarded})

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
    ThreadingHTTPServer(("0.0.0.0", PORT), Handler).serve_forever()
