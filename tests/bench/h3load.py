"""A small HTTP/3 load client on aioquic (Debian's h2load is built without QUIC): `clients` QUIC
connections, each keeping `streams` requests in flight, until `requests` are done. Pure Python, so
it is the bottleneck long before a proxy is; its figures compare servers only under that limit."""

from __future__ import annotations

import asyncio
import ssl
import time
from typing import Any

from aioquic.asyncio.client import connect
from aioquic.asyncio.protocol import QuicConnectionProtocol
from aioquic.h3.connection import H3_ALPN, H3Connection
from aioquic.h3.events import DataReceived, HeadersReceived
from aioquic.quic.configuration import QuicConfiguration
from aioquic.quic.events import QuicEvent

from tests.bench.h2load import Measurement, _percentile


class _Client(QuicConnectionProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.h3 = H3Connection(self._quic)
        self.waiters: dict[int, tuple[asyncio.Future[int], list[int]]] = {}

    def quic_event_received(self, event: QuicEvent) -> None:
        for h3_event in self.h3.handle_event(event):
            if isinstance(h3_event, (HeadersReceived, DataReceived)) and h3_event.stream_id in self.waiters:
                future, status = self.waiters[h3_event.stream_id]
                if isinstance(h3_event, HeadersReceived):
                    status.append(int(dict(h3_event.headers).get(b":status", b"0")))
                if h3_event.stream_ended and not future.done():
                    future.set_result(status[0] if status else 0)

    async def get(self, authority: str, path: str) -> int:
        stream = self._quic.get_next_available_stream_id()
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self.waiters[stream] = (future, [])
        self.h3.send_headers(stream, [(b":method", b"GET"), (b":scheme", b"https"),
                                      (b":authority", authority.encode()), (b":path", path.encode())],
                             end_stream=True)  # fmt: skip
        self.transmit()
        try:
            return await future
        finally:
            del self.waiters[stream]


async def _load(port: int, domain: str, cafile: str, path: str, requests: int, clients: int,
                streams: int) -> Measurement:  # fmt: skip
    latencies: list[float] = []
    failed = 0
    left = requests

    async def worker(client: _Client) -> None:
        nonlocal left, failed
        while left > 0:
            left -= 1
            started = time.monotonic()
            try:
                status = await asyncio.wait_for(client.get(domain, path), 10)
            except (TimeoutError, ConnectionError):
                status = 0
            if status == 200:
                latencies.append((time.monotonic() - started) * 1000)
            else:
                failed += 1

    async def connection() -> None:
        configuration = QuicConfiguration(is_client=True, alpn_protocols=H3_ALPN, server_name=domain)
        configuration.verify_mode = ssl.CERT_REQUIRED
        configuration.load_verify_locations(cafile)
        async with connect("127.0.0.1", port, configuration=configuration, create_protocol=_Client) as client:
            assert isinstance(client, _Client)
            await asyncio.gather(*(worker(client) for _ in range(streams)))

    started = time.monotonic()
    await asyncio.gather(*(connection() for _ in range(clients)))
    seconds = time.monotonic() - started
    if not latencies:
        return Measurement(None, None, None, failed, "no successful request")
    return Measurement(round(len(latencies) / seconds, 2), round(_percentile(latencies, 0.5), 2),
                       round(_percentile(latencies, 0.99), 2), failed, "aioquic client (client-bound)")  # fmt: skip


def run_h3(port: int, domain: str, cafile: str, path: str = "/health", requests: int = 5000, clients: int = 4,
           streams: int = 10) -> Measurement:  # fmt: skip
    return asyncio.run(_load(port, domain, cafile, path, requests, clients, streams))
