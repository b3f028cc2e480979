"""HTTP/3 with `ports.http3: auto`: on the default test image (Debian sid's 3.2, built with QUIC) the stack
answers h3 with aioquic as the client, announces it with Alt-Svc on h1 and h2, and a hot certificate
swap reaches the QUIC listener; on the Debian 12 image (2.6, no QUIC) nothing about it is rendered."""

from __future__ import annotations

import http.client
import json
import socket
import ssl
from pathlib import Path

import docker
import h2.events

from stackctl.certs.inspect import serial_hex
from stackctl.certs.store import CertStore
from stackctl.health.h3 import h3_get
from tests.docker.conftest import OLDEST_IMAGES, Stack, make_stack
from tests.h2client import _Connection as H2Connection  # one h2 connection of the load client
from tests.helpers import CONTAINER_DATA, hash_tree

DOMAIN = "photos.example.com"


def _alt_svc(stack: Stack, alpn: str) -> str | None:
    ctx = ssl.create_default_context(cafile=stack.ca)
    ctx.set_alpn_protocols([alpn])
    if alpn == "h2":
        conn = H2Connection(stack.https, DOMAIN, stack.ca)
        try:
            conn.send("/api/v1/status")
            while True:
                for event in conn.conn.receive_data(conn.sock.recv(65536)):
                    if isinstance(event, h2.events.ResponseReceived):
                        return dict(event.headers).get(b"alt-svc", b"").decode() or None
        finally:
            conn.close()
    with socket.create_connection(("127.0.0.1", stack.https), timeout=5) as raw:
        tls = ctx.wrap_socket(raw, server_hostname=DOMAIN)
        conn = http.client.HTTPConnection("127.0.0.1")
        conn.sock = tls
        conn.request("GET", "/api/v1/status", headers={"Host": DOMAIN})
        return conn.getresponse().getheader("alt-svc")


def test_h3_answers_is_announced_and_follows_a_hot_certificate_swap(stack: Stack) -> None:
    stack.up()
    compose = (stack.root / "compose/compose.yaml").read_text()
    assert f"127.0.0.1:{stack.https}:8443/udp" in compose
    answer = h3_get("127.0.0.1", stack.https, DOMAIN, stack.ca, 5.0)
    assert answer.status == 200
    expected = f'h3=":{stack.https}"; ma=86400'
    assert answer.alt_svc == expected
    assert _alt_svc(stack, "http/1.1") == expected and _alt_svc(stack, "h2") == expected

    code, out, _ = stack.cli("verify", "--json")
    checks = {c["name"]: c for c in json.loads(out)["checks"]}
    assert code == 0 and checks["http3"]["ok"], checks.get("http3")

    before = answer.serial
    code, _, err = stack.cli("certs", "renew", "--force")
    assert code == 0, err
    site = CertStore(stack.root / "certs").read_site(DOMAIN)
    assert site is not None
    after = h3_get("127.0.0.1", stack.https, DOMAIN, stack.ca, 5.0).serial
    assert after == serial_hex(site.leaf) != before  # the same runtime API commit reached the QUIC listener


def test_auto_renders_no_quic_on_an_image_without_it(docker_client: docker.DockerClient, tmp_path: Path) -> None:
    with make_stack(docker_client, tmp_path / "stack", haproxy=OLDEST_IMAGES["haproxy"]) as stack:
        stack.up()
        cfg = (stack.root / "compose/haproxy/haproxy.cfg").read_text()
        assert "quic" not in cfg and "Alt-Svc" not in cfg
        assert "/udp" not in (stack.root / "compose/compose.yaml").read_text()
        features = json.loads((stack.root / "compose/.haproxy-features.json").read_text())
        assert features["quic"] is False
        code, out, _ = stack.cli("verify", "--json")
        assert code == 0 and "http3" not in {c["name"] for c in json.loads(out)["checks"]}

        stack.edit("  stats: ", "  http3: true\n  stats: ")  # asking for it on an image without QUIC
        (stack.root / "compose/.haproxy-features.json").unlink()
        before = hash_tree(stack.root, skip=CONTAINER_DATA)  # MariaDB keeps writing its redo log
        code, _, err = stack.cli("up")
        assert code == 2 and "has no QUIC" in err and len(err.strip().splitlines()) == 1, err
        assert hash_tree(stack.root, skip=CONTAINER_DATA) == before
