"""Changes without downtime, under load from clients that reconnect the way a browser does: a config
change is a reload of the same HAProxy container, a rejected one changes nothing, and a PhotoPrism
being recreated shows the maintenance 503 with Retry-After, never a connection error."""

from __future__ import annotations

import json
import socket
import ssl
import time

import pytest

from tests.docker.conftest import Stack
from tests.h2client import H2Load
from tests.helpers import wait_until
from tests.load import FreshConnections, haproxy_log_problems

DOMAIN = "photos.example.com"
ALIAS = "photo.example.com"


def _get(stack: Stack, host: str, path: str = "/api/v1/status", accept: str = "*/*") -> tuple[int, str, str]:
    """One request with SNI and Host `host`, verified against the stack CA: (status, headers, body)."""
    ctx = ssl.create_default_context(cafile=stack.ca)
    request = f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAccept: {accept}\r\nConnection: close\r\n\r\n".encode()
    with (
        socket.create_connection(("127.0.0.1", stack.https), timeout=10) as raw,
        ctx.wrap_socket(raw, server_hostname=host) as tls,
    ):
        tls.sendall(request)
        reply = b""
        while chunk := tls.recv(65536):
            reply += chunk
    head, _, body = reply.decode(errors="replace").partition("\r\n\r\n")
    return int(head[9:12]), head.lower(), body


@pytest.mark.parametrize("bind", ["127.0.0.1", '[127.0.0.1, "::1"]'], ids=["ipv4", "dual-stack"])
def test_a_config_change_is_a_reload_of_the_same_container_and_drops_nothing(
    stack_each_haproxy: Stack, bind: str
) -> None:
    """Dual stack: the apps answer on IPv4 only, on a network that also has IPv6 (Docker's DNS then
    answers AAAA), so the reloaded HAProxy must look them up as IPv4 from its first lookup on."""
    stack = stack_each_haproxy
    stack.edit("bind: 127.0.0.1", f"bind: {bind}")
    stack.up()
    haproxy_id = stack.containers()["haproxy"]
    assert _get(stack, DOMAIN)[0] == 200
    stack.edit("aliases: []", f"aliases: [{ALIAS}]")
    code, out, _ = stack.cli("plan")
    assert code == 0 and "up would: reload haproxy (config changed)" in out

    log_since = int(time.time()) - 1
    with H2Load(stack.https, DOMAIN, stack.ca) as h2, FreshConnections(stack.https, DOMAIN, stack.ca) as fresh:
        wait_until(lambda: h2.stats.ok > 200 and fresh.ok > 10, 30, "load to be served before the change")
        started = time.monotonic()
        out = stack.up()
        wait_until(lambda: h2.stats.ok_after(started) > 300 and fresh.ok_after(started) > 20, 30, "load after")
    assert "reloaded haproxy (config changed)" in out and "recreating" not in out
    assert stack.containers()["haproxy"] == haproxy_id
    assert h2.stats.failures == [], h2.stats.failures[:5]
    assert fresh.failures == [], fresh.failures[:5]
    assert haproxy_log_problems(stack.container("haproxy"), log_since) == []
    assert _get(stack, ALIAS)[0] == 200  # the new setting is live: the alias answers, with a valid certificate


def test_a_config_the_image_rejects_keeps_the_old_one_served_and_drops_nothing(stack: Stack) -> None:
    stack.up()
    cfg = (stack.root / "compose/haproxy/haproxy.cfg").read_text()
    haproxy_id = stack.containers()["haproxy"]
    stack.edit("aliases: []", f"aliases: [{ALIAS}]")
    broken = stack.root / "certs/haproxy/broken.pem"  # haproxy -c refuses the crt folder with this in it
    broken.write_text("-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n")
    with FreshConnections(stack.https, DOMAIN, stack.ca) as fresh:
        wait_until(lambda: fresh.ok > 10, 30, "load to be served before the change")
        code, _, err = stack.cli("up", "--timeout", "60")
        after = fresh.ok
        wait_until(lambda: fresh.ok > after + 10, 30, "load to go on being served")
    assert code == 1 and "rejects the HAProxy configuration" in err and len(err.strip().splitlines()) == 1
    assert (stack.root / "compose/haproxy/haproxy.cfg").read_text() == cfg
    assert stack.containers()["haproxy"] == haproxy_id
    assert fresh.failures == [], fresh.failures[:5]
    assert _get(stack, DOMAIN)[0] == 200


def _maintenance_or_ok(reply: bytes) -> bool:
    head = reply.split(b"\r\n\r\n", 1)[0].lower()
    return reply.startswith(b"HTTP/1.1 200") or (reply.startswith(b"HTTP/1.1 503") and b"\r\nretry-after: " in head)


def test_a_photoprism_being_recreated_shows_the_maintenance_page_never_a_connection_error(stack: Stack) -> None:
    stack.up()
    stack.edit("env: {}", "env: {PHOTOPRISM_READONLY: true}")
    browsers = FreshConnections(
        stack.https, DOMAIN, stack.ca, path="/", media="text/html", acceptable=_maintenance_or_ok
    )
    with browsers, FreshConnections(stack.https, DOMAIN, stack.ca, acceptable=_maintenance_or_ok) as api:
        wait_until(lambda: browsers.ok > 10 and api.ok > 10, 30, "load to be served before the change")
        out = stack.up()
        after = time.monotonic()
        wait_until(lambda: api.ok_after(after) > 20, 30, "load after PhotoPrism is back")
    assert "recreating" in out and "maintenance page" in out
    assert browsers.failures == [] and api.failures == [], (browsers.failures[:3], api.failures[:3])
    assert api.statuses.get(503, 0) > 0, api.statuses  # the window was seen, and answered
    assert _get(stack, DOMAIN)[0] == 200


def test_the_maintenance_page_is_html_for_browsers_and_json_for_api_clients(stack: Stack) -> None:
    stack.up()
    stack.container("photoprism").stop(timeout=2)
    wait_until(lambda: _get(stack, DOMAIN)[0] == 503, 15, "HAProxy to see PhotoPrism down", every=0.2)
    status, head, body = _get(stack, DOMAIN, "/", accept="text/html,application/xhtml+xml,*/*;q=0.8")
    assert status == 503 and "retry-after: 5" in head and "content-type: text/html" in head
    assert "PhotoPrism is starting" in body and DOMAIN in body and 'http-equiv="refresh"' in body
    status, head, body = _get(stack, DOMAIN, accept="application/json")
    assert status == 503 and "retry-after: 5" in head and "content-type: application/json" in head
    assert json.loads(body)["error"] == "PhotoPrism is starting"
