"""HTTPS verification over a real TLS handshake: chain, SNI, hostname, version, ALPN, status, HSTS,
the :80 redirect, a WebSocket upgrade, and whether the served certificate is the one on disk."""

from __future__ import annotations

import base64
import hashlib
import http.client
import os
import socket
import ssl
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from cryptography import x509

from stackctl.certs.inspect import serial_hex
from stackctl.core.clock import Deadline
from stackctl.core.errors import OperationFailed
from stackctl.health.tls_group import negotiated_group

WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


@dataclass
class ProbeResult:
    url: str
    checks: list[Check] = field(default_factory=list)
    tls_version: str | None = None
    tls_group: str | None = None  # the key exchange group, e.g. X25519MLKEM768
    alpn: str | None = None
    served_serial: str | None = None

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)

    def failures(self) -> list[Check]:
        return [c for c in self.checks if not c.ok]

    def failed_text(self) -> str:
        """The failed checks in one line, e.g. `status (GET /api/v1/status -> 503)`."""
        return ", ".join(f"{c.name} ({c.detail})" for c in self.failures())

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "url": self.url,
            "tls_version": self.tls_version,
            "tls_group": self.tls_group,
            "alpn": self.alpn,
            "served_serial": self.served_serial,
            "checks": [asdict(c) for c in self.checks],
        }


@dataclass(frozen=True)
class Target:
    address: str  # where to connect (loopback for a stack published on all addresses)
    domain: str  # SNI, Host header, hostname check
    https_port: int
    http_port: int
    cafile: str | None  # None: the system trust store
    expected_serial: str | None = None
    timeout: float = 5.0
    http3: bool = False  # HAProxy listens for QUIC on the HTTPS port too
    # What the app behind the name is asked: PhotoPrism's status API must answer 200 and its WebSocket
    # upgrade; another app (an upstream site) its health path with 2xx/3xx, or `/` with anything but 5xx.
    status_path: str = "/api/v1/status"
    websocket: bool = True
    strict_status: bool = True

    @property
    def url(self) -> str:
        port = "" if self.https_port == 443 else f":{self.https_port}"
        return f"https://{self.domain}{port}/"


def _context(target: Target, alpn: list[str]) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=target.cafile) if target.cafile else ssl.create_default_context()
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_alpn_protocols(alpn)
    return ctx


def _tls_socket(target: Target, alpn: list[str]) -> ssl.SSLSocket:
    raw = socket.create_connection((target.address, target.https_port), timeout=target.timeout)
    try:
        return _context(target, alpn).wrap_socket(raw, server_hostname=target.domain)
    except BaseException:
        raw.close()
        raise


def _http_over(tls: ssl.SSLSocket, target: Target) -> http.client.HTTPConnection:
    conn = http.client.HTTPConnection(target.address, target.https_port, timeout=target.timeout)
    conn.sock = tls
    return conn


def _host_header(target: Target, port: int, default: int) -> str:
    return target.domain if port == default else f"{target.domain}:{port}"


def https_request(
    target: Target, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, bytes]:
    """One request over a verified TLS connection to the target: (status, body). Raises OSError,
    ssl.SSLError or http.client.HTTPException."""
    with _tls_socket(target, ["http/1.1"]) as tls:
        conn = _http_over(tls, target)
        host = {"Host": _host_header(target, target.https_port, 443)}
        conn.request(method, path, body=body, headers={**host, **(headers or {})})
        response = conn.getresponse()
        return response.status, response.read()


def _handshake(target: Target, result: ProbeResult) -> bool:
    try:
        with _tls_socket(target, ["h2", "http/1.1"]) as tls:
            result.tls_version = tls.version()
            result.alpn = tls.selected_alpn_protocol()
            der = tls.getpeercert(binary_form=True)
    except ssl.SSLCertVerificationError as e:
        result.checks.append(Check("certificate", False, f"not trusted for {target.domain}: {e.verify_message}"))
        return False
    except (OSError, ssl.SSLError) as e:
        result.checks.append(
            Check("certificate", False, f"TLS handshake with {target.address}:{target.https_port} failed: {e}")
        )
        return False
    if der is not None:
        result.served_serial = serial_hex(x509.load_der_x509_certificate(der))
    result.checks.append(Check("certificate", True, f"trusted, valid for {target.domain}"))
    result.tls_group = negotiated_group(target.address, target.https_port, target.domain, target.timeout)
    version = str(result.tls_version) + (f", group {result.tls_group}" if result.tls_group else "")
    result.checks.append(Check("tls_version", result.tls_version in ("TLSv1.2", "TLSv1.3"), version))
    result.checks.append(Check("alpn", result.alpn == "h2", f"negotiated {result.alpn or 'nothing'}"))
    return True


def _status(target: Target, result: ProbeResult) -> None:
    try:
        with _tls_socket(target, ["http/1.1"]) as tls:
            conn = _http_over(tls, target)
            conn.request("GET", target.status_path, headers={"Host": _host_header(target, target.https_port, 443)})
            response = conn.getresponse()
            response.read()
    except (OSError, ssl.SSLError, http.client.HTTPException) as e:
        result.checks.append(Check("status", False, f"GET {target.status_path} failed: {e}"))
        return
    ok = _status_ok(target, response.status)
    result.checks.append(Check("status", ok, f"GET {target.status_path} -> {response.status}"))
    hsts = response.getheader("Strict-Transport-Security")
    result.checks.append(Check("hsts", bool(hsts and "max-age=" in hsts), hsts or "no Strict-Transport-Security"))


