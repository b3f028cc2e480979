"""Fakes for faults that cannot be produced for real, injected through stackctl.flows.edges.Edges."""

from __future__ import annotations

import contextlib
import datetime as dt
import socket
import ssl
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ec

from stackctl.certs.issued import Issued, Issuer
from stackctl.certs.issuers import issuer_for
from stackctl.certs.keys import key_pem
from stackctl.certs.store import CertStore
from stackctl.config.layout import StackPaths
from stackctl.config.settings import DEFAULT_CERT_FILE, ENGINE_CAPABILITIES, Capabilities, PullPolicy
from stackctl.config.sites import Site
from stackctl.config.spec import StackSpec
from stackctl.config.subnets import NetworkSubnet
from stackctl.core.clock import Deadline
from stackctl.core.errors import OperationFailed
from stackctl.engines.base import (
    ApplyResult,
    ContainerInfo,
    Engine,
    ImageDetails,
    Prepared,
    PullProgress,
    Report,
    SecretHold,
    UpdateRolledBack,
)
from stackctl.engines.docker.engine import OneHostForm
from stackctl.engines.haproxy_build import HaproxyBuild
from stackctl.engines.host import prepare_host_folders
from stackctl.engines.model import Service, services
from stackctl.engines.status import ContainerStatus
from stackctl.engines.swarm.plan import rendered_for_swarm
from stackctl.flows.edges import Edges
from stackctl.haproxy.hotswap import ApiUnavailable
from stackctl.haproxy.runtime_api import ProxyStat, RuntimeApi
from stackctl.render.haproxy import config_id
from stackctl.render.swarm import tls_key
from tests.helpers import self_signed_bundle


class BrokenKeyIssuer:
    """Fake CA: issues through the real one, then hands out a key that does not match the certificate."""

    def __init__(self, real: Issuer) -> None:
        self.real = real
        self.source = real.source

    def issue(self, spec: StackSpec, site: Site, store: CertStore, now: dt.datetime) -> Issued:
        issued = self.real.issue(spec, site, store, now)
        return Issued(issued.leaf, issued.chain, key_pem(ec.generate_private_key(ec.SECP256R1())), issued.notes)


def broken_key_edges() -> Edges:
    return Edges(issuer_for=lambda site: BrokenKeyIssuer(issuer_for(site)))


@dataclass
class ServedBundle:
    """An in-process TLS server on 127.0.0.1 that serves whatever bundle it currently holds: the part of
    HAProxy a certificate swap is judged by (the served serial, through a real handshake)."""

    bundle: bytes
    port: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)

    def __enter__(self) -> ServedBundle:
        self._sock = socket.create_server(("127.0.0.1", 0))
        self._sock.settimeout(0.1)
        self.port = self._sock.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()
        return self

    def _context(self) -> ssl.SSLContext:
        with tempfile.NamedTemporaryFile(suffix=".pem") as pem:
            pem.write(self.bundle)
            pem.flush()
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(pem.name)
        return ctx

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            with contextlib.suppress(OSError, ssl.SSLError), self._context().wrap_socket(conn, server_side=True) as tls:
                tls.recv(1)

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._sock.close()


def first_site_bundle(folder: Path) -> bytes:
    """What the fake HAProxy serves: the first site's bundle (the stack's default one answers no site)."""
    return next(p for p in sorted(folder.glob("*.pem")) if p.name != DEFAULT_CERT_FILE).read_bytes()


