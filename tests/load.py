"""Load for the renewal tests: fresh TLS connections per request, beside tests.h2client's HTTP/2 keep-alive load."""

from __future__ import annotations

import re
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.helpers import Workers


@dataclass
class FreshConnections:
    """Threads that each open a new TLS connection per request, verifying the certificate each time."""

    port: int
    server_name: str
    cafile: str
    threads: int = 2
    path: str = "/api/v1/status"
    media: str = "application/json"  # the Accept header: a browser sends text/html
    acceptable: Callable[[bytes], bool] = field(default=lambda reply: reply.startswith(b"HTTP/1.1 200"))
    ok: int = 0
    statuses: dict[int, int] = field(default_factory=dict)  # status -> count of accepted replies
    timeline: list[tuple[float, str]] = field(default_factory=list)  # (monotonic time, status or error)
    failures: list[str] = field(default_factory=list)
    failed_at: list[float] = field(default_factory=list)  # monotonic time of each failure
    serials: set[int] = field(default_factory=set)
    ok_times: list[float] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _workers: Workers | None = None

    def _run(self) -> None:
        ctx = ssl.create_default_context(cafile=self.cafile)
        request = (
            f"GET {self.path} HTTP/1.1\r\nHost: {self.server_name}\r\nAccept: {self.media}\r\nConnection: close\r\n\r\n"
        ).encode()
        while not self._stop.is_set():
            try:
                with (
                    socket.create_connection(("127.0.0.1", self.port), timeout=5) as raw,
                    ctx.wrap_socket(raw, server_hostname=self.server_name) as tls,
                ):
                    tls.sendall(request)
                    reply = b""
                    while chunk := tls.recv(65536):
                        reply += chunk
                    der = tls.getpeercert(binary_form=True)
                self.timeline.append((time.monotonic(), reply[9:12].decode(errors="replace")))
                if not self.acceptable(reply):
                    self.failures.append(reply[:80].decode(errors="replace"))
                    self.failed_at.append(time.monotonic())
                else:
                    self.ok += 1
                    status = int(reply[9:12])
                    self.statuses[status] = self.statuses.get(status, 0) + 1
                    self.ok_times.append(time.monotonic())
                    if der:
                        from cryptography import x509

                        self.serials.add(x509.load_der_x509_certificate(der).serial_number)
            except (OSError, ssl.SSLError, ValueError) as e:  # ValueError: the peer closed mid-handshake
                self.timeline.append((time.monotonic(), type(e).__name__))
                self.failures.append(f"{type(e).__name__}: {e}")
                self.failed_at.append(time.monotonic())

    def ok_after(self, moment: float) -> int:
        return sum(1 for t in list(self.ok_times) if t > moment)

    def __enter__(self) -> FreshConnections:
        self._workers = Workers(self.threads, self._run, self._stop).__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._workers.__exit__(*exc)


# httplog: ... <status> <bytes> <req cookie> <resp cookie> <termination state> ... "<method> <uri> <version>"
_HTTPLOG = re.compile(r"\s(\d{3}|-1)\s\d+\s\S+\s\S+\s(\S{4})\s.*\"GET (\S+)")


def haproxy_log_problems(container: Any, since: int) -> list[str]:
    """Lines of HAProxy's own log since `since` (epoch s) for a 5xx or an aborted request. Under the
    default `log: errors` an answer under 400 is not logged, so an abort in the middle of one shows
    only to the client: the callers' load counts those."""
    text = container.logs(since=since, stdout=True, stderr=True).decode(errors="replace")
    problems = []
    for line in text.splitlines():
        match = _HTTPLOG.search(line)
        if match is None:
            continue
        status, termination = match.group(1), match.group(2)
        # Termination state: C/S client/server abort, P/I/R/D/K proxy-side trouble, c/s timeouts.
        # L (answered by HAProxy itself, e.g. the :80 redirect) and "-" (normal) are fine.
        if status.startswith("5") or status == "-1" or termination[0] in "CSPIRDKcs":
            problems.append(line.strip())
    return problems


def renew_under_load(stack: Any, cafile: str, domain: str = "photos.example.com") -> dict[str, Any]:
    """`certs renew --force` under HTTP/2 keep-alive load and a stream of fresh TLS connections.
    A failure is what a browser would show; load goes on after the swap and must be served."""
    from stackctl.certs.store import CertStore
    from stackctl.config.spec import load_spec
    from stackctl.health.probe import served_serial
    from stackctl.health.target import probe_target
    from tests.h2client import H2Load
    from tests.helpers import wait_until

    def served() -> str | None:
        spec = load_spec(stack.root / "stack.yaml")
        return served_serial(probe_target(spec, spec.first_site, CertStore(stack.root / "certs")))

    before = served()
    log_since = int(time.time()) - 1
    with H2Load(stack.https, domain, cafile) as h2, FreshConnections(stack.https, domain, cafile) as fresh:
        wait_until(lambda: h2.stats.ok > 200 and fresh.ok > 10, 30, "load to be served before the renewal")
        code, out, err = stack.cli("certs", "renew", "--force")
        assert code == 0, err
        swapped = time.monotonic()
        wait_until(
            lambda: h2.stats.ok_after(swapped) > 500 and fresh.ok_after(swapped) > 20 and len(fresh.serials) == 2,
            30,
            "load to be served with the new certificate after the renewal",
        )
    after = served()
    assert after is not None and after != before, "the served serial must change"
    assert h2.stats.failures == [], h2.stats.failures[:5]
    assert fresh.failures == [], fresh.failures[:5]
    assert len(fresh.serials) == 2  # fresh connections saw the old, then the new certificate
    problems = haproxy_log_problems(stack.container("haproxy"), log_since)
    assert problems == [], problems[:5]
    assert "Serving the new certificate" in out
    return {"h2_ok": h2.stats.ok, "h2_retried": h2.stats.retried, "h2_connections": h2.stats.connections,
            "fresh_ok": fresh.ok}  # fmt: skip