def _status_ok(target: Target, status: int) -> bool:
    if target.strict_status:
        return status == 200
    return 200 <= status < 400 if target.status_path != "/" else status < 500


def _redirect(target: Target, result: ProbeResult) -> None:
    conn = http.client.HTTPConnection(target.address, target.http_port, timeout=target.timeout)
    try:
        conn.request("GET", "/", headers={"Host": _host_header(target, target.http_port, 80)})
        response = conn.getresponse()
        response.read()
    except (OSError, http.client.HTTPException) as e:
        result.checks.append(Check("redirect", False, f"http://{target.domain}:{target.http_port}/ failed: {e}"))
        return
    finally:
        conn.close()
    location = response.getheader("Location") or ""
    ok = response.status in (301, 308) and location.startswith(target.url.rstrip("/"))
    result.checks.append(Check("redirect", ok, f":{target.http_port} -> {response.status} {location}".strip()))


def _websocket(target: Target, result: ProbeResult) -> None:
    key = base64.b64encode(os.urandom(16)).decode()
    expected = base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()
    try:
        with _tls_socket(target, ["http/1.1"]) as tls:
            conn = _http_over(tls, target)
            conn.request(
                "GET",
                "/api/v1/ws",
                headers={
                    "Host": _host_header(target, target.https_port, 443),
                    "Upgrade": "websocket",
                    "Connection": "Upgrade",
                    "Sec-WebSocket-Key": key,
                    "Sec-WebSocket-Version": "13",
                },
            )
            response = conn.getresponse()
    except (OSError, ssl.SSLError, http.client.HTTPException) as e:
        result.checks.append(Check("websocket", False, f"upgrade on /api/v1/ws failed: {e}"))
        return
    ok = response.status == 101 and response.getheader("Sec-WebSocket-Accept") == expected
    result.checks.append(Check("websocket", ok, f"upgrade on /api/v1/ws -> {response.status}"))


def websocket_check(target: Target) -> Check:
    """The WebSocket upgrade on /api/v1/ws alone."""
    result = ProbeResult(url=target.url)
    _websocket(target, result)
    return result.checks[0]


def probe(target: Target) -> ProbeResult:
    result = ProbeResult(url=target.url)
    if not _handshake(target, result):
        return result
    _status(target, result)
    _redirect(target, result)
    if target.websocket:
        _websocket(target, result)
    if target.http3:
        _http3(target, result)
    if target.expected_serial is not None:
        same = result.served_serial == target.expected_serial
        detail = f"serving {result.served_serial}" + ("" if same else f", on disk {target.expected_serial}")
        result.checks.append(Check("served_certificate", same, detail))
    return result


def _http3(target: Target, result: ProbeResult) -> None:
    from stackctl.health.h3 import h3_get  # aioquic loads only for a stack that serves HTTP/3

    try:
        answer = h3_get(
            target.address, target.https_port, target.domain, target.cafile, target.timeout, target.status_path
        )
    except (OSError, ssl.SSLError, ValueError) as e:
        result.checks.append(Check("http3", False, f"no HTTP/3 answer on UDP {target.https_port}: {type(e).__name__}"))
        return
    serial_ok = target.expected_serial is None or answer.serial == target.expected_serial
    detail = f"h3 GET {target.status_path} -> {answer.status}, serving {answer.serial}"
    if not serial_ok:
        detail += f", on disk {target.expected_serial}"
    result.checks.append(Check("http3", _status_ok(target, answer.status) and serial_ok, detail))


def served_serial(target: Target) -> str | None:
    """The serial of the certificate served for the domain right now (hex), or None if unreachable.
    It asks what is served, not whether it is trusted: a temporary certificate has a serial too."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    try:
        with (
            socket.create_connection((target.address, target.https_port), timeout=target.timeout) as raw,
            ctx.wrap_socket(raw, server_hostname=target.domain) as tls,
        ):
            der = tls.getpeercert(binary_form=True)
    except (OSError, ssl.SSLError):
        return None
    return serial_hex(x509.load_der_x509_certificate(der)) if der else None


def probe_until(target: Target, seconds: float, every: float = 0.25) -> ProbeResult:
    """Probe until every check passes or `seconds` are up (HAProxy marks PhotoPrism UP after its checks)."""
    end = time.monotonic() + seconds
    while True:
        result = probe(target)
        if result.ok or time.monotonic() >= end:
            return result
        time.sleep(every)


def wait_http_answers(address: str, port: int, host: str, deadline: Deadline) -> None:
    """Return once an HTTP request to the published port gets any HTTP answer. A running container is
    not yet a listening proxy: until HAProxy binds, Docker's port forwarder accepts and then resets."""
    last = "no answer"
    while not deadline.expired():
        conn = http.client.HTTPConnection(address, port, timeout=2)
        try:
            conn.request("GET", "/", headers={"Host": host})
            conn.getresponse().read()
            return
        except (OSError, http.client.HTTPException) as e:
            last = str(e) or type(e).__name__
        finally:
            conn.close()
        time.sleep(0.2)
    raise OperationFailed(
        f"timed out after {deadline.seconds:.0f}s waiting for HAProxy to answer on {address}:{port} ({last})",
        "look at: docker logs of the haproxy container",
    )
