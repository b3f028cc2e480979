"""A small HTTP/3 load client on aioquic (Debian's h2load is built without QUIC): `clients` QUIC
connections, each keeping `streams` requests in flight, until `requests` are done. Pure Python, so
it is the bottleneck long before a proxy is; its figures compare servers only under that limit."""

from __future__ import annotations

import asyncio
import time

from aioquic.asyncio.client import connect

from stackctl.health.h3 import H3Client, client_configuration
from tests.bench.h2load import Measurement, _percentile


async def _load(port: int, domain: str, cafile: str, path: str, requests: int, clients: int,
                streams: int) -> Measurement:  # fmt: skip
    latencies: list[float] = []
    failed = 0
    left = requests

    async def worker(client: H3Client) -> None:
        nonlocal left, failed
        while left > 0:
            left -= 1
            started = time.monotonic()
            try:
                status = int((await asyncio.wait_for(client.get(domain, path), 10)).get(b":status", b"0"))
            except (TimeoutError, ConnectionError):
                status = 0
            if status == 200:
                latencies.append((time.monotonic() - started) * 1000)
            else:
                failed += 1

    async def connection() -> None:
        configuration = client_configuration(domain, cafile)
        async with connect("127.0.0.1", port, configuration=configuration, create_protocol=H3Client) as client:
            assert isinstance(client, H3Client)
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
