"""What a user notices through the proxy: trusted HTTPS, redirect, WebSockets, big uploads, headers."""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import socket
import ssl
import time

from stackctl.certs.localca import DEFAULT_CERT_NAME
from tests.default_cert import answer_without_a_known_name, names_of, served_certificate
from tests.docker.conftest import Stack
from tests.wsclient import WebSocket

DOMAIN = "photos.example.com"


def _https(stack: Stack) -> http.client.HTTPSConnection:
    ctx = ssl.create_default_context(cafile=stack.ca)
    conn = http.client.HTTPSConnection(DOMAIN, stack.https, context=ctx, timeout=120)
    conn.sock = ctx.wrap_socket(
        socket.create_connection(("127.0.0.1", stack.https), timeout=120), server_hostname=DOMAIN
    )
    return conn


def test_https_is_trusted_by_the_stack_ca_and_photoprism_is_operational(running_stack: Stack) -> None:
    conn = _https(running_stack)
    conn.request("GET", "/api/v1/status", headers={"Host": DOMAIN})
    response = conn.getresponse()
    # "operational" only when the stand-in logged in to MariaDB with the generated credentials.
    assert response.status == 200 and json.loads(response.read())["status"] == "operational"


def test_http_redirects_to_https(running_stack: Stack) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", running_stack.http, timeout=10)
    conn.request("GET", "/library?x=1", headers={"Host": DOMAIN})
    response = conn.getresponse()
    assert response.status in (301, 308)
    assert response.getheader("Location") == f"https://{DOMAIN}:{running_stack.https}/library?x=1"


def test_forwarded_headers_reach_photoprism(running_stack: Stack) -> None:
    conn = _https(running_stack)
    conn.request("GET", "/api/v1/headers", headers={"Host": DOMAIN, "X-Forwarded-For": "6.6.6.6"})
    seen = json.loads(conn.getresponse().read())
    headers = seen["headers"]
    assert headers["x-forwarded-proto"] == "https"
    forwarded_for = headers["x-forwarded-for"]
    assert "6.6.6.6" not in forwarded_for  # a client cannot spoof its address
    socket.inet_aton(forwarded_for)  # exactly one address: the client as HAProxy saw it
    network = running_stack.client.networks.get(f"{running_stack.name}_photoprism")
    subnet = network.attrs["IPAM"]["Config"][0]["Subnet"]
    prefix = subnet.rsplit(".", 1)[0]
    assert seen["peer"].startswith(prefix)  # the request came from HAProxy on the stack network


def test_websocket_round_trip_survives_20_seconds_idle(running_stack: Stack) -> None:
    ws = WebSocket("127.0.0.1", running_stack.https, DOMAIN, running_stack.ca)
    try:
        assert ws.status == 101
        ws.send(b"hello")
        assert ws.receive() == (0x1, b"hello")
        time.sleep(20)  # the idle time under test (longer than PhotoPrism's 15 s pings), not a wait for a state
        ws.send(b"still there?")
        assert ws.receive() == (0x1, b"still there?")
    finally:
        ws.close()


UPLOAD = "/api/v1/users/uqxc08w3d0ej2283/upload/1x7vj3"  # PhotoPrism's upload route


def test_a_1_gib_upload_at_full_speed_arrives_intact(running_stack: Stack) -> None:
    size, block = 1024 * 1024 * 1024, os.urandom(1024 * 1024)
    digest = hashlib.sha256()
    conn = _https(running_stack)
    conn.putrequest("POST", UPLOAD, skip_host=True)
    conn.putheader("Host", DOMAIN)
    conn.putheader("Content-Length", str(size))
    conn.endheaders()
    for i in range(size // len(block)):
        chunk = block[:-1] + bytes([i % 256])
        digest.update(chunk)
        conn.send(chunk)
    response = conn.getresponse()
    assert response.status == 200
    assert json.loads(response.read()) == {"bytes": size, "sha256": digest.hexdigest()}


def test_a_large_body_on_any_other_path_is_refused_before_it_is_sent(running_stack: Stack) -> None:
    conn = _https(running_stack)
    conn.putrequest("POST", "/api/v1/photos", skip_host=True)
    conn.putheader("Host", DOMAIN)
    conn.putheader("Content-Length", str(200 * 1024 * 1024))
    conn.endheaders()
    assert conn.getresponse().status == 413


def test_a_client_sending_one_header_byte_per_second_is_cut_off_at_the_request_timeout(
    running_stack: Stack,
) -> None:
    ctx = ssl.create_default_context(cafile=running_stack.ca)
    raw = socket.create_connection(("127.0.0.1", running_stack.https), timeout=30)
    head = f"GET /api/v1/status HTTP/1.1\r\nHost: {DOMAIN}\r\nUser-Agent: {'slow' * 20}\r\n\r\n".encode()
    with ctx.wrap_socket(raw, server_hostname=DOMAIN) as conn:
        start, answer = time.monotonic(), b""
        for byte in head:
            conn.sendall(bytes([byte]))
            conn.settimeout(1.0)  # one byte a second, unless the proxy answers or hangs up first
            try:
                answer = conn.recv(64)
                break
            except TimeoutError:
                continue
        seconds = time.monotonic() - start
    assert 9 <= seconds <= 12, f"cut off after {seconds:.1f}s (limits.request is 10s)"
    assert answer.startswith(b"HTTP/1.1 408") or answer == b""


def test_unknown_host_is_not_photoprism(running_stack: Stack) -> None:
    ctx = ssl.create_default_context(cafile=running_stack.ca)
    conn = http.client.HTTPSConnection(DOMAIN, running_stack.https, context=ctx, timeout=10)
    conn.sock = ctx.wrap_socket(socket.create_connection(("127.0.0.1", running_stack.https)), server_hostname=DOMAIN)
    conn.request("GET", "/api/v1/status", headers={"Host": "other.example.net"})
    response = conn.getresponse()
    assert response.status == 404 and b"unknown host" in response.read()


def test_stats_port_is_loopback_only_and_needs_the_password(running_stack: Stack) -> None:
    container = running_stack.container("haproxy")
    bindings = container.attrs["HostConfig"]["PortBindings"]["8404/tcp"]
    assert [b["HostIp"] for b in bindings] == ["127.0.0.1"]
    conn = http.client.HTTPConnection("127.0.0.1", running_stack.stats, timeout=10)
    conn.request("GET", "/metrics")
    assert conn.getresponse().status == 401


def test_a_client_naming_no_site_gets_the_stacks_own_certificate(running_stack: Stack) -> None:
    site = served_certificate(running_stack.https, DOMAIN)
    for servername in (None, "unknown.example.net"):
        unknown = served_certificate(running_stack.https, servername)
        assert names_of(unknown) == {DEFAULT_CERT_NAME} and unknown.serial_number != site.serial_number
        status, body = answer_without_a_known_name(running_stack.https, servername, servername or "127.0.0.1")
        assert status == 404 and b"unknown host" in body
