"""Where and how to probe a stack's HTTPS endpoint, from its spec and certificate store."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

from stackctl.certs.inspect import serial_hex
from stackctl.certs.store import CertStore
from stackctl.config.layout import StackPaths
from stackctl.config.sites import Site
from stackctl.config.spec import StackSpec
from stackctl.core.errors import InvalidInput
from stackctl.engines.features import edge_features
from stackctl.health.probe import ProbeResult, Target


def probe_target(
    spec: StackSpec, site: Site, store: CertStore, ca_file: Path | None = None, timeout: float = 5.0,
    http3: bool | None = None,
) -> Target:  # fmt: skip
    """`http3`: whether the stack serves HTTP/3, when the caller knows already (one answer for every site)."""
    if ca_file is not None:
        cafile: str | None = str(ca_file)
    elif site.tls.source == "local-ca" and store.ca_cert.exists():
        cafile = str(store.ca_cert)
    else:
        cafile = None
    stored = store.read_site(site.domain)
    target = Target(
        address=spec.ports.local_address,
        domain=site.domain,
        https_port=spec.ports.https,
        http_port=spec.ports.http,
        cafile=cafile,
        expected_serial=serial_hex(stored.leaf) if stored else None,
        timeout=timeout,
        http3=_serves_http3(spec, store) if http3 is None else http3,
    )
    upstream = site.upstream
    if upstream is None:
        return target
    path = upstream.health if upstream.health != "tcp" else "/"
    return replace(target, status_path=path, websocket=False, strict_status=False)


def _serves_http3(spec: StackSpec, store: CertStore) -> bool:
    try:
        return edge_features(StackPaths(store.root.parent), spec).http3  # certs/ is in the stack folder
    except InvalidInput:
        return False  # `up` refuses that setting; a probe only reports


def probe_sites(
    spec: StackSpec, store: CertStore, ca_file: Path | None, check: Callable[[Target], ProbeResult],
    only: str | None = None, address: str | None = None,
) -> dict[str, ProbeResult]:  # fmt: skip
    """Each site's HTTPS check (or only the site `only`), concurrently: domain -> result. `address`:
    another address than the stack's own (a Swarm edge node)."""
    sites = [s for s in spec.sites if only is None or s.domain == only]
    http3 = _serves_http3(spec, store)
    with ThreadPoolExecutor(max_workers=min(16, len(sites))) as pool:
        targets = {s.domain: probe_target(spec, s, store, ca_file, http3=http3) for s in sites}
        if address is not None:
            targets = {domain: replace(t, address=address) for domain, t in targets.items()}
        futures = {domain: pool.submit(check, target) for domain, target in targets.items()}
        return {domain: future.result() for domain, future in futures.items()}


def probe_sites_at(
    spec: StackSpec, store: CertStore, ca_file: Path | None, addresses: list[str],
    check: Callable[[Target], ProbeResult], only: str | None = None,
) -> dict[str, ProbeResult]:  # fmt: skip
    """Each site (or `only`) at each address where the stack answers; keyed by domain, and by
    `domain @ address` when there are several (a Swarm's edge nodes)."""
    results = {}
    for address in addresses:
        for domain, result in probe_sites(spec, store, ca_file, check, only, address).items():
            results[domain if len(addresses) == 1 else f"{domain} @ {address}"] = result
    return results
