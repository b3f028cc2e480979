"""How `stackctl doctor` reaches a site through the real proxy: over the published port like any client,
or over HAProxy's doctor listener (a unix socket beside the runtime API) as a test address of its
choosing, which the PROXY protocol header hands to HAProxy as the client's."""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from stackctl.health.probe import Target

MAX_ANSWER = 1 << 20  # the doctor reads small JSON answers; more is not PhotoPrism's


@dataclass(frozen=True)
class Route:
    target: Target  # the site: its name, port, trust anchor, timeout
    socket: Path | None = None  # HAProxy's doctor listener; None: the published port
    source: str | None = None  # the client address claimed on the doctor listener

    @property
    def shown(self) -> str:
        """Where requests come from, for people."""
        if self.socket is None:
            return f"this host, through {self.target.address}:{self.target.https_port}"
        return f"test address {self.source}"

    def slower(self, seconds: float) -> Route:
        return replace(self, target=replace(self.target, timeout=seconds))


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]  # names in lower case
    body: bytes

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")


def proxy_header(source: str, https_port: int) -> bytes:
    """A PROXY protocol v1 line claiming `source` as the client (HAProxy's `accept-proxy`)."""
    address = ipaddress.ip_address(source)
    family, destination = ("TCP4", "127.0.0.1") if address.version == 4 else ("TCP6", "::1")
    return f"PROXY {family} {address} {destination} 40000 {https_port}\r\n".encode()


def _connect(route: Route) -> ssl.SSLSocket:
    target = route.target
    ctx = ssl.create_default_context(cafile=target.cafile) if target.cafile else ssl.create_default_context()
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_alpn_protocols(["http/1.1"])
    if route.socket is None:
        raw = socket.create_connection((target.address, target.https_port), timeout=target.timeout)
    else:
        raw = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        raw.settimeout(target.timeout)
    try:
        if route.socket is not None:
            raw.connect(str(route.socket))
            raw.sendall(proxy_header(route.source or "192.0.2.1", target.https_port))
        return ctx.wrap_socket(raw, server_hostname=target.domain)
    except BaseException:
        raw.close()
        raise


def request(
    route: Route, method: str, path: str, body: bytes | Iterable[bytes] | None = None,
    headers: dict[str, str] | None = None,
) -> Answer:  # fmt: skip
    """One HTTPS request; raises OSError, ssl.SSLError or http.client.HTTPException. An iterable body
    is streamed, and its Content-Length must be in `headers`."""
    target = route.target
    with _connect(route) as tls:
        conn = http.client.HTTPConnection(target.address, target.https_port, timeout=target.timeout)
        conn.sock = tls
        host = target.domain if target.https_port == 443 else f"{target.domain}:{target.https_port}"
        conn.request(method, path, body=body, headers={"Host": host, **(headers or {})})
        response = conn.getresponse()
        answer = response.read(MAX_ANSWER)
        return Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, answer)
