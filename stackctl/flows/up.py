"""The steps of `stackctl up`, in an order that changes nothing until every check has passed."""

from __future__ import annotations

import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from stackctl.certs.inspect import serial_hex
from stackctl.certs.keys import key_pem
from stackctl.certs.localca import temporary_self_signed
from stackctl.certs.manage import current_is_usable, issue
from stackctl.certs.store import CertStore
from stackctl.config.layout import StackPaths
from stackctl.config.secrets import read_secrets
from stackctl.config.sites import Site
from stackctl.config.spec import StackSpec
from stackctl.core.clock import Deadline, utcnow
from stackctl.core.errors import InvalidInput, OperationFailed, StackctlError
from stackctl.engines.base import ApplyResult, ContainerInfo, PullProgress, Report
from stackctl.engines.features import refresh_features
from stackctl.engines.host import prepare_host_folders
from stackctl.engines.model import Service, services
from stackctl.flows.edges import Edges
from stackctl.flows.generated import generated_states, write_changed
from stackctl.flows.haproxy_config import (
    HaproxyChange,
    Reloader,
    check_candidate,
    drained,
    haproxy_change,
    reload_confirmed,
    undrain,
)
from stackctl.flows.replace_certificate import replace_certificate
from stackctl.flows.site_databases import ensure_site_databases, sites_needing_databases
from stackctl.flows.upgrade_log import record_pulls
from stackctl.haproxy.runtime_api import RuntimeApi, socket_path
from stackctl.health.probe import ProbeResult, probe_until, wait_http_answers
from stackctl.health.target import probe_address, probe_sites
from stackctl.render.services import network_model

TEMPORARY_SOURCE = "temporary"


def acme_certificate_in_place(store: CertStore, site: Site) -> bool:
    stored = store.read_site(site.domain)
    return stored is not None and stored.source == "acme" and current_is_usable(store, site, utcnow())


@dataclass
class UpOutcome:
    project: str
    applied: ApplyResult
    elapsed_s: float = 0.0
    probe: ProbeResult | None = None  # the first site's; None when verification was skipped
    site_probes: dict[str, ProbeResult] = field(default_factory=dict)  # every site's, by domain


def _certificate_in_place(store: CertStore, spec: StackSpec, site: Site, edges: Edges, report: Report) -> None:
    """A site's certificate before HAProxy (re)loads: an issued one, or a temporary one for ACME."""
    if site.tls.source == "acme":
        if not acme_certificate_in_place(store, site):
            # HAProxy needs some certificate to start and answer the challenge; the real one follows live.
            leaf, key = temporary_self_signed(site.names, site.tls.key_type, utcnow())
            store.write_site(site.domain, leaf, [], key_pem(key), TEMPORARY_SOURCE)
    elif not current_is_usable(store, site, utcnow()):
        issued, source = issue(store, spec, site, utcnow(), edges.issuer_for)
        report(f"Issued a certificate for {', '.join(site.names)} ({source}), serial {serial_hex(issued.leaf)}")


def _drain_replaced_apps(
    stack: ExitStack, spec: StackSpec, change: HaproxyChange, wanted: list[Service], ours: dict[str, ContainerInfo],
    runtime: RuntimeApi, report: Report,
) -> None:  # fmt: skip
    """When a running HAProxy stays and a site's container is replaced, that site is drained first."""
    if change not in (HaproxyChange.NONE, HaproxyChange.RELOAD):
        return
    by_name = {s.name: s for s in wanted}
    for site in spec.sites:
        existing = ours.get(site.service or "")
        service = by_name.get(existing.service) if existing is not None else None
        if existing is not None and (service is None or not service.matches(existing.config_hash)):
            stack.enter_context(drained(runtime, site.backend, site.server, report))


def check_certificate_inputs(paths: StackPaths, spec: StackSpec, store: CertStore) -> None:
    """Before anything changes: the ACME account (haproxy.cfg answers challenges with its thumbprint),
    the secrets, and every imported certificate."""
    if any(site.tls.source == "acme" for site in spec.sites):
        from stackctl.certs.acme.account import AccountFiles, load_or_create_key  # josepy loads only for ACME

        load_or_create_key(AccountFiles(paths.certs))
    read_secrets(paths.secrets, spec)
    for site in spec.sites:
        if site.tls.source == "import" and store.read_site(site.domain) is None:
            raise InvalidInput(
                f"{site.domain}: tls.source is import but no certificate was imported",
                f"run: stackctl certs import FILE{'' if spec.legacy else f' --site {site.domain}'}",
            )


def certificates_in_place(store: CertStore, spec: StackSpec, edges: Edges, report: Report) -> None:
    for site in spec.sites:
        _certificate_in_place(store, spec, site, edges, report)


