"""One HTTP/3 request over QUIC with aioquic: the status it answers and the certificate serial the
QUIC listener serves (a hot swap must reach it as it reaches the TCP listener)."""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass
from typing import Any

from aioquic.asyncio.client import connect
from aioquic.asyncio.protocol import QuicConnectionProtocol
from aioquic.h3.connection import H3_ALPN, H3Connection
from aioquic.h3.events import DataReceived, HeadersReceived
from aioquic.quic.configuration import QuicConfiguration
from aioquic.quic.events import QuicEvent

from stackctl.certs.inspect import serial_hex


@dataclass(frozen=True)
class H3Answer:
    status: int
    serial: str | None  # hex, as certs show prints it
    alt_svc: str | None


class _Client(QuicConnectionProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.h3 = H3Connection(self._quic)
        self.headers: dict[bytes, bytes] = {}
        self.finished = asyncio.Event()

    def quic_event_received(self, event: QuicEvent) -> None:
        for h3_event in self.h3.handle_event(event):
            if isinstance(h3_event, HeadersReceived):
                self.headers.update(dict(h3_event.headers))
            if isinstance(h3_event, (HeadersReceived, DataReceived)) and h3_event.stream_ended:
                self.finished.set()

    async def get(self, authority: str, path: str) -> None:
        stream = self._quic.get_next_available_stream_id()
        self.h3.send_headers(
            stream,
            [(b":method", b"GET"), (b":scheme", b"https"), (b":authority", authority.encode()),
             (b":path", path.encode()), (b"user-agent", b"stackctl-verify")],
            end_stream=True,
        )  # fmt: skip
        self.transmit()
        await self.finished.wait()

    def peer_serial(self) -> str | None:
        certificate = getattr(self._quic.tls, "_peer_certificate", None)  # aioquic keeps it here
        return None if certificate is None else serial_hex(certificate)


async def _get(address: str, port: int, domain: str, cafile: str | None, path: str) -> H3Answer:
    configuration = QuicConfiguration(is_client=True, alpn_protocols=H3_ALPN, server_name=domain)
    configuration.verify_mode = ssl.CERT_REQUIRED
    if cafile:
        configuration.load_verify_locations(cafile)
    async with connect(address, port, configuration=configuration, create_protocol=_Client) as client:
        assert isinstance(client, _Client)
        await client.get(domain, path)
        status = int(client.headers.get(b":status", b"0"))
        alt_svc = client.headers.get(b"alt-svc")
        return H3Answer(status, client.peer_serial(), alt_svc.decode() if alt_svc else None)


def h3_get(
    address: str, port: int, domain: str, cafile: str | None, timeout: float, path: str = "/api/v1/status"
) -> H3Answer:
    """Raises OSError (and its TimeoutError) when nothing answers over QUIC, ssl errors when the
    certificate is not trusted."""
    try:
        return asyncio.run(asyncio.wait_for(_get(address, port, domain, cafile, path), timeout))
    except ConnectionError as e:
        raise OSError(str(e) or "connection closed") from e
