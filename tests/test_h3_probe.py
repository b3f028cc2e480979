"""The HTTP/3 check against a real QUIC listener: aioquic's own server, in this process, serving the
stack's certificate from its local CA. The probe must read the status and the serial the QUIC
listener serves (a hot swap has to reach it too), trust only the stack's CA, and say when nothing
answers over UDP."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from aioquic.asyncio import serve
from aioquic.asyncio.protocol import QuicConnectionProtocol
from aioquic.h3.connection import H3_ALPN, H3Connection
from aioquic.h3.events import HeadersReceived
from aioquic.quic.configuration import QuicConfiguration
from aioquic.quic.events import ProtocolNegotiated, QuicEvent

from stackctl.certs.inspect import serial_hex
from stackctl.certs.store import CertStore
from stackctl.health.h3 import h3_get
from stackctl.health.probe import Target, probe
from stackctl.health.target import probe_target
from tests.fakes import ServedBundle
from tests.helpers import free_port, run_cli, self_signed_bundle
from tests.live_stack import live_stack

DOMAIN = "photos.example.com"
ALT_SVC = 'h3=":443"; ma=86400'


class _Answering(QuicConnectionProtocol):
    """Answers every request 200 with an Alt-Svc header, as HAProxy's QUIC listener does."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.h3: H3Connection | None = None

    def quic_event_received(self, event: QuicEvent) -> None:
        if isinstance(event, ProtocolNegotiated):
            self.h3 = H3Connection(self._quic)
        for h3_event in self.h3.handle_event(event) if self.h3 is not None else []:
            if isinstance(h3_event, HeadersReceived) and h3_event.stream_ended and self.h3 is not None:
                self.h3.send_headers(h3_event.stream_id, [(b":status", b"200"), (b"alt-svc", ALT_SVC.encode())],
                                     end_stream=True)  # fmt: skip
                self.transmit()


@contextmanager
def quic_listener(cert: Path, key: Path, port: int = 0) -> Iterator[int]:
    """aioquic's server on UDP `port` of 127.0.0.1 (a free one when 0)."""
    port = port or free_port()
    configuration = QuicConfiguration(is_client=False, alpn_protocols=H3_ALPN)
    configuration.load_cert_chain(str(cert), str(key))
    loop = asyncio.new_event_loop()
    started = threading.Event()

    def run() -> None:
        asyncio.set_event_loop(loop)
        server = loop.run_until_complete(serve("127.0.0.1", port, configuration=configuration,
                                               create_protocol=_Answering))  # fmt: skip
        started.set()
        loop.run_forever()
        server.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert started.wait(10)
    try:
        yield port
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)


@pytest.fixture
def stack(tmp_path: Path) -> CertStore:
    root = tmp_path / "stack"
    assert run_cli("--dir", str(root), "init", "--domain", DOMAIN).code == 0
    assert run_cli("--dir", str(root), "certs", "create").code == 0
    return CertStore(root / "certs")


def test_the_h3_answer_carries_the_status_and_the_serial_the_quic_listener_serves(stack: CertStore) -> None:
    site = stack.read_site(DOMAIN)
    assert site is not None
    folder = stack.site_dir(DOMAIN)
    with quic_listener(folder / "cert.pem", folder / "key.pem") as port:
        answer = h3_get("127.0.0.1", port, DOMAIN, str(stack.ca_cert), timeout=5)
    assert (answer.status, answer.serial, answer.alt_svc) == (200, serial_hex(site.leaf), ALT_SVC)


def test_a_certificate_from_another_ca_is_not_trusted(stack: CertStore, tmp_path: Path) -> None:
    other = tmp_path / "other.pem"
    bundle = self_signed_bundle([DOMAIN])
    other.write_bytes(bundle)
    with quic_listener(other, other) as port:
        started = time.monotonic()
        with pytest.raises(OSError, match="connection closed"):  # the client closed it: TLS alert 42
            h3_get("127.0.0.1", port, DOMAIN, str(stack.ca_cert), timeout=3)
    assert time.monotonic() - started < 2  # refused at once, not timed out


def test_nothing_answering_over_udp_is_an_os_error_within_the_timeout(stack: CertStore) -> None:
    with pytest.raises(OSError):
        h3_get("127.0.0.1", free_port(), DOMAIN, str(stack.ca_cert), timeout=1)


def test_the_probe_checks_http3_on_the_udp_side_of_the_https_port(tmp_path: Path) -> None:
    with live_stack(tmp_path) as (paths, spec):
        store = CertStore(paths.certs)
        folder = store.site_dir(DOMAIN)
        target = replace(probe_target(spec, spec.first_site, store), http3=True)
        with quic_listener(folder / "cert.pem", folder / "key.pem", spec.ports.https):
            result = probe(target)
    h3 = next(c for c in result.checks if c.name == "http3")
    assert result.ok and h3.ok and h3.detail.startswith("h3 GET /api/v1/status -> 200, serving ")


def test_a_server_that_hangs_up_after_the_handshake_fails_each_request_check(stack: CertStore) -> None:
    with ServedBundle(stack.bundle(DOMAIN).read_bytes()) as tls_only:  # TLS, then it closes: no HTTP
        target = Target("127.0.0.1", DOMAIN, tls_only.port, free_port(), cafile=str(stack.ca_cert))
        result = probe(target)
    failed = {c.name: c.detail for c in result.checks if not c.ok}
    assert set(failed) == {"alpn", "status", "redirect", "websocket"}  # alpn: it offers no HTTP/2
    assert failed["status"].startswith("GET /api/v1/status failed: ")
    assert failed["redirect"].startswith(f"http://{DOMAIN}:{target.http_port}/ failed: ")
    assert result.checks[0].name == "certificate" and result.checks[0].ok  # the handshake itself was fine
