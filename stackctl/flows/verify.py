"""`stackctl verify`: every site (or one) over real HTTPS wherever the stack answers, the served
certificate's serial included."""

from __future__ import annotations

from pathlib import Path

from stackctl.certs.store import CertStore
from stackctl.config.layout import StackPaths
from stackctl.config.spec import StackSpec
from stackctl.flows.edges import Edges
from stackctl.health.probe import ProbeResult, probe
from stackctl.health.target import probe_sites_at


def verify(
    paths: StackPaths, spec: StackSpec, ca_file: Path | None, edges: Edges, only: str | None = None
) -> dict[str, ProbeResult]:
    """By domain; by `domain @ address` when the stack answers at several addresses (Swarm edge nodes)."""
    addresses = edges.engine(spec).addresses(spec)
    return probe_sites_at(spec, CertStore(paths.certs), ca_file, addresses, probe, only)
