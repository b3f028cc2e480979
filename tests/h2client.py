"""An HTTP/2 load client that judges failures the way a browser does.

On a seamless reload the old HAProxy worker sends GOAWAY. A browser retries the streams that GOAWAY
refused (stream id above its last-stream-id) on a new connection, and the user sees nothing. h2load
counts them as failed. This client retries them and counts them as `retried`; a failure is what a
user would see: a connection error with a request in flight that GOAWAY did not refuse, a reset
stream, or a status other than 200.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field

import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.exceptions

from tests.helpers import Workers


@dataclass
class H2Stats:
    ok: int = 0
    retried: int = 0
    connections: int = 0
    failures: list[str] = field(default_factory=list)
    ok_times: list[float] = field(default_factory=list)  # monotonic time of each success
    lock: threading.Lock = field(default_factory=threading.Lock)

    def succeeded(self) -> None:
        with self.lock:
            self.ok += 1
            self.ok_times.append(time.monotonic())

    def failed(self, why: str) -> None:
        with self.lock:
            self.failures.append(why)

    def ok_after(self, moment: float) -> int:
        with self.lock:
            return sum(1 for t in self.ok_times if t > moment)


class _DrainingStateMachine(h2.connection.H2ConnectionStateMachine):
    """h2 closes a connection as soon as GOAWAY arrives, but RFC 9113 6.8 says the streams up to its
    last-stream-id are still answered (HAProxy's old worker does answer them). Keep receiving."""

    _transitions = {  # noqa: RUF012 -- the base class's own table, extended
        **h2.connection.H2ConnectionStateMachine._transitions,
        (h2.connection.ConnectionState.CLIENT_OPEN, h2.connection.ConnectionInputs.RECV_GOAWAY): (
            None,
            h2.connection.ConnectionState.CLIENT_OPEN,
        ),
    }


class _Connection:
    def __init__(self, port: int, authority: str, cafile: str) -> None:
        ctx = ssl.create_default_context(cafile=cafile)
        ctx.set_alpn_protocols(["h2"])
        raw = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.sock = ctx.wrap_socket(raw, server_hostname=authority.split(":")[0])
        if self.sock.selected_alpn_protocol() != "h2":
            raise ssl.SSLError("the server did not negotiate h2")
        self.conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
        self.conn.state_machine = _DrainingStateMachine()
        self.conn.initiate_connection()
        self.sock.sendall(self.conn.data_to_send())
        self.authority = authority

    def send(self, path: str) -> int:
        stream = self.conn.get_next_available_stream_id()
        headers = [(":method", "GET"), (":scheme", "https"), (":authority", self.authority), (":path", path)]
        self.conn.send_headers(stream, headers, end_stream=True)
        self.sock.sendall(self.conn.data_to_send())
        return stream

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()


def _batch(conn: _Connection, path: str, streams: int, stats: H2Stats) -> tuple[int, bool]:
    """Send `streams` requests and read until each is answered or refused.
    Returns (how many to retry on a new connection, whether this connection can be used again)."""
    pending: dict[int, int | None] = {conn.send(path): None for _ in range(streams)}  # stream -> status
    refused_above: int | None = None  # GOAWAY's last-stream-id once it came
    to_retry = 0
    while pending:
        try:
            data = conn.sock.recv(65536)
            error = "connection closed"
        except (OSError, ssl.SSLError) as e:
            data, error = b"", f"{type(e).__name__}: {e}"
        if not data:
            for stream in pending:
                if refused_above is not None and stream > refused_above:
                    to_retry += 1
                else:
                    stats.failed(f"{error} with an accepted request in flight (GOAWAY last id {refused_above})")
            return to_retry, False
        for event in conn.conn.receive_data(data):
            if isinstance(event, h2.events.ResponseReceived):
                pending[event.stream_id] = int(dict(event.headers).get(b":status", b"0"))
            elif isinstance(event, h2.events.DataReceived):
                conn.conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
            elif isinstance(event, h2.events.StreamEnded):
                status = pending.pop(event.stream_id, None)
                if status == 200:
                    stats.succeeded()
                else:
                    stats.failed(f"status {status}")
            elif isinstance(event, h2.events.StreamReset):
                pending.pop(event.stream_id, None)
                if event.error_code == h2.errors.ErrorCodes.REFUSED_STREAM:
                    to_retry += 1
                else:
                    stats.failed(f"stream reset with {event.error_code!r}")
            elif isinstance(event, h2.events.ConnectionTerminated):
                refused_above = event.last_stream_id or 0
                if event.error_code != h2.errors.ErrorCodes.NO_ERROR:
                    stats.failed(f"GOAWAY with {event.error_code!r}")
                for stream in [s for s in pending if s > refused_above]:
                    pending.pop(stream)
                    to_retry += 1
        try:
            outgoing = conn.conn.data_to_send()
            if outgoing:
                conn.sock.sendall(outgoing)
        except OSError:
            pass
    return to_retry, refused_above is None


class H2Load:
    """`clients` threads, each keeping one HTTP/2 connection with `streams` requests in flight."""

    def __init__(self, port: int, authority: str, cafile: str, clients: int = 2, streams: int = 8) -> None:
        self.port, self.authority, self.cafile = port, authority, cafile
        self.clients, self.streams = clients, streams
        self.stats = H2Stats()
        self._stop = threading.Event()
        self._workers = Workers(clients, self._run, self._stop)

    def _run(self) -> None:
        conn: _Connection | None = None
        retry = 0
        while not self._stop.is_set() or retry:
            if conn is None:
                try:
                    conn = _Connection(self.port, self.authority, self.cafile)
                    self.stats.connections += 1
                except (OSError, ssl.SSLError) as e:
                    self.stats.failed(f"cannot connect: {type(e).__name__}: {e}")
                    if self._stop.wait(0.05):
                        return
                    continue
            count = retry or self.streams
            try:
                retry, usable = _batch(conn, "/api/v1/status", count, self.stats)
            except h2.exceptions.ProtocolError as e:
                self.stats.failed(f"HTTP/2 protocol error: {e}")
                retry, usable = 0, False
            with self.stats.lock:
                self.stats.retried += retry
            if not usable:
                conn.close()
                conn = None
        if conn is not None:
            conn.close()

    def __enter__(self) -> H2Load:
        self._workers.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._workers.__exit__(*exc)
