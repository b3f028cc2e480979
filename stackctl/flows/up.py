"""The steps of `stackctl up`, in an order that changes nothing until every check has passed."""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from stackctl.certs.inspect import serial_hex
from stackctl.certs.keys import key_pem
from stackctl.certs.localca import ensure_default_certificate, temporary_self_signed
from stackctl.certs.manage import current_is_usable, issue
from stackctl.certs.store import CertStore
from stackctl.config.host_paths import check_host_paths
from stackctl.config.layout import StackPaths
from stackctl.config.secrets import read_secrets
from stackctl.config.sites import Site
from stackctl.config.spec import StackSpec
from stackctl.core.clock import Deadline, utcnow
from stackctl.core.errors import InvalidInput, OperationFailed, StackctlError
from stackctl.engines.base import ApplyResult, ContainerInfo, Engine, Prepared, PullProgress, Report, SecretHold
from stackctl.engines.features import refresh_features
from stackctl.engines.model import Service, services
from stackctl.flows.edges import Edges
from stackctl.flows.generated import FileState, generated_states, write_changed
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
from stackctl.flows.served_hold import hold_when_served
from stackctl.flows.site_databases import ensure_site_databases, sites_needing_databases
from stackctl.flows.subnets import check_subnet_free
from stackctl.flows.upgrade_log import record_pulls
from stackctl.flows.upstream_tls import check_https_upstreams
from stackctl.haproxy.runtime_api import RuntimeApi, socket_path
from stackctl.health.probe import ProbeResult, probe_until, wait_http_answers
from stackctl.health.target import probe_sites_at

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
    site_probes: dict[str, ProbeResult] = field(default_factory=dict)  # every site's, by domain (@ address)
    addresses: list[str] = field(default_factory=list)  # where the stack answers


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
    check_host_paths(paths.root, spec)
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
    if ensure_default_certificate(store, utcnow()):
        report("Made the stack's own certificate for names no site has (it names no site)")
    for site in spec.sites:
        _certificate_in_place(store, spec, site, edges, report)


def bring_up(
    paths: StackPaths, spec: StackSpec, timeout: float, edges: Edges, report: Report, progress: PullProgress
) -> UpOutcome:
    """Check, create certificates, render, then converge the services; nothing changes until every
    check has passed. `report` gets one line per step; `progress` gets image pull progress."""
    deadline = Deadline(timeout)
    store = CertStore(paths.certs)
    check_certificate_inputs(paths, spec, store)
    engine = edges.engine(spec)
    check_subnet_free(engine, spec)
    check_https_upstreams(paths.root, spec, engine, report)
    prepared = engine.prepare(paths, spec, deadline, report, progress)
    record_pulls(engine, paths, prepared.pulled)  # nothing is written in the stack folder before these checks
    refresh_features(engine, paths, spec)  # ports.http3: auto asks the image whether it has QUIC
    wanted = services(spec, paths)
    certificates_in_place(store, spec, edges, report)
    engine.hand_over(paths, spec)
    states = generated_states(paths, spec, engine)  # a Swarm's names its secrets, certificates among them
    new_databases = sites_needing_databases(spec, wanted, prepared.running)

    def when_ready(service: str) -> None:
        if service == "mariadb":  # before any PhotoPrism site that needs its database starts
            ensure_site_databases(engine, paths, spec, new_databases, report)

    converge = _converge_in_place if engine.capabilities.reloads_in_place else _converge_rolling
    applied = converge(Converging(engine, paths, spec, wanted, states, deadline, report, when_ready), prepared, edges)
    addresses = engine.addresses(spec)
    for address in addresses:
        wait_http_answers(address, spec.ports.http, spec.first_site.domain, deadline)
    return UpOutcome(spec.name, applied, addresses=addresses)


@dataclass(frozen=True)
class Converging:
    engine: Engine
    paths: StackPaths
    spec: StackSpec
    wanted: list[Service]
    states: list[FileState]
    deadline: Deadline
    report: Report
    on_ready: Callable[[str], None]

    def apply(self, hold: SecretHold | None = None) -> ApplyResult:
        files = {state.name: state.desired for state in self.states}
        return self.engine.apply(
            self.paths, self.spec, self.wanted, files, self.deadline, self.report, on_ready=self.on_ready, hold=hold
        )


def _converge_rolling(run: Converging, prepared: Prepared, edges: Edges) -> ApplyResult:
    """HAProxy's tasks roll onto the new configs and secrets with the deploy (Swarm), unless only
    certificates changed that every edge node serves already (a renewal handed them over live)."""
    del prepared, edges
    for name in write_changed(run.paths, run.states):
        run.report(f"wrote {name}")
    return run.apply(hold_when_served(run.paths, run.spec, run.engine, run.report))


def _converge_in_place(run: Converging, prepared: Prepared, edges: Edges) -> ApplyResult:
    """A kept HAProxy reloads a checked configuration, and a replaced app is drained first."""
    haproxy = next(s for s in run.wanted if s.name == "haproxy")
    runtime = edges.runtime(socket_path(run.paths.run))
    change = haproxy_change(prepared.running.get("haproxy"), haproxy, run.states, runtime)
    if change is not HaproxyChange.NONE:
        check_candidate(run.engine, run.paths, haproxy, run.states, run.report)  # never a rejected config
    for name in write_changed(run.paths, run.states):
        run.report(f"wrote {name}")
    with ExitStack() as draining:
        _drain_replaced_apps(draining, run.spec, change, run.wanted, prepared.running, runtime, run.report)
        applied = run.apply()
    if change is HaproxyChange.RELOAD:
        reload_confirmed(Reloader(run.engine, runtime, haproxy.container_name), run.paths, run.states, run.report)
    for site in run.spec.sites:
        if site.service is not None:
            undrain(runtime, site.backend, site.server)
    return applied


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
    started = time.monotonic()
    outcome = bring_up(paths, spec, timeout, edges, report, progress)
    obtain_acme_certificates(paths, spec, edges, report)
    if verify:
        left = max(1.0, timeout - (time.monotonic() - started))
        outcome.site_probes = probe_sites_at(
            spec, CertStore(paths.certs), ca_file, outcome.addresses, lambda target: probe_until(target, left)
        )
        outcome.probe = next(iter(outcome.site_probes.values()))  # the first site's (at the first address)
    outcome.elapsed_s = time.monotonic() - started
    return outcome
