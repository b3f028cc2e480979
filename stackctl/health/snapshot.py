"""Gather a StatusSnapshot: every source concurrently, each with its own timeout; one that fails or
hangs shows as unknown with its reason and never holds up the others."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

from stackctl.certs.history import last_renewal
from stackctl.certs.manage import reports
from stackctl.certs.store import CertStore
from stackctl.config.layout import StackPaths
from stackctl.config.spec import StackSpec
from stackctl.core.clock import timestamp, utcnow
from stackctl.core.errors import OperationFailed, StackctlError
from stackctl.engines.base import ContainerInfo, Engine
from stackctl.haproxy.guard_table import Ban, banned
from stackctl.haproxy.runtime_api import SOCKET_NAME, show_stat
from stackctl.health.model import BackendStatus, CertificateStatus, ContainerStatus, SiteStatus, StatusSnapshot
from stackctl.health.probe import ProbeResult, probe
from stackctl.health.target import probe_sites, probe_target

T = TypeVar("T")


@dataclass(frozen=True)
class Timeouts:
    containers: float = 3.0
    haproxy: float = 2.0
    certificates: float = 2.0
    probe: float = 4.0
    drift: float = 3.0


class _Source(threading.Thread):
    """A daemon thread, so a source that hangs cannot keep the process alive either."""

    def __init__(self, work: Callable[[], Any]) -> None:
        super().__init__(daemon=True)
        self.work = work
        self.value: Any = None
        self.error: str | None = None

    def run(self) -> None:
        try:
            self.value = self.work()
        except StackctlError as e:
            self.error = e.message
        except Exception as e:  # any failure of one source is shown, not raised
            self.error = f"{type(e).__name__}: {e}"


def _certificates(paths: StackPaths, spec: StackSpec) -> list[CertificateStatus]:
    tls = {site.domain: site.tls for site in spec.sites}

    def challenge(domain: str) -> str | None:
        site_tls = tls.get(domain, spec.first_site.tls)  # a removed site's certificate: the first site's
        return site_tls.acme.challenge if site_tls.source == "acme" else None

    return [
        CertificateStatus(
            **report.as_json(), last_renewal=last_renewal(paths, report.domain), challenge=challenge(report.domain)
        )
        for report in reports(CertStore(paths.certs), utcnow())
    ]


DriftSource = Callable[[dict[str, ContainerInfo] | None], list[str]]


def gather(
    paths: StackPaths, spec: StackSpec, engine: Engine, drift_of: DriftSource, timeouts: Timeouts = Timeouts()
) -> StatusSnapshot:
    """Every source at once, each with its own timeout. `drift_of` compares what stack.yaml renders to
    with the files and containers (given the stack's containers when the engine answered)."""
    snapshot = StatusSnapshot(stack=spec.name, domain=spec.first_site.domain, generated_at=timestamp())
    answered: dict[str, bool] = {}

    def containers() -> list[ContainerStatus]:
        rows = engine.describe(spec, paths)
        answered["engine"] = True
        return rows

    def haproxy() -> tuple[list[BackendStatus], dict[str, list[Ban]]]:
        folder = engine.runtime_socket_dir(spec, paths)
        if folder is None:
            raise OperationFailed("no HAProxy task on this node", "run stackctl status on an edge node")
        stats = show_stat(folder / SOCKET_NAME, timeout=timeouts.haproxy)
        tables = {table for site in spec.sites for table in site.tables}
        return [s for s in stats if s.proxy not in tables], _bans(spec, folder / SOCKET_NAME, timeouts.haproxy)

    store = CertStore(paths.certs)

    def probes() -> dict[str, ProbeResult]:
        return probe_sites(spec, store, None, lambda target: probe(replace(target, timeout=timeouts.probe - 0.5)))

    # A cluster's engine is asked first which node-local volume holds this node's HAProxy socket.
    haproxy_wait = timeouts.haproxy + (timeouts.containers if engine.capabilities.edge_nodes else 0.0)
    sources: dict[str, tuple[_Source, float]] = {
        "containers": (_Source(containers), timeouts.containers),
        "haproxy": (_Source(haproxy), haproxy_wait),
        "certificates": (_Source(lambda: _certificates(paths, spec)), timeouts.certificates),
        "probe": (_Source(probes), timeouts.probe),
    }
    snapshot.on_edge_nodes = engine.capabilities.edge_nodes
    if engine.capabilities.edge_nodes or len(spec.ports.local_addresses) > 1:  # the first site's HTTPS at each
        edges = _Source(lambda: _edge_probes(engine, spec, store, timeouts.probe - 0.5))
        sources["edges"] = (edges, timeouts.containers + timeouts.probe)
    for thread, _ in sources.values():
        thread.start()
    results: dict[str, Any] = {}
    for name, (thread, timeout) in sources.items():
        thread.join(timeout)
        if thread.is_alive():
            snapshot.unknown[name] = f"no answer within {timeout:g}s"
        elif thread.error is not None:
            snapshot.unknown[name] = thread.error
        else:
            results[name] = thread.value
    drift = _Source(lambda: drift_of(engine.containers(spec.name, paths.compose_dir) if answered else None))
    drift.start()
    drift.join(timeouts.drift)
    if drift.is_alive() or drift.error is not None:
        snapshot.unknown["drift"] = drift.error or f"no answer within {timeouts.drift:g}s"
    else:
        results["drift"] = drift.value
    snapshot.containers = results.get("containers")
    snapshot.backends, bans = results.get("haproxy") or (None, {})
    snapshot.certificates = results.get("certificates")
    site_probes: dict[str, ProbeResult] = results.get("probe") or {}
    snapshot.probe = site_probes.get(spec.first_site.domain)
    snapshot.drift = results.get("drift")
    snapshot.edges = results.get("edges")
    snapshot.sites = _sites(spec, snapshot.backends, snapshot.certificates, site_probes, bans)
    return snapshot


def _bans(spec: StackSpec, sock: Path, timeout: float) -> dict[str, list[Ban]]:
    """Each guarded site's banned addresses; a site whose table HAProxy lacks (a config from before
    the guard, until `up`) is left out, so it shows as unknown."""
    bans = {}
    now = int(time.time())
    for site in spec.sites:
        if site.login_guard is not None:
            with contextlib.suppress(OperationFailed):
                bans[site.domain] = banned(sock, site.guard_table, now, timeout)
    return bans


def _edge_probes(engine: Engine, spec: StackSpec, store: CertStore, seconds: float) -> dict[str, ProbeResult]:
    target = probe_target(spec, spec.first_site, store, timeout=seconds)
    return {address: probe(replace(target, address=address)) for address in engine.addresses(spec)}


def _sites(
    spec: StackSpec, backends: list[BackendStatus] | None, certificates: list[CertificateStatus] | None,
    probes: dict[str, ProbeResult], bans: dict[str, list[Ban]],
) -> list[SiteStatus]:  # fmt: skip
    servers = {b.proxy: b.status for b in backends or [] if b.kind == "server"}
    days = {c.domain: c.days_left for c in certificates or []}
    return [
        SiteStatus(
            domain=site.domain,
            kind=site.kind,
            backend=site.backend,
            service=site.service,
            backend_status=servers.get(site.backend),
            certificate_days_left=days.get(site.domain),
            probe=probes.get(site.domain),
            certificate_known=certificates is not None,
            guarded=site.login_guard is not None,
            banned=bans.get(site.domain),
        )
        for site in spec.sites
    ]


def snapshot_json(snapshot: StatusSnapshot) -> str:
    return json.dumps(snapshot.as_json(), indent=2)