@dataclass
class FakeRuntimeApi:
    """Fake of HAProxy's runtime API. Each swap takes the next behaviour: "serve" (commit and serve it),
    "refuse" (HAProxy's refusal), "serve-other" (committed, but something else is served)."""

    served: ServedBundle | None
    answering: bool = True
    behaviours: list[str] = field(default_factory=lambda: ["serve"] * 10)
    swaps: list[str] = field(default_factory=list)
    config_id: str | None = None  # what `show env STACKCTL_CONFIG_ID` answers
    server_states: list[str] = field(default_factory=list)

    def answers(self) -> bool:
        return self.answering

    def environment(self, name: str) -> str | None:
        return self.config_id if self.answering else None

    def set_server_state(self, backend: str, server: str, state: str) -> None:
        self._record(f"{backend}/{server} {state}")

    def set_server_address(self, backend: str, server: str, address: str, port: int) -> None:
        self._record(f"{backend}/{server} addr {address}:{port}")

    def server_address(self, backend: str, server: str) -> str | None:
        return "10.0.0.2" if self.answering else None

    def add_server(self, backend: str, server: str, address: str, port: int) -> None:
        self._record(f"{backend}/{server} added at {address}:{port}")

    def delete_server(self, backend: str, server: str) -> None:
        self._record(f"{backend}/{server} deleted")

    def _record(self, event: str) -> None:
        if not self.answering:
            raise OperationFailed("failed to reach the HAProxy runtime API", "check that the stack runs")
        self.server_states.append(event)

    def swap_certificate(self, name: str, bundle_pem: str) -> None:
        if not self.answering:
            raise ApiUnavailable("no answer on the socket")
        self.swaps.append(name)
        behaviour = self.behaviours.pop(0)
        if behaviour == "refuse":
            raise OperationFailed("HAProxy refused the new certificate: unable to load the private key", "check it")
        assert self.served is not None
        self.served.bundle = bundle_pem.encode() if behaviour == "serve" else self_signed_bundle(["other.example.com"])

    def stats(self, timeout: float = 3.0) -> list[ProxyStat]:
        return []


