"""The seam between the flows and what they reach outside the process: the certificate issuer, the
container engine, HAProxy's runtime API, the machine's schedulers. The CLI uses the real ones; a test
passes its own (named Fake... or Broken...), e.g. a CA handing out a key that does not match. Product
code reads no switch."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from stackctl.certs.issuers import issuer_for
from stackctl.flows.schedule_host import SchedulerHost
from stackctl.haproxy.socket_api import SocketRuntimeApi

if TYPE_CHECKING:
    from stackctl.certs.issued import AcmeOrders, Issuer
    from stackctl.certs.store import CertStore
    from stackctl.config.sites import Site
    from stackctl.config.spec import StackSpec
    from stackctl.engines.base import Engine
    from stackctl.haproxy.runtime_api import RuntimeApi


def real_issuer_for(site: Site) -> Issuer:
    return issuer_for(site)


def real_acme_session(spec: StackSpec, site: Site, store: CertStore, directory_url: str | None) -> AcmeOrders:
    from stackctl.certs.acme.issuer import AcmeSession

    return AcmeSession(spec, site, store, directory_url)


def real_engine(spec: StackSpec) -> Engine:
    """The one place the engine is chosen: stack.yaml's `engine:`. It connects on first use."""
    if spec.engine == "swarm":
        from stackctl.engines.swarm.engine import connect_swarm

        return connect_swarm()
    from stackctl.engines.docker.engine import connect_engine

    return connect_engine()


def real_runtime(sock: Path) -> RuntimeApi:
    return SocketRuntimeApi(sock)


@dataclass(frozen=True)
class Edges:
    issuer_for: Callable[[Site], Issuer] = field(default=real_issuer_for)
    engine: Callable[[StackSpec], Engine] = field(default=real_engine)  # first use raises when it cannot connect
    runtime: Callable[[Path], RuntimeApi] = field(default=real_runtime)  # the runtime API at a socket path
    scheduler: SchedulerHost = field(default_factory=SchedulerHost)  # this machine's /etc, systemd and cron
    # A registered ACME client for a site, at a directory URL (None: the site's own).
    acme_session: Callable[[StackSpec, Site, CertStore, str | None], AcmeOrders] = field(default=real_acme_session)
