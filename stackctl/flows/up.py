"""The steps of `stackctl up`, in an order that changes nothing until every check has passed."""

from __future__ import annotations

import time
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path

from stackctl.certs.acme.account import AccountFiles, load_or_create_key
from stackctl.certs.inspect import serial_hex
from stackctl.certs.keys import key_pem
from stackctl.certs.localca import temporary_self_signed
from stackctl.certs.manage import current_is_usable, issue
from stackctl.certs.store import CertStore
from stackctl.config.layout import StackPaths
from stackctl.config.secrets import read_secrets
from stackctl.config.spec import StackSpec
from stackctl.core.clock import Deadline, utcnow
from stackctl.core.errors import InvalidInput
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
from stackctl.flows.upgrade_log import record_pulls
from stackctl.haproxy.runtime_api import RuntimeApi, socket_path
from stackctl.health.probe import ProbeResult, probe_until, wait_http_answers
from stackctl.health.target import probe_address, probe_target
from stackctl.render.haproxy import PHOTOPRISM_BACKEND
from stackctl.render.services import network_model

TEMPORARY_SOURCE = "temporary"


def acme_certificate_in_place(store: CertStore, spec: StackSpec) -> bool:
    site = store.read_site(spec.domain)
    return site is not None and site.source == "acme" and current_is_usable(store, spec, utcnow())


@dataclass
class UpOutcome:
    project: str
    applied: ApplyResult
    elapsed_s: float = 0.0
    probe: ProbeResult | None = None  # None when verification was skipped


def _certificate_in_place(store: CertStore, spec: StackSpec, edges: Edges, report: Report) -> None:
    if spec.tls.source == "acme":
        if not acme_certificate_in_place(store, spec):
            # HAProxy needs some certificate to start and answer the challenge; the real one follows live.
            leaf, key = temporary_self_signed(spec.names, spec.tls.key_type, utcnow())
            store.write_site(spec.domain, leaf, [], key_pem(key), TEMPORARY_SOURCE)
    elif not current_is_usable(store, spec, utcnow()):
        issued, source = issue(store, spec, utcnow(), edges.issuer_for)
        report(f"Issued a certificate for {', '.join(spec.names)} ({source}), serial {serial_hex(issued.leaf)}")


def _photoprism_guard(
    change: HaproxyChange, wanted: list[Service], ours: dict[str, ContainerInfo], runtime: RuntimeApi, report: Report
) -> AbstractContextManager[None]:
    """When a running HAProxy stays and PhotoPrism's container is replaced, drain it first."""
    photoprism = next(s for s in wanted if s.name == "photoprism")
    existing = ours.get("photoprism")
    replaced = existing is not None and existing.config_hash != photoprism.config_hash
    if replaced and change in (HaproxyChange.NONE, HaproxyChange.RELOAD):
        return drained(runtime, PHOTOPRISM_BACKEND, PHOTOPRISM_BACKEND, report)
    return nullcontext()


def bring_up(
    paths: StackPaths, spec: StackSpec, timeout: float, edges: Edges, report: Report, progress: PullProgress
) -> UpOutcome:
    """Render, check, create certificates, then converge the containers; nothing changes until every
    check has passed. `report` gets one line per step; `progress` gets image pull progress."""
    deadline = Deadline(timeout)
    store = CertStore(paths.certs)
    if spec.tls.source == "acme":
        load_or_create_key(AccountFiles(paths.certs))  # haproxy.cfg answers challenges with its thumbprint
    read_secrets(paths.secrets)  # before anything else
    if spec.tls.source == "import" and store.read_site(spec.domain) is None:
        raise InvalidInput("tls.source is import but no certificate was imported", "run: stackctl certs import FILE")
    engine = edges.engine()
    before = services(spec, paths)  # the TCP ports and images do not depend on what the image can do
    pulled = engine.ensure_images([s.image for s in before], spec.pull, progress)
    ours = engine.containers(spec.name, paths.compose_dir)  # refuses another folder's same-named stack
    engine.check_ports_free(before, ours)
    record_pulls(engine, paths, pulled)  # nothing is written in the stack folder before these checks
    refresh_features(engine, paths, spec)  # ports.http3: auto asks the image whether it has QUIC
    states = generated_states(paths, spec)
    wanted = services(spec, paths)

    _certificate_in_place(store, spec, edges, report)
    prepare_host_folders(wanted, paths.run)
    haproxy = next(s for s in wanted if s.name == "haproxy")
    runtime = edges.runtime(socket_path(paths.run))
    change = haproxy_change(ours.get("haproxy"), haproxy, states, runtime)
    if change is not HaproxyChange.NONE:
        check_candidate(engine, paths, haproxy, states, report)  # a rejected config never reaches the proxy
    for name in write_changed(paths, states):
        report(f"wrote {name}")
    with _photoprism_guard(change, wanted, ours, runtime, report):
        applied = engine.apply(spec.name, network_model(spec), wanted, paths.compose_dir, deadline, report)
    if change is HaproxyChange.RELOAD:
        reload_confirmed(Reloader(engine, runtime, haproxy.container_name), paths, states, report)
    undrain(runtime, PHOTOPRISM_BACKEND, PHOTOPRISM_BACKEND)
    wait_http_answers(probe_address(spec), spec.ports.http, spec.domain, deadline)
    return UpOutcome(spec.name, applied)


def obtain_acme_live(paths: StackPaths, spec: StackSpec, edges: Edges, report: Report) -> None:
    """With HAProxy answering challenges, get the real certificate and swap it in live."""
    store = CertStore(paths.certs)
    if acme_certificate_in_place(store, spec):
        return
    report(f"obtaining a certificate for {', '.join(spec.names)} from {spec.tls.acme.directory_url}")
    issuer = edges.issuer_for(spec)
    replaced = replace_certificate(
        paths, spec, lambda: (issuer.issue(spec, store, utcnow()), issuer.source), "first ACME certificate", edges
    )
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
    if spec.tls.source == "acme":
        obtain_acme_live(paths, spec, edges, report)
    if verify:
        left = max(1.0, timeout - (time.monotonic() - started))
        outcome.probe = probe_until(probe_target(spec, CertStore(paths.certs), ca_file), left)
    outcome.elapsed_s = time.monotonic() - started
    return outcome