@dataclass
class FakeEngine(OneHostForm):
    """Fake engine for one host: records what the flows ask of it and runs nothing. With `served`, a
    reload makes the server load the bundle from disk, as HAProxy's new workers do."""

    root: Path
    served: ServedBundle | None = None
    running: dict[str, ContainerInfo] = field(default_factory=dict)
    reject_config: str | None = None
    calls: list[str] = field(default_factory=list)
    applied: list[list[str]] = field(default_factory=list)
    checked_configs: list[str] = field(default_factory=list)
    checked_folders: list[dict[str, str]] = field(default_factory=list)  # every file of each candidate
    runtime: FakeRuntimeApi | None = None  # a reload makes its worker report the config on disk...
    reloads_take: bool = True  # ...unless the new worker never comes (a fault a real HAProxy rarely shows)
    images: dict[str, ImageDetails] = field(default_factory=dict)  # what image_details finds, by reference or ID
    tags: list[str] = field(default_factory=list)
    unhealthy: set[str] = field(default_factory=set)  # image IDs whose containers never become healthy
    ran: list[str] = field(default_factory=list)  # what run_in was asked to run, by service
    elsewhere: set[str] = field(default_factory=set)  # services whose container runs on another node
    quic: tuple[bool, bool] = (False, False)  # what `haproxy -vv` says: QUIC, QUIC_OPENSSL_COMPAT
    openssl: tuple[int, int, int] | None = (3, 0, 19)  # and the OpenSSL it runs on
    failing: dict[str, str] = field(default_factory=dict)  # service -> the last error line of what runs in it
    pulls: list[str] = field(default_factory=list)  # what the next ensure_images reports as pulled
    networks: list[NetworkSubnet] = field(default_factory=list)  # the engine's other networks
    on_networks: dict[tuple[str, str], str] = field(default_factory=dict)  # (network, name) -> its address
    ip6tables: bool = False  # the engine keeps IPv6 clients' addresses (Docker 27 or later)

    def keeps_ipv6_clients(self) -> bool:
        return self.ip6tables

    def network_subnets(self) -> list[NetworkSubnet]:
        return list(self.networks)

    def address_on_network(self, network: str, name: str) -> str | None:
        return self.on_networks.get((network, name))

    def prepare(
        self, paths: StackPaths, spec: StackSpec, deadline: Deadline, report: Report, progress: PullProgress
    ) -> Prepared:
        wanted = services(spec, paths)
        self.ensure_images([s.image for s in wanted], spec.pull, progress)
        self.calls += ["ports", "networks"]
        return Prepared([], dict(self.running))

    def hand_over(self, paths: StackPaths, spec: StackSpec) -> None:
        prepare_host_folders(services(spec, paths), paths.run)  # real folders: the fake runs no container

    def ensure_images(self, images: list[str], policy: PullPolicy, progress: PullProgress) -> list[str]:
        self.calls.append(f"images {policy} {' '.join(images)}")
        pulled, self.pulls = [i for i in self.pulls if i in images], []
        return pulled

    def containers(self, project: str, compose_dir: Path) -> dict[str, ContainerInfo]:
        return dict(self.running)

    def running_images(self, spec: StackSpec, paths: StackPaths) -> dict[str, str]:
        return {name: info.image_id for name, info in self.running.items() if info.image_id}

    def validate_haproxy_config(self, haproxy: Service, candidate: Path) -> None:
        self.checked_configs.append((candidate / "haproxy.cfg").read_text())
        self.checked_folders.append({f.name: f.read_text() for f in candidate.iterdir()})
        if self.reject_config:
            raise OperationFailed(f"the image rejects the HAProxy configuration: {self.reject_config}", "fix it")

    def apply(
        self, paths: StackPaths, spec: StackSpec, services: list[Service], files: dict[str, str],
        deadline: Deadline, report: Report, recreate: frozenset[str] = frozenset(),
        on_ready: Callable[[str], None] | None = None, hold: SecretHold | None = None,
    ) -> ApplyResult:  # fmt: skip
        self.applied.append([s.name for s in services] + [f"recreate {name}" for name in sorted(recreate)])
        for service in services:
            image = self.images.get(service.image)
            if image is not None and image.id in self.unhealthy:
                raise OperationFailed(f"{service.name} did not become healthy", "see its log")
            if on_ready is not None:
                on_ready(service.name)
        self.running = {s.name: self._container(s) for s in services}
        return ApplyResult(created=[s.name for s in services])

    def _container(self, service: Service) -> ContainerInfo:
        image = self.images.get(service.image)
        return ContainerInfo(service.name, service.container_name, "running", service.config_hash,
                             image_id=image.id if image is not None else "")  # fmt: skip

    def addresses(self, spec: StackSpec) -> list[str]:
        return list(spec.ports.local_addresses)

    def running_haproxy(self, spec: StackSpec, paths: StackPaths) -> str | None:
        haproxy = self.running.get("haproxy")
        return haproxy.name if haproxy is not None and haproxy.status == "running" else None

    def run_in(
        self, spec: StackSpec, service: str, argv: list[str], stdin: Path | None = None, stdout: Path | None = None
    ) -> None:
        self.ran.append(service)
        if stdout is not None:
            stdout.write_text("-- half a dump\n")
        if service in self.failing:
            raise OperationFailed(f"{argv[-1].split()[0]} failed in {service}: {self.failing[service]}", "see its log")
        if stdout is not None:
            stdout.write_text(f"-- a dump the fake engine wrote for {service}\n")

    def runs_here(self, spec: StackSpec, service: str) -> bool:
        return service not in self.elsewhere

    def deployed(self, spec: StackSpec, paths: StackPaths) -> set[str]:
        return set(self.running)

    def describe(self, spec: StackSpec, paths: StackPaths) -> list[ContainerStatus]:
        return [ContainerStatus(c.service, c.name, None, c.status, None, None, 0, None) for c in self.running.values()]

    def runtime_socket_dir(self, spec: StackSpec, paths: StackPaths) -> Path | None:
        return paths.run / "haproxy"

    def edge_runtime_sockets(self, spec: StackSpec, paths: StackPaths) -> list[tuple[str, Path | None]]:
        return [("this host", self.runtime_socket_dir(spec, paths))]

    def remove_stack(
        self, paths: StackPaths, spec: StackSpec, volumes: bool, deadline: Deadline, report: Report
    ) -> list[str]:
        removed, self.running = list(self.running), {}
        return removed

    def haproxy_build(self, image: str) -> HaproxyBuild:
        self.calls.append(f"haproxy -vv {image}")
        return HaproxyBuild(*self.quic, self.openssl)

    def image_details(self, image: str) -> ImageDetails | None:
        return self.images.get(image)

    def tag_image(self, image_id: str, reference: str) -> None:
        self.tags.append(f"{reference} -> {image_id}")
        self.images[reference] = self.images.get(image_id) or ImageDetails(image_id, None, "", None)

    def remove_image(self, reference: str) -> bool:
        self.tags.append(f"removed {reference}")
        return self.images.pop(reference, None) is not None

    def remove_service(self, project: str, service: str, compose_dir: Path) -> None:
        self.calls.append(f"remove {service}")
        self.running.pop(service, None)

    def exec_in(self, container: str, argv: list[str], stdin: Path | None = None, stdout: Path | None = None) -> None:
        raise OperationFailed(f"the fake engine runs nothing in {container}", "use the docker tier")

    def reload_haproxy(self, container: str) -> None:
        self.calls.append(f"reload {container}")
        if self.runtime is not None and self.reloads_take:
            self.runtime.config_id = config_id((self.root / "compose/haproxy/haproxy.cfg").read_text())
        if self.served is not None:
            self.served.bundle = first_site_bundle(self.root / "certs" / "haproxy")


