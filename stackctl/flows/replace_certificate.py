"""Replace a stack's certificate: on disk, and live on a running HAProxy with zero failed requests.
Any failure puts the old files back, keeps the old certificate served and is written to the history."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from stackctl.certs.history import record
from stackctl.certs.inspect import serial_hex
from stackctl.certs.issued import Issued
from stackctl.certs.localca import ensure_default_certificate
from stackctl.certs.store import CertStore, pem_of
from stackctl.config.layout import StackPaths
from stackctl.config.sites import Site
from stackctl.config.spec import StackSpec
from stackctl.core.clock import Deadline, timestamp, utcnow
from stackctl.core.errors import OperationFailed, StackctlError
from stackctl.engines.base import Engine
from stackctl.engines.host import prepare_host_folders
from stackctl.engines.model import haproxy_service
from stackctl.flows.edges import Edges
from stackctl.flows.generated import generated_states, write_changed
from stackctl.flows.served_hold import hold_when_served
from stackctl.haproxy.hotswap import ApiUnavailable
from stackctl.haproxy.runtime_api import SOCKET_NAME, RuntimeApi, socket_path
from stackctl.health.probe import Target, served_serial
from stackctl.health.target import probe_target
from stackctl.render.haproxy import container_cert_path

SERVED_WAIT_S = 5.0
SWARM_ROLL_S = 180.0  # every edge node's HAProxy task replaced, one at a time (when it must roll)


@dataclass(frozen=True)
class Replaced:
    issued: Issued
    source: str
    path: str  # runtime-api | reload | swarm-roll | disk
    duration_s: float
    old_serial: str | None
    new_serial: str
    note: str | None = None  # why a stack that could not take it live was restarted instead


@dataclass(frozen=True)
class Liveness:
    """Whether this stack's HAProxy runs, from every signal there is; Docker alone is not enough
    (a user without access to its socket would otherwise renew "on disk" while the old one is served)."""

    runtime_api: bool  # the stack's runtime socket answers
    serves_current: bool  # the published HTTPS port hands out this stack's current certificate
    container: str | None  # the running HAProxy container Docker reports, None if not or unknown
    docker_problem: str | None  # why Docker could not be asked, if it could not

    @property
    def running(self) -> bool:
        return self.runtime_api or self.serves_current or self.container is not None


def _engine_view(spec: StackSpec, paths: StackPaths, edges: Edges) -> tuple[Engine | None, str | None, str | None]:
    """(engine, the running HAProxy it reports, why the engine could not be asked). Bad input, such as
    another folder's stack of the same name, is refused."""
    try:
        engine = edges.engine(spec)
        return engine, engine.running_haproxy(spec, paths), None
    except OperationFailed as e:
        return None, None, e.message


def liveness(
    paths: StackPaths, spec: StackSpec, site: Site, current_serial: str | None, edges: Edges
) -> tuple[Liveness, Engine | None, RuntimeApi]:
    engine, container, problem = _engine_view(spec, paths, edges)
    runtime = edges.runtime(socket_path(paths.run))
    served = (
        current_serial is not None
        and served_serial(probe_target(spec, site, CertStore(paths.certs), timeout=2.0)) == current_serial
    )
    return Liveness(runtime.answers(), served, container, problem), engine, runtime


@dataclass
class _Swap:
    paths: StackPaths
    spec: StackSpec
    site: Site
    live: Liveness
    engine: Engine | None
    note: str | None = None  # why the stack was restarted rather than given the certificate live


