"""Logins through the stack's HTTPS from a client address of the test's choosing: curl in a network
namespace the test created (the edge sees that namespace's address), on this host (127.0.0.1), or from
a loopback address of its own to a native HAProxy (`login_at`)."""

from __future__ import annotations

import http.client
import json
import socket
import ssl
import subprocess

from tests.helpers import require_tool
from tests.netns import Namespace


def https_from(
    namespace: Namespace | None, port: int, domain: str, ca: str, path: str, body: dict[str, str] | None = None
) -> tuple[int, str]:
    """(status, Retry-After or "") of one request: a POST of `body` as JSON, or a GET without one."""
    address = namespace.host_ip if namespace is not None else "127.0.0.1"
    argv = [
        *(namespace.enter if namespace is not None else ()),
        require_tool("curl"), "-sS", "--cacert", ca, "--resolve", f"{domain}:{port}:{address}", "-o", "/dev/null",
        "-w", "%{http_code} %header{retry-after}", "--max-time", "20",
    ]  # fmt: skip
    if body is not None:
        argv += ["-H", "Content-Type: application/json", "--data", json.dumps(body)]
    result = subprocess.run([*argv, f"https://{domain}:{port}{path}"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    status, _, retry_after = result.stdout.partition(" ")
    return int(status), retry_after.strip()


def login_from(namespace: Namespace | None, port: int, domain: str, ca: str, password: str) -> tuple[int, str]:
    return https_from(namespace, port, domain, ca, "/api/v1/session", {"username": "admin", "password": password})


def https_at(
    address: str, port: int, source: str, domain: str, cafile: str, method: str, path: str,
    body: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], bytes]:  # fmt: skip
    """One HTTPS request to address:port from the loopback address `source`: (status, headers, body)."""
    ctx = ssl.create_default_context(cafile=cafile)
    raw = socket.create_connection((address, port), timeout=5, source_address=(source, 0))
    conn = http.client.HTTPSConnection(address, port, context=ctx, timeout=5)
    conn.sock = ctx.wrap_socket(raw, server_hostname=domain)
    payload = json.dumps(body).encode() if body is not None else None
    conn.request(method, path, body=payload, headers={"Host": domain, "Content-Type": "application/json"})
    response = conn.getresponse()
    result = response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    conn.close()
    return result


def login_at(address: str, port: int, source: str, domain: str, cafile: str, password: str) -> int:
    body = {"username": "admin", "password": password}
    return https_at(address, port, source, domain, cafile, "POST", "/api/v1/session", body)[0]
