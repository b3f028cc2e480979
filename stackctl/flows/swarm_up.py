"""`stackctl up` on Swarm: certificates, then the deploy, then HTTPS verified on every edge node."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from stackctl.certs.store import CertStore
from stackctl.config.layout import StackPaths
from stackctl.config.spec import StackSpec
from stackctl.core.clock import Deadline
from stackctl.core.errors import OperationFailed
from stackctl.engines.base import PullProgress, Report
from stackctl.engines.docker.engine import DockerEngine
from stackctl.engines.swarm.engine import SwarmEngine
from stackctl.flows.edges import Edges
from stackctl.flows.site_databases import ensure_site_databases
from stackctl.flows.swarm_deploy import deploy_stack, edge_addresses, prepare_swarm
from stackctl.flows.up import UpOutcome, certificates_in_place, check_certificate_inputs, obtain_acme_certificates
from stackctl.health.probe import ProbeResult, Target, probe, probe_until, wait_http_answers
from stackctl.health.target import probe_sites


def _site_databases(engine: SwarmEngine, paths: StackPaths, spec: StackSpec, report: Report) -> None:
    """The sites form's PhotoPrism sites each get a database and user, through MariaDB's local task."""
    sites = [s for s in spec.sites if s.photoprism is not None and not s.legacy and s.service is not None]
    if spec.database.kind != "mariadb" or not sites:
        return
    container = engine.local_container(spec.name, "mariadb")
    if container is None:
        raise OperationFailed(
            "MariaDB runs on another node, so stackctl cannot create the sites' databases from here",
            "run stackctl up on the node labeled stackctl.data=true",
        )
    ensure_site_databases(DockerEngine(engine.client), paths, spec, sites, report, container)


def probe_every_edge(
    spec: StackSpec, store: CertStore, ca_file: Path | None, addresses: list[str],
    check: Callable[[Target], ProbeResult], only: str | None = None,
) -> dict[str, ProbeResult]:  # fmt: skip
    """Each site on each edge node; keyed by domain, and by `domain @ address` with several nodes."""
    results = {}
    for address in addresses:
        for domain, result in probe_sites(spec, store, ca_file, check, only, address).items():
            results[domain if len(addresses) == 1 else f"{domain} @ {address}"] = result
    return results


def verify_on_edges(
    paths: StackPaths, spec: StackSpec, ca_file: Path | None, edges: Edges, only: str | None = None
) -> dict[str, ProbeResult]:
    """`stackctl verify` on Swarm: every site (or `only`) on every edge node, the served serial included."""
    addresses = edge_addresses(edges.swarm_engine())
    return probe_every_edge(spec, CertStore(paths.certs), ca_file, addresses, probe, only)


def swarm_up(
    paths: StackPaths, spec: StackSpec, timeout: float, edges: Edges, report: Report, progress: PullProgress,
    verify: bool = True, ca_file: Path | None = None,
) -> UpOutcome:  # fmt: skip
    started = time.monotonic()
    deadline = Deadline(timeout)
    store = CertStore(paths.certs)
    check_certificate_inputs(paths, spec, store)
    engine = edges.swarm_engine()  # a manager, or the command to make one
    prepare_swarm(paths, spec, engine, deadline, report, progress)
    certificates_in_place(store, spec, edges, report)

    def when_ready(service: str) -> None:
        if service == "mariadb":
            _site_databases(engine, paths, spec, report)

    applied = deploy_stack(paths, spec, engine, deadline, report, on_ready=when_ready)
    addresses = edge_addresses(engine)
    for address in addresses:
        wait_http_answers(address, spec.ports.http, spec.first_site.domain, deadline)
    outcome = UpOutcome(spec.name, applied)
    obtain_acme_certificates(paths, spec, edges, report)
    if verify:
        left = max(1.0, timeout - (time.monotonic() - started))
        outcome.site_probes = probe_every_edge(
            spec, store, ca_file, addresses, lambda target: probe_until(target, left)
        )
        outcome.probe = next(iter(outcome.site_probes.values()))
    outcome.elapsed_s = time.monotonic() - started
    return outcome