class _InPlace(_Swap):
    """Hands a bundle to the running HAProxy: runtime API first, else a checked reload of its container."""

    def __init__(self, swap: _Swap, runtime: RuntimeApi) -> None:
        super().__init__(swap.paths, swap.spec, swap.site, swap.live, swap.engine)
        self.runtime = runtime
        self.path = "runtime-api"

    def wait_served(self, serial: str) -> None:
        _wait_served(self.paths, self.spec, self.site, serial, list(self.spec.ports.local_addresses))

    def hand_over(self) -> None:
        """The new bundle to HAProxy's user (only HAProxy's folders are touched)."""
        prepare_host_folders([haproxy_service(self.spec, self.paths)], self.paths.run)

    def swap(self, bundle: str) -> None:
        """Sets self.path to the mechanism used, also when it then fails."""
        try:
            self.path = "runtime-api"
            self.runtime.swap_certificate(container_cert_path(self.site.domain), bundle)
        except ApiUnavailable as e:
            self.path = "reload"
            if self.engine is None or self.live.container is None:
                why = self.live.docker_problem or "Docker reports no running HAProxy container of this stack"
                raise OperationFailed(
                    f"HAProxy is running but cannot be given the new certificate: the runtime API is not "
                    f"reachable ({e}) and {why}",
                    "make run/haproxy/admin.sock reachable or start the Docker engine, then renew again",
                ) from e
            haproxy = haproxy_service(self.spec, self.paths)
            self.engine.validate_haproxy_config(haproxy, self.paths.haproxy_folder.absolute())
            self.engine.reload_haproxy(self.live.container)


class _OnEdgeNodes(_Swap):
    """Swarm: the bundle goes to each edge node's running HAProxy through its runtime API, as on one host,
    and into a new Swarm secret that HAProxy's tasks read at their next roll. When a node's runtime API
    cannot be reached from here, HAProxy rolls onto the new secret instead, node by node (a gap on each)."""

    def __init__(self, swap: _Swap, runtime: Callable[[Path], RuntimeApi]) -> None:
        super().__init__(swap.paths, swap.spec, swap.site, swap.live, swap.engine)
        self.runtime = runtime
        self.path = "runtime-api"

    def hand_over(self) -> None:
        pass  # the deploy reads the bundle from certs/, like every other secret

    def swap(self, bundle: str) -> None:
        if self.engine is None:
            raise OperationFailed(
                f"HAProxy is serving but the Swarm cannot be asked about it: {self.live.docker_problem}",
                "run stackctl on a Swarm manager, then renew again",
            )
        unreachable = self._swap_live(self.engine, bundle)
        self.path = "swarm-roll" if unreachable else "runtime-api"
        self.note = (
            f"the runtime API of HAProxy on {unreachable} cannot be reached from this node, so HAProxy's tasks "
            "rolled onto the new certificate (each edge node stops answering while its task restarts)"
            if unreachable
            else None
        )
        states = generated_states(self.paths, self.spec, self.engine)
        write_changed(self.paths, states)
        files = {state.name: state.desired for state in states}
        haproxy = [haproxy_service(self.spec, self.paths)]
        hold = None if unreachable else hold_when_served(self.paths, self.spec, self.engine, _quiet)
        self.engine.apply(self.paths, self.spec, haproxy, files, Deadline(SWARM_ROLL_S), _quiet, hold=hold)

    def _swap_live(self, engine: Engine, bundle: str) -> str | None:
        """The bundle to every edge node's HAProxy; returns the first node (and why) it cannot reach."""
        for node, folder in engine.edge_runtime_sockets(self.spec, self.paths):
            if folder is None:
                return node
            try:
                self.runtime(folder / SOCKET_NAME).swap_certificate(container_cert_path(self.site.domain), bundle)
            except ApiUnavailable as e:
                return f"{node} ({e})"
        return None

    def wait_served(self, serial: str) -> None:
        addresses = (
            self.engine.addresses(self.spec) if self.engine is not None else list(self.spec.ports.local_addresses)
        )
        _wait_served(self.paths, self.spec, self.site, serial, addresses)


def _quiet(line: str) -> None:
    del line


def _swapper(
    paths: StackPaths, spec: StackSpec, site: Site, old_serial: str | None, edges: Edges
) -> _InPlace | _OnEdgeNodes:
    live, engine, runtime = liveness(paths, spec, site, old_serial, edges)
    swap = _Swap(paths, spec, site, live, engine)
    if spec.capabilities.reloads_in_place:
        return _InPlace(swap, runtime)
    return _OnEdgeNodes(swap, edges.runtime)


def _wait_served(paths: StackPaths, spec: StackSpec, site: Site, serial: str, addresses: list[str]) -> None:
    for address in addresses:
        _wait_served_at(replace(probe_target(spec, site, CertStore(paths.certs), timeout=2.0), address=address), serial)