def bring_up(
    paths: StackPaths, spec: StackSpec, timeout: float, edges: Edges, report: Report, progress: PullProgress
) -> UpOutcome:
    """Render, check, create certificates, then converge the containers; nothing changes until every
    check has passed. `report` gets one line per step; `progress` gets image pull progress."""
    deadline = Deadline(timeout)
    store = CertStore(paths.certs)
    check_certificate_inputs(paths, spec, store)
    engine = edges.engine()
    before = services(spec, paths)  # the TCP ports and images do not depend on what the image can do
    pulled = engine.ensure_images([s.image for s in before], spec.pull, progress)
    ours = engine.containers(spec.name, paths.compose_dir)  # refuses another folder's same-named stack
    engine.check_ports_free(before, ours)
    engine.check_networks(before)
    record_pulls(engine, paths, pulled)  # nothing is written in the stack folder before these checks
    refresh_features(engine, paths, spec)  # ports.http3: auto asks the image whether it has QUIC
    states = generated_states(paths, spec)
    wanted = services(spec, paths)

    certificates_in_place(store, spec, edges, report)
    prepare_host_folders(wanted, paths.run)
    new_databases = sites_needing_databases(spec, wanted, ours)
    haproxy = next(s for s in wanted if s.name == "haproxy")
    runtime = edges.runtime(socket_path(paths.run))
    change = haproxy_change(ours.get("haproxy"), haproxy, states, runtime)
    if change is not HaproxyChange.NONE:
        check_candidate(engine, paths, haproxy, states, report)  # a rejected config never reaches the proxy
    for name in write_changed(paths, states):
        report(f"wrote {name}")

    def when_ready(service: str) -> None:
        if service == "mariadb":  # before any PhotoPrism site that needs its database starts
            ensure_site_databases(engine, paths, spec, new_databases, report)

    with ExitStack() as draining:
        _drain_replaced_apps(draining, spec, change, wanted, ours, runtime, report)
        applied = engine.apply(
            spec.name, network_model(spec), wanted, paths.compose_dir, deadline, report, on_ready=when_ready
        )
    if change is HaproxyChange.RELOAD:
        reload_confirmed(Reloader(engine, runtime, haproxy.container_name), paths, states, report)
    for site in spec.sites:
        if site.service is not None:
            undrain(runtime, site.backend, site.server)
    wait_http_answers(probe_address(spec), spec.ports.http, spec.first_site.domain, deadline)
    return UpOutcome(spec.name, applied)


def obtain_acme_certificates(paths: StackPaths, spec: StackSpec, edges: Edges, report: Report) -> None:
    """Every ACME site's certificate, live. A site the CA refuses does not keep the others from theirs;
    `up` then fails naming it, while the other sites serve."""
    failed = []
    for site in spec.sites:
        if site.tls.source != "acme":
            continue
        try:
            obtain_acme_live(paths, spec, site, edges, report)
        except StackctlError as e:
            if len(spec.sites) == 1:
                raise
            report(f"{site.domain}: {e.message}")
            failed.append(site.domain)
    if failed:
        raise OperationFailed(
            f"no ACME certificate for {', '.join(failed)} (the other sites are up and serve theirs)",
            "fix what is reported above for that site, then run stackctl up again",
        )


def obtain_acme_live(paths: StackPaths, spec: StackSpec, site: Site, edges: Edges, report: Report) -> None:
    """With HAProxy answering challenges, get the site's real certificate and swap it in live."""
    store = CertStore(paths.certs)
    if acme_certificate_in_place(store, site):
        return
    report(f"obtaining a certificate for {', '.join(site.names)} from {site.tls.acme.directory_url}")
    issuer = edges.issuer_for(site)
    replaced = replace_certificate(
        paths, spec, site, lambda: (issuer.issue(spec, site, store, utcnow()), issuer.source),
        "first ACME certificate", edges,
    )  # fmt: skip
    report(f"Serving the ACME certificate (serial {replaced.new_serial}) via {replaced.path}")


def up(
    paths: StackPaths,
    spec: StackSpec,
    timeout: float,
    edges: Edges,
    report: Report,
    progress: PullProgress,
    verify: bool = True,
    ca_file: Path | None = None,
) -> UpOutcome:
    """`stackctl up`: bring the stack up, get an ACME certificate live if needed, verify over HTTPS."""
    if spec.engine == "swarm":
        from stackctl.flows.swarm_up import swarm_up

        return swarm_up(paths, spec, timeout, edges, report, progress, verify, ca_file)
    started = time.monotonic()
    outcome = bring_up(paths, spec, timeout, edges, report, progress)
    obtain_acme_certificates(paths, spec, edges, report)
    if verify:
        left = max(1.0, timeout - (time.monotonic() - started))
        store = CertStore(paths.certs)
        outcome.site_probes = probe_sites(spec, store, ca_file, lambda target: probe_until(target, left))
        outcome.probe = outcome.site_probes[spec.first_site.domain]
    outcome.elapsed_s = time.monotonic() - started
    return outcome
