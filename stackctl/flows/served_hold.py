"""When a Swarm's HAProxy need not roll onto new certificate secrets: every edge node already serves the
certificates on disk (they were handed to each running HAProxy through its runtime API). A roll would
only stop each edge node for its restart; the tasks take the new secrets at their next roll instead."""

from __future__ import annotations

from dataclasses import replace

from stackctl.certs.inspect import serial_hex
from stackctl.certs.store import CertStore
from stackctl.config.layout import StackPaths
from stackctl.config.spec import StackSpec
from stackctl.engines.base import Engine, Report, SecretHold
from stackctl.health.probe import served_serial
from stackctl.health.target import probe_target
from stackctl.render.swarm import tls_key

SERVED_PROBE_S = 2.0


def served_everywhere(paths: StackPaths, spec: StackSpec, engine: Engine, domains: list[str]) -> bool:
    """Whether every address the stack answers at serves, for each of `domains`, the certificate on disk."""
    store = CertStore(paths.certs)
    addresses = engine.addresses(spec)
    for domain in domains:
        stored = store.read_site(domain)
        if stored is None:
            return False
        target = probe_target(spec, spec.site(domain), store, timeout=SERVED_PROBE_S)
        if any(served_serial(replace(target, address=a)) != serial_hex(stored.leaf) for a in addresses):
            return False
    return True


def hold_when_served(paths: StackPaths, spec: StackSpec, engine: Engine, report: Report) -> SecretHold:
    """Keeps HAProxy's tasks when only sites' certificate secrets changed and every edge node serves the
    certificates on disk already; anything else (the default certificate, a password, a config) rolls."""
    by_key = {tls_key(site.domain): site.domain for site in spec.sites}

    def hold(service: str, keys: frozenset[str]) -> bool:
        if service != "haproxy" or not keys <= by_key.keys():
            return False
        domains = sorted(by_key[key] for key in keys)
        if not served_everywhere(paths, spec, engine, domains):
            return False
        report(
            f"kept HAProxy's tasks: every edge node serves the certificates on disk of {', '.join(domains)} "
            "(they read the new secrets at their next roll)"
        )
        return True

    return hold