def _wait_served_at(target: Target, serial: str) -> None:
    deadline = time.monotonic() + SERVED_WAIT_S
    seen = None
    while time.monotonic() < deadline:
        seen = served_serial(target)
        if seen == serial:
            return
        time.sleep(0.05)
    raise OperationFailed(
        f"HAProxy still serves serial {seen} instead of {serial} after {SERVED_WAIT_S:.0f}s",
        "look at the haproxy container's log",
    )


def replace_certificate(
    paths: StackPaths, spec: StackSpec, site: Site, obtain: Callable[[], tuple[Issued, str]], reason: str,
    edges: Edges,
) -> Replaced:  # fmt: skip
    """Obtain a certificate for the site, write it, and when the stack runs, serve it and prove it is served."""
    started = time.monotonic()
    store = CertStore(paths.certs)
    old = store.read_site(site.domain)
    old_serial = serial_hex(old.leaf) if old else None
    snapshot = store.snapshot(site.domain)
    swapper = _swapper(paths, spec, site, old_serial, edges)
    entry: dict[str, Any] = {
        "time": timestamp(),
        "domain": site.domain,
        "names": list(site.names),
        "reason": reason,
        "old_serial": old_serial,
        "new_serial": None,
    }

    def finish(path: str, result: str) -> float:
        duration = time.monotonic() - started
        record(paths, {**entry, "path": path, "duration_s": round(duration, 3), "result": result})
        return duration

    try:
        issued, source = obtain()
    except StackctlError as e:
        finish("none", f"failed: {e.message}")  # e.g. the CA refused: nothing was written
        raise
    new_serial = entry["new_serial"] = serial_hex(issued.leaf)

    try:
        ensure_default_certificate(store, utcnow())  # haproxy.cfg names it first, whatever the site
        store.write_site(site.domain, issued.leaf, issued.chain, issued.key_pem, source)
    except StackctlError as e:
        store.restore(snapshot)
        finish("disk", f"failed: {e.message}")
        raise
    if not swapper.live.running:
        return Replaced(issued, source, "disk", finish("disk", "ok"), old_serial, new_serial)
    try:
        swapper.hand_over()
        swapper.swap((pem_of([issued.leaf, *issued.chain]) + issued.key_pem).decode())
        swapper.wait_served(new_serial)
    except StackctlError as e:
        problem = _roll_back(store, snapshot, swapper, old_serial, paths, spec, site)
        finish(swapper.path, f"failed: {e.message}" + (f"; rollback failed: {problem}" if problem else ""))
        raise _swap_failure(site, e, old_serial, problem) from e
    return Replaced(issued, source, swapper.path, finish(swapper.path, "ok"), old_serial, new_serial, swapper.note)


def _swap_failure(site: Site, error: StackctlError, old_serial: str | None, rollback: str | None) -> OperationFailed:
    if rollback is not None:
        return OperationFailed(
            f"failed to replace the certificate for {site.domain}: {error.message}; "
            f"putting the old one back also failed: {rollback}",
            "the previous files are back on disk; run stackctl up to load them, then stackctl status",
        )
    return OperationFailed(
        f"failed to replace the certificate for {site.domain}: {error.message}",
        f"the previous certificate (serial {old_serial}) is still on disk and served; {error.hint}",
    )


def _roll_back(
    store: CertStore,
    snapshot: dict[Any, tuple[bytes, int] | None],
    swapper: _InPlace | _OnEdgeNodes,
    old_serial: str | None,
    paths: StackPaths,
    spec: StackSpec,
    site: Site,
) -> str | None:
    """Put the old files back and make sure the old certificate is served. Returns what went wrong."""
    try:
        store.restore(snapshot)
        swapper.hand_over()
        if old_serial is None:
            return None
        target = probe_target(spec, site, store, timeout=2.0)
        if served_serial(target) == old_serial:
            return None
        swapper.swap(store.bundle(site.domain).read_text())
        swapper.wait_served(old_serial)
    except StackctlError as e:
        return e.message
    except OSError as e:
        return f"{e.filename}: {e.strerror}"
    return None
