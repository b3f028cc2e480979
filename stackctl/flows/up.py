"""The steps of `stackctl up`, in an order that changes nothing until every check has passed."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from stackctl.certs.acme.account import AccountFiles, load_or_create_key
from stackctl.certs.inspect import serial_hex
from stackctl.certs.keys import key_pem
from stackctl.certs.localca import temporary_self_signed
from stackctl.certs.manage import current_is_usable, issue
from stackctl.certs.store import CertStore
from stackctl.config.layout import StackPaths
from stackctl.config.spec import StackSpec
from stackctl.core.clock import Deadline, utcnow
from stackctl.core.errors import InvalidInput
from stackctl.core.fsio import atomic_write
from stackctl.engines.base import ApplyResult, ContainerInfo, Engine, PullProgress, Report
from stackctl.engines.host import prepare_host_folders
from stackctl.engines.model import Service, services
from stackctl.flows.edges import Edges
from stackctl.flows.generated import generated_states, write_changed
from stackctl.flows.replace_certificate import replace_certificate
from stackctl.health.probe import ProbeResult, probe_until, wait_http_answers
from stackctl.health.target import probe_address, probe_target
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


def _check_haproxy_config(
    engine: Engine, paths: StackPaths, haproxy: Service, existing: ContainerInfo | None, cfg_text: str, report: Report
) -> None:
    """A config the image rejects never reaches the proxy (checked when HAProxy will be (re)created)."""
    if existing is not None and existing.config_hash == haproxy.config_hash:
        return
    candidate = paths.haproxy_cfg.absolute().with_name(".haproxy.cfg.candidate")
    atomic_write(candidate, cfg_text)
    try:
        report(f"checking haproxy.cfg with {haproxy.image}")
        engine.validate_haproxy_config(haproxy, candidate)
    finally:
        candidate.unlink(missing_ok=True)


def bring_up(
    paths: StackPaths, spec: StackSpec, timeout: float, edges: Edges, report: Report, progress: PullProgress
) -> UpOutcome:
    """Render, check, create certificates, then converge the containers; nothing changes until every
    check has passed. `report` gets one line per step; `progress` gets image pull progress."""
    deadline = Deadline(timeout)
    store = CertStore(paths.certs)
    if spec.tls.source == "acme":
        load_or_create_key(AccountFiles(paths.certs))  # haproxy.cfg answers challenges with its thumbprint
    states = generated_states(paths, spec)  # validates secrets too
    if spec.tls.source == "import" and store.read_site(spec.domain) is None:
        raise InvalidInput("tls.source is import but no certificate was imported", "run: stackctl certs import FILE")
    engine = edges.engine()
    cfg_text = next(s.desired for s in states if s.name.endswith("haproxy.cfg"))
    wanted = services(spec, paths, cfg_text)
    engine.ensure_images([s.image for s in wanted], spec.pull, progress)
    ours = engine.containers(spec.name, paths.compose_dir)
    engine.check_ports_free(wanted, ours)

    _certificate_in_place(store, spec, edges, report)
    prepare_host_folders(wanted, paths.run)
    haproxy = next(s for s in wanted if s.name == "haproxy")
    _check_haproxy_config(engine, paths, haproxy, ours.get("haproxy"), cfg_text, report)
    for name in write_changed(paths, states):
        report(f"wrote {name}")
    applied = engine.apply(spec.name, network_model(spec), wanted, paths.compose_dir, deadline, report)
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
