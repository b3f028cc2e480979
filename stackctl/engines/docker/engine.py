"""DockerEngine: the Engine interface on one Docker host, through the Docker SDK."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import docker
from docker.models.containers import Container

from stackctl.core.clock import Deadline
from stackctl.engines.base import ApplyResult, ContainerInfo, ImageDetails, PullProgress, Report
from stackctl.engines.docker import apply, execs, images, preflight
from stackctl.engines.docker.client import connect
from stackctl.engines.docker.control import reload_haproxy
from stackctl.engines.docker.ownership import project_containers
from stackctl.engines.labels import HASH_LABEL
from stackctl.engines.model import Service
from stackctl.render.services import NetworkModel


class DockerEngine:
    def __init__(self, client: docker.DockerClient) -> None:
        self.client = client

    def ensure_images(self, wanted: list[str], policy: str, progress: PullProgress) -> list[str]:
        return images.ensure_images(self.client, wanted, policy, progress)

    def containers(self, project: str, compose_dir: Path) -> dict[str, ContainerInfo]:
        found = project_containers(self.client, project, compose_dir)
        return {service: _info(service, container) for service, container in found.items()}

    def check_ports_free(self, services: list[Service], ours: dict[str, ContainerInfo]) -> None:
        held = frozenset(port for info in ours.values() for port in info.host_ports)
        preflight.check_ports_free(self.client, services, held)

    def check_networks(self, services: list[Service]) -> None:
        preflight.check_networks(self.client, services)

    def validate_haproxy_config(self, haproxy: Service, candidate: Path) -> None:
        preflight.validate_haproxy_config(self.client, haproxy, candidate)

    def apply(
        self, project: str, network: NetworkModel, services: list[Service], compose_dir: Path, deadline: Deadline,
        report: Report, recreate: frozenset[str] = frozenset(), on_ready: Callable[[str], None] | None = None,
    ) -> ApplyResult:  # fmt: skip
        apply.ensure_network(self.client, network.name, project, network.subnet, network.gateway)
        return apply.converge(
            self.client, project, network.name, services, compose_dir, deadline, report, recreate, on_ready
        )

    def haproxy_quic_support(self, image: str) -> tuple[bool, bool]:
        return preflight.haproxy_quic_support(self.client, image)

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
    """The real engine; raises OperationFailed naming the address and the fix when Docker is not there."""
    return DockerEngine(connect())
