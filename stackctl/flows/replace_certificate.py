"""Replace a stack's certificate: on disk, and live on a running HAProxy with zero failed requests.
Any failure puts the old files back, keeps the old certificate served and is written to the history."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from stackctl.certs.history import record
from stackctl.certs.inspect import serial_hex
from stackctl.certs.issuers import Issued
from stackctl.certs.store import CertStore, pem_of
from stackctl.config.layout import StackPaths
from stackctl.config.sites import Site
from stackctl.config.spec import StackSpec
from stackctl.core.clock import Deadline, timestamp
from stackctl.core.errors import OperationFailed, StackctlError
from stackctl.engines.base import Engine
from stackctl.engines.host import prepare_host_folders
from stackctl.engines.model import services
from stackctl.engines.swarm.engine import SwarmEngine
from stackctl.flows.edges import Edges
from stackctl.flows.swarm_deploy import deploy_stack, edge_addresses
from stackctl.haproxy.hotswap import ApiUnavailable
from stackctl.haproxy.runtime_api import RuntimeApi, socket_path
from stackctl.health.probe import served_serial
from stackctl.health.target import probe_target
from stackctl.render.haproxy import container_cert_path

SERVED_WAIT_S = 5.0
SWARM_ROLL_S = 180.0  # every edge node's HAProxy task replaced, one at a time


@dataclass(frozen=True)
class Replaced:
    issued: Issued
    source: str
    path: str  # runtime-api | reload | disk
    duration_s: float
    old_serial: str | None
    new_serial: str


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
    """(engine, running HAProxy container, why the engine could not be asked)."""
    try:
        engine = edges.engine()
    except StackctlError as e:
        return None, None, e.message
    container = engine.containers(spec.name, paths.compose_dir).get("haproxy")
    running = container is not None and container.status == "running"
    return engine, container.name if running and container else None, None


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


class _Swapper:
    """Hands a bundle to the running HAProxy: runtime API first, else a reload through the engine."""

    def __init__(
        self, paths: StackPaths, spec: StackSpec, site: Site, live: Liveness, engine: Engine | None,
        runtime: RuntimeApi,
    ) -> None:  # fmt: skip
        self.paths, self.spec, self.site, self.live, self.engine, self.runtime = (
            paths,
            spec,
            site,
            live,
            engine,
            runtime,
        )
        self.services = services(spec, paths)
        self.haproxy = next(s for s in self.services if s.name == "haproxy")
        self.path = "runtime-api"

    def wait_served(self, serial: str) -> None:
        _wait_served(self.paths, self.spec, self.site, serial)

    def hand_over(self) -> None:
        prepare_host_folders(self.services, self.paths.run)

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
            self.engine.validate_haproxy_config(self.haproxy, self.paths.haproxy_folder.absolute())
            self.engine.reload_haproxy(self.live.container)


class _SwarmSwapper:
    """On Swarm the bundle is a secret: a new one is created and HAProxy rolls onto it, node by node."""

    path = "swarm-secret"

    def __init__(self, paths: StackPaths, spec: StackSpec, site: Site, engine: SwarmEngine) -> None:
        self.paths, self.spec, self.site, self.engine = paths, spec, site, engine

    def hand_over(self) -> None:
        pass

    def swap(self, bundle: str) -> None:
        del bundle  # read back from certs/ by the deploy, like every other secret
        deadline = Deadline(SWARM_ROLL_S)
        deploy_stack(self.paths, self.spec, self.engine, deadline, _quiet, only=["haproxy"])

    def wait_served(self, serial: str) -> None:
        for address in edge_addresses(self.engine):
            _wait_served(self.paths, self.spec, self.site, serial, address)


def _quiet(line: str) -> None:
    del line


def _swarm_view(paths: StackPaths, spec: StackSpec, site: Site, edges: Edges) -> tuple[Liveness, _SwarmSwapper | None]:
    """Whether the stack's HAProxy service exists; the Swarm must be reachable to renew a running stack."""
    try:
        engine = edges.swarm_engine()
    except StackctlError as e:
        return Liveness(False, False, None, e.message), None
    if "haproxy" not in engine.service_names(spec.name):
        return Liveness(False, False, None, None), None
    return Liveness(False, False, "haproxy", None), _SwarmSwapper(paths, spec, site, engine)


def _wait_served(paths: StackPaths, spec: StackSpec, site: Site, serial: str, address: str | None = None) -> None:
    target = probe_target(spec, site, CertStore(paths.certs), timeout=2.0)
    if address is not None:
        target = replace(target, address=address)
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
    swarm_swapper: _SwarmSwapper | None = None
    if spec.engine == "swarm":
        live, swarm_swapper = _swarm_view(paths, spec, site, edges)
        engine, runtime = None, edges.runtime(socket_path(paths.run))
    else:
        live, engine, runtime = liveness(paths, spec, site, old_serial, edges)
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
        store.write_site(site.domain, issued.leaf, issued.chain, issued.key_pem, source)
    except StackctlError as e:
        store.restore(snapshot)
        finish("disk", f"failed: {e.message}")
        raise
    if not live.running:
        return Replaced(issued, source, "disk", finish("disk", "ok"), old_serial, new_serial)
    swapper: _Swapper | _SwarmSwapper = swarm_swapper or _Swapper(paths, spec, site, live, engine, runtime)
    try:
        swapper.hand_over()
        swapper.swap((pem_of([issued.leaf, *issued.chain]) + issued.key_pem).decode())
        swapper.wait_served(new_serial)
    except StackctlError as e:
        problem = _roll_back(store, snapshot, swapper, old_serial, paths, spec, site)
        finish(swapper.path, f"failed: {e.message}" + (f"; rollback failed: {problem}" if problem else ""))
        raise _swap_failure(site, e, old_serial, problem) from e
    return Replaced(issued, source, swapper.path, finish(swapper.path, "ok"), old_serial, new_serial)


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
    swapper: _Swapper | _SwarmSwapper,
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