def no_engine(spec: StackSpec) -> Engine:
    """No Docker engine answers: what the real one raises on first use."""
    raise OperationFailed("failed to connect to the Docker engine at unix:///nowhere: it is not running", "start it")


def fake_edges(
    engine: Engine | Callable[[StackSpec], Engine] = no_engine, runtime: FakeRuntimeApi | None = None,
    broken_key: bool = False,
) -> Edges:  # fmt: skip
    """Edges with a fake engine and runtime API (the issuer is the real one, or BrokenKeyIssuer)."""
    answering: RuntimeApi = runtime or FakeRuntimeApi(None, answering=False)
    issuer: Callable[[Site], Issuer] = (lambda site: BrokenKeyIssuer(issuer_for(site))) if broken_key else issuer_for
    factory = engine if callable(engine) else (lambda spec: engine)
    return Edges(issuer_for=issuer, engine=factory, runtime=lambda sock: answering)


@dataclass
class FakeSwarmEngine(FakeEngine):
    """Fake engine for a Swarm: a deploy rolls HAProxy onto new secrets (with `served`, the server then
    loads the bundle from disk), and Swarm rolls back by itself the update of a service in `rolls_back`."""

    rolls_back: set[str] = field(default_factory=set)
    deployed_files: list[dict[str, str]] = field(default_factory=list)
    unreachable: list[str] = field(default_factory=list)  # edge nodes whose runtime API is out of reach
    held: list[bool] = field(default_factory=list)  # per apply: whether HAProxy's tasks kept running

    @property
    def capabilities(self) -> Capabilities:
        return ENGINE_CAPABILITIES["swarm"]

    def render_files(self, paths: StackPaths, spec: StackSpec, acme_thumbprint: str | None) -> dict[str, str]:
        return rendered_for_swarm(paths, spec, acme_thumbprint)

    def hand_over(self, paths: StackPaths, spec: StackSpec) -> None:
        pass  # a Swarm's HAProxy reads secrets

    def apply(
        self, paths: StackPaths, spec: StackSpec, services: list[Service], files: dict[str, str],
        deadline: Deadline, report: Report, recreate: frozenset[str] = frozenset(),
        on_ready: Callable[[str], None] | None = None, hold: SecretHold | None = None,
    ) -> ApplyResult:  # fmt: skip
        self.deployed_files.append(files)
        for service in services:
            if service.name in self.rolls_back:
                self.applied.append([s.name for s in services])
                raise UpdateRolledBack(f"{spec.name}_{service.name}", "rollback_completed", "task: non-zero exit (1)")
        result = super().apply(paths, spec, services, files, deadline, report, recreate, on_ready)
        # Stands in for Swarm's comparison: only the site certificates' secrets are taken as changed.
        held = hold is not None and hold("haproxy", frozenset(tls_key(site.domain) for site in spec.sites))
        self.held.append(held)
        if self.served is not None and any(s.name == "haproxy" for s in services) and not held:
            self.served.bundle = first_site_bundle(paths.certs / "haproxy")
        return ApplyResult(updated=result.created)

    def edge_runtime_sockets(self, spec: StackSpec, paths: StackPaths) -> list[tuple[str, Path | None]]:
        """This node's socket, and one edge node out of reach for each in `unreachable`."""
        return [("manager-1", self.runtime_socket_dir(spec, paths)), *((name, None) for name in self.unreachable)]

    def running_haproxy(self, spec: StackSpec, paths: StackPaths) -> str | None:
        return "haproxy" if "haproxy" in self.running else None
