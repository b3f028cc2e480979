"""DockerEngine: the Engine interface on one Docker host, through the Docker SDK."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import docker
from docker.models.containers import Container

from stackctl.config.layout import StackPaths
from stackctl.config.secrets import read_env_file
from stackctl.config.settings import ENGINE_CAPABILITIES, Capabilities, PullPolicy
from stackctl.config.spec import StackSpec
from stackctl.config.subnets import NetworkSubnet
from stackctl.config.upstream_ca import upstream_ca_files
from stackctl.core.clock import Deadline
from stackctl.engines.base import (
    ApplyResult,
    Beside,
    ContainerInfo,
    ImageDetails,
    Prepared,
    PullProgress,
    Report,
    SecretHold,
)
from stackctl.engines.docker import apply, beside, execs, images, preflight
from stackctl.engines.docker.client import connect, docker_call
from stackctl.engines.docker.control import reload_haproxy
from stackctl.engines.docker.describe import container_rows
from stackctl.engines.docker.ownership import project_containers
from stackctl.engines.features import edge_features
from stackctl.engines.haproxy_build import HaproxyBuild
from stackctl.engines.host import prepare_host_folders
from stackctl.engines.labels import HASH_LABEL
from stackctl.engines.model import Service, absolute_under, services
from stackctl.engines.status import ContainerStatus
from stackctl.render import render_stack
from stackctl.render.services import HAPROXY_SOCKET_SOURCE, container_name, network_model, stack_services

IP6TABLES_BY_DEFAULT = 27  # the Docker release that routes IPv6 to containers with ip6tables by default


class OneHostForm:
    """What an engine that runs the stack as containers on this host can do, and the files it runs."""

    @property
    def capabilities(self) -> Capabilities:
        return ENGINE_CAPABILITIES["docker"]

    def render_files(self, paths: StackPaths, spec: StackSpec, acme_thumbprint: str | None) -> dict[str, str]:
        stats = paths.secrets / "haproxy.env"
        password = read_env_file(stats).get("STATS_PASSWORD") if stats.exists() else None
        cas = upstream_ca_files(paths.root, spec)
        return render_stack(spec, acme_thumbprint, edge_features(paths, spec), password, cas)


class DockerEngine(OneHostForm):
    """The stack as containers on this host."""

    def __init__(self, connect: Callable[[], docker.DockerClient]) -> None:
        """`connect` is called on first use, so what needs no engine (rendering) runs without one."""
        self._connect = connect
        self._client: docker.DockerClient | None = None

    @property
    def client(self) -> docker.DockerClient:
        if self._client is None:
            self._client = self._connect()
        return self._client

    def prepare(
        self, paths: StackPaths, spec: StackSpec, deadline: Deadline, report: Report, progress: PullProgress
    ) -> Prepared:
        wanted = services(spec, paths)  # the TCP ports and images do not depend on what the image can do
        pulled = self.ensure_images([s.image for s in wanted], spec.pull, progress)
        ours = self.containers(spec.name, paths.compose_dir)  # refuses another folder's same-named stack
        self.check_ports_free(wanted, ours)
        self.check_networks(wanted)
        return Prepared(pulled, ours)

    def hand_over(self, paths: StackPaths, spec: StackSpec) -> None:
        prepare_host_folders(services(spec, paths), paths.run)

    def addresses(self, spec: StackSpec) -> list[str]:
        return list(spec.ports.local_addresses)

    def keeps_ipv6_clients(self) -> bool:
        with docker_call("ask the Docker engine its version"):
            version = str(self.client.version().get("Version", ""))
        major = version.split(".", 1)[0]
        return major.isdigit() and int(major) >= IP6TABLES_BY_DEFAULT

    def running_haproxy(self, spec: StackSpec, paths: StackPaths) -> str | None:
        container = self.containers(spec.name, paths.compose_dir).get("haproxy")
        return container.name if container is not None and container.status == "running" else None

    def run_in(
        self, spec: StackSpec, service: str, argv: list[str], stdin: Path | None = None, stdout: Path | None = None
    ) -> None:
        self.exec_in(container_name(spec, service), argv, stdin, stdout)

    def runs_here(self, spec: StackSpec, service: str) -> bool:
        return True  # every container of the stack runs on this host

    def deployed(self, spec: StackSpec, paths: StackPaths) -> set[str]:
        return set(self.containers(spec.name, paths.compose_dir))

    def running_images(self, spec: StackSpec, paths: StackPaths) -> dict[str, str]:
        ours = self.containers(spec.name, paths.compose_dir)
        return {name: info.image_id for name, info in ours.items() if info.image_id}

    def describe(self, spec: StackSpec, paths: StackPaths) -> list[ContainerStatus]:
        return container_rows(self.client, spec, paths, [s.name for s in stack_services(spec)])

    def runtime_socket_dir(self, spec: StackSpec, paths: StackPaths) -> Path | None:
        return absolute_under(paths.compose_dir, HAPROXY_SOCKET_SOURCE)

    def edge_runtime_sockets(self, spec: StackSpec, paths: StackPaths) -> list[tuple[str, Path | None]]:
        return [("this host", self.runtime_socket_dir(spec, paths))]

    def remove_stack(
        self, paths: StackPaths, spec: StackSpec, volumes: bool, deadline: Deadline, report: Report
    ) -> list[str]:
        return self.down(spec.name, network_model(spec).name, paths.compose_dir, volumes, report)

    def ensure_images(self, wanted: list[str], policy: PullPolicy, progress: PullProgress) -> list[str]:
        return images.ensure_images(self.client, wanted, policy, progress)

    def containers(self, project: str, compose_dir: Path) -> dict[str, ContainerInfo]:
        found = project_containers(self.client, project, compose_dir)
        return {service: _info(service, container) for service, container in found.items()}

    def check_ports_free(self, services: list[Service], ours: dict[str, ContainerInfo]) -> None:
        held = frozenset(port for info in ours.values() for port in info.host_ports)
        preflight.check_ports_free(self.client, services, held)

    def start_beside(
        self, spec: StackSpec, paths: StackPaths, service: Service, deadline: Deadline, report: Report
    ) -> Beside:
        network = network_model(spec).name
        return beside.start_beside(self.client, spec.name, network, service, paths.compose_dir, deadline, report)

    def finish_beside(self, spec: StackSpec, moved: Beside, report: Report) -> None:
        model = next(m for m in stack_services(spec) if m.name == moved.service)
        beside.finish_beside(self.client, moved, model.stop_grace_period_s or 10, report)

    def discard_beside(self, moved: Beside) -> None:
        beside.discard_beside(self.client, moved)

    def network_subnets(self) -> list[NetworkSubnet]:
        return preflight.network_subnets(self.client)

    def check_networks(self, services: list[Service]) -> None:
        preflight.check_networks(self.client, services)

    def validate_haproxy_config(self, haproxy: Service, candidate: Path) -> None:
        preflight.validate_haproxy_config(self.client, haproxy, candidate)

    def address_on_network(self, network: str, name: str) -> str | None:
        return preflight.address_on_network(self.client, network, name)

    def apply(
        self, paths: StackPaths, spec: StackSpec, services: list[Service], files: dict[str, str],
        deadline: Deadline, report: Report, recreate: frozenset[str] = frozenset(),
        on_ready: Callable[[str], None] | None = None, hold: SecretHold | None = None,
    ) -> ApplyResult:  # fmt: skip
        del files, hold  # HAProxy reads them from its folder on this host and reloads in place
        network = network_model(spec)
        apply.ensure_network(self.client, network, spec.name)
        return apply.converge(
            self.client, spec.name, network.name, services, paths.compose_dir, deadline, report, recreate, on_ready
        )

    def haproxy_build(self, image: str) -> HaproxyBuild:
        return preflight.haproxy_build(self.client, image)

    def image_details(self, image: str) -> ImageDetails | None:
        return images.image_details(self.client, image)

    def tag_image(self, image_id: str, reference: str) -> None:
        images.tag_image(self.client, image_id, reference)

    def remove_image(self, reference: str) -> bool:
        return images.remove_image(self.client, reference)

    def remove_service(self, project: str, service: str, compose_dir: Path) -> None:
        container = project_containers(self.client, project, compose_dir).get(service)
        if container is not None:
            apply.remove_container(container)

    def exec_in(self, container: str, argv: list[str], stdin: Path | None = None, stdout: Path | None = None) -> None:
        execs.exec_in(self.client, container, argv, stdin, stdout)

    def reload_haproxy(self, container: str) -> None:
        reload_haproxy(self.client, container)

    def down(self, project: str, network: str, compose_dir: Path, volumes: bool, report: Report) -> list[str]:
        return apply.down(self.client, project, network, compose_dir, volumes, report)


def _info(service: str, container: Container) -> ContainerInfo:
    ports = frozenset(
        int(b["HostPort"]) for bindings in (container.ports or {}).values() for b in bindings or [] if b.get("HostPort")
    )
    image_id = str(container.attrs.get("Image", ""))
    return ContainerInfo(
        service, container.name or "", container.status, container.labels.get(HASH_LABEL), ports, image_id
    )


def connect_engine() -> DockerEngine:
    """The real engine; its first use raises OperationFailed naming the address and the fix when Docker
    is not there."""
    return DockerEngine(connect)
