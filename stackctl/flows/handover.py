"""Moving a backend's traffic to a new container without dropping a request: a temporary server takes
new requests while the configured one drains, then the configured server points at the new address and
the temporary one drains and goes. Every step is HAProxy's runtime API; each wait is for a state it
reports (no session left on a server, a server it can delete)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable

from stackctl.config.layout import StackPaths
from stackctl.config.sites import Site
from stackctl.config.spec import StackSpec
from stackctl.core.clock import Deadline
from stackctl.core.errors import OperationFailed, StackctlError
from stackctl.engines.base import Engine, Report
from stackctl.engines.model import services
from stackctl.haproxy.runtime_api import RuntimeApi

NEXT_SERVER = "stackctl-next"  # the temporary server's name; a configured one is a site's slug
POLL_S = 0.1


def move_traffic(
    runtime: RuntimeApi, backend: str, server: str, address: str, port: int, deadline: Deadline, report: Report
) -> None:
    """From now on `backend/server` sends to `address:port`. On failure before the configured server
    serves there, it is set back to ready on its old address and the temporary server goes."""
    old = runtime.server_address(backend, server)
    if old is None:
        raise OperationFailed(
            f"HAProxy has no address for {backend}/{server}, so traffic cannot move without a gap",
            "run stackctl status: the site's app must be up first",
        )
    runtime.add_server(backend, NEXT_SERVER, address, port)
    moved = False
    try:
        runtime.set_server_state(backend, NEXT_SERVER, "ready")
        runtime.set_server_state(backend, server, "drain")
        report(f"HAProxy sends {backend}'s new requests to {address} while the old container finishes its own")
        _wait_idle(runtime, backend, server, deadline)
        runtime.set_server_address(backend, server, address, port)
        runtime.set_server_state(backend, server, "ready")
        moved = True
        runtime.set_server_state(backend, NEXT_SERVER, "drain")
        _wait_idle(runtime, backend, NEXT_SERVER, deadline)
    except BaseException:
        if not moved:
            _quietly(lambda: runtime.set_server_address(backend, server, old, port))
            _quietly(lambda: runtime.set_server_state(backend, server, "ready"))
        _quietly(lambda: _remove_next(runtime, backend, deadline))
        raise
    _remove_next(runtime, backend, deadline)


def replace_beside(
    engine: Engine, runtime: RuntimeApi, paths: StackPaths, spec: StackSpec, site: Site, deadline: Deadline,
    report: Report,
) -> None:  # fmt: skip
    """The site's container replaced by one made from the current secrets, without a failed request: the
    new one starts beside the old one, takes the traffic, and the old one goes. On failure before the
    traffic moved, the new one is removed and the old one serves as before."""
    assert site.service is not None
    service = services(spec, paths, only=site.service)[0]
    beside = engine.start_beside(spec, paths, service, deadline, report)
    try:
        move_traffic(runtime, site.backend, site.server, beside.address, site.app_port, deadline, report)
    except BaseException:
        engine.discard_beside(beside)
        raise
    engine.finish_beside(spec, beside, report)


def _wait_idle(runtime: RuntimeApi, backend: str, server: str, deadline: Deadline) -> None:
    while True:
        row = next((s for s in runtime.stats() if s.proxy == backend and s.name == server), None)
        if row is None or row.current_sessions == 0:
            return
        if deadline.expired():
            raise OperationFailed(
                f"{backend}/{server} still had {row.current_sessions} requests open after {deadline.seconds:.0f}s",
                "a long upload or download is running: try again later, or with a longer --timeout",
            )
        time.sleep(POLL_S)


def _remove_next(runtime: RuntimeApi, backend: str, deadline: Deadline) -> None:
    """HAProxy deletes a server only once it holds no connection, idle ones included (they are closed
    within a few seconds)."""
    runtime.set_server_state(backend, NEXT_SERVER, "maint")
    while True:
        try:
            runtime.delete_server(backend, NEXT_SERVER)
            return
        except OperationFailed:
            if deadline.expired():
                raise
        time.sleep(POLL_S)


def _quietly(step: Callable[[], object]) -> None:
    """A cleanup after a failure: the failure itself is what gets reported."""
    with contextlib.suppress(StackctlError):
        step()
