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


class H3Client(QuicConnectionProtocol):
    """HTTP/3 over one QUIC connection; several `get`s may be in flight at once."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.h3 = H3Connection(self._quic)
        self.waiters: dict[int, tuple[asyncio.Future[dict[bytes, bytes]], dict[bytes, bytes]]] = {}

    def quic_event_received(self, event: QuicEvent) -> None:
        for h3_event in self.h3.handle_event(event):
            if not isinstance(h3_event, (HeadersReceived, DataReceived)) or h3_event.stream_id not in self.waiters:
                continue
            future, headers = self.waiters[h3_event.stream_id]
            if isinstance(h3_event, HeadersReceived):
                headers.update(dict(h3_event.headers))
            if h3_event.stream_ended and not future.done():
                future.set_result(headers)

    async def get(self, authority: str, path: str) -> dict[bytes, bytes]:
        """The response headers (`:status` among them) once the response has ended."""
        stream = self._quic.get_next_available_stream_id()
        future: asyncio.Future[dict[bytes, bytes]] = asyncio.get_running_loop().create_future()
        self.waiters[stream] = (future, {})
        self.h3.send_headers(
            stream,
            [(b":method", b"GET"), (b":scheme", b"https"), (b":authority", authority.encode()),
             (b":path", path.encode()), (b"user-agent", b"stackctl")],
            end_stream=True,
        )  # fmt: skip
        self.transmit()
        try:
            return await future
        finally:
            del self.waiters[stream]

    def peer_serial(self) -> str | None:
        certificate = getattr(self._quic.tls, "_peer_certificate", None)  # aioquic keeps it here
        return None if certificate is None else serial_hex(certificate)


def client_configuration(domain: str, cafile: str | None) -> QuicConfiguration:
    configuration = QuicConfiguration(is_client=True, alpn_protocols=H3_ALPN, server_name=domain)
    configuration.verify_mode = ssl.CERT_REQUIRED
    if cafile:
        configuration.load_verify_locations(cafile)
    return configuration


async def _get(address: str, port: int, domain: str, cafile: str | None, path: str) -> H3Answer:
    """The answer as soon as it is in. The connection's orderly close (about 90 ms of QUIC's closing
    period after CONNECTION_CLOSE is sent) goes on in its task, which ends with the event loop."""
    configuration = client_configuration(domain, cafile)
    answer: asyncio.Future[H3Answer] = asyncio.get_running_loop().create_future()

    async def exchange() -> None:
        async with connect(address, port, configuration=configuration, create_protocol=H3Client) as client:
            assert isinstance(client, H3Client)
            headers = await client.get(domain, path)
            alt_svc = headers.get(b"alt-svc")
            serial = client.peer_serial()
            answer.set_result(
                H3Answer(int(headers.get(b":status", b"0")), serial, alt_svc.decode() if alt_svc else None)
            )

    task = asyncio.create_task(exchange())
    pending: set[asyncio.Future[Any]] = {task, answer}
    await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
    if answer.done():
        return answer.result()
    task.result()  # raises what went wrong
    raise ConnectionError("the connection ended without an answer")


def h3_get(
    address: str, port: int, domain: str, cafile: str | None, timeout: float, path: str = "/api/v1/status"
) -> H3Answer:
    """Raises OSError (and its TimeoutError) when nothing answers over QUIC, ssl errors when the
    certificate is not trusted."""
    try:
        return asyncio.run(asyncio.wait_for(_get(address, port, domain, cafile, path), timeout))
    except ConnectionError as e:
        raise OSError(str(e) or "connection closed") from e
