"""What flows need from wherever containers run: one small interface. `docker.DockerEngine` is the
single-host implementation; unit tests drive the flows with a fake engine."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from stackctl.core.clock import Deadline
from stackctl.engines.model import Service
from stackctl.render.services import NetworkModel

# (image, layer id, bytes done, bytes total)
PullProgress = Callable[[str, str, int, int], None]
Report = Callable[[str], None]


@dataclass
class ApplyResult:
    kept: list[str] = field(default_factory=list)
    started: list[str] = field(default_factory=list)
    created: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)  # rolled in place (Swarm)


@dataclass(frozen=True)
class ContainerInfo:
    """A service's container as the flows see it."""

    service: str
    name: str
    status: str  # running, exited, created, ...
    config_hash: str | None
    host_ports: frozenset[int] = frozenset()
    image_id: str = ""


@dataclass(frozen=True)
class ImageDetails:
    """What a user compares between two images of a service."""

    id: str
    digest: str | None  # the registry's content digest; None for an image built or imported here
    created: str
    version: str | None  # the org.opencontainers.image.version label


class Engine(Protocol):
    def ensure_images(self, images: list[str], policy: str, progress: PullProgress) -> list[str]:
        """Pull per the policy (always | missing | never); returns what was pulled."""

    def containers(self, project: str, compose_dir: Path) -> dict[str, ContainerInfo]:
        """This stack's service containers by service; refuses another folder's same-named project."""

    def check_ports_free(self, services: list[Service], ours: dict[str, ContainerInfo]) -> None:
        """Each host port a new container will publish is free, unless one of ours holds it."""

    def check_networks(self, services: list[Service]) -> None:
        """Every network of the user's a service joins (`external_networks`) exists."""

    def validate_haproxy_config(self, haproxy: Service, candidate: Path) -> None:
        """`haproxy -c` of the configuration folder `candidate` in the image that will run it."""

    def apply(
        self, project: str, network: NetworkModel, services: list[Service], compose_dir: Path, deadline: Deadline,
        report: Report, recreate: frozenset[str] = frozenset(), on_ready: Callable[[str], None] | None = None,
    ) -> ApplyResult:  # fmt: skip
        """The network, then each container created, kept or replaced in order, each waited for;
        the services in `recreate` get a new container even when their settings are unchanged.
        `on_ready` gets each service's name once it is ready, before the next one starts."""

    def haproxy_quic_support(self, image: str) -> tuple[bool, bool]:
        """From `haproxy -vv` in a one-off container: (built with QUIC, with QUIC_OPENSSL_COMPAT)."""

    def image_details(self, image: str) -> ImageDetails | None:
        """A local image by reference or ID, or None when there is none."""

    def tag_image(self, image_id: str, reference: str) -> None:
        """Point `reference` at the image `image_id`."""

    def remove_image(self, reference: str) -> bool:
        """Remove a tag, or an image by ID; False when a container still uses it."""

    def remove_service(self, project: str, service: str, compose_dir: Path) -> None:
        """Stop and remove the service's container, if it has one."""

    def exec_in(self, container: str, argv: list[str], stdin: Path | None = None, stdout: Path | None = None) -> None:
        """Run `argv` in a running container, streaming a host file to its stdin and/or its stdout to a
        host file (created 0600); raises OperationFailed with its last error line when it fails."""

    def reload_haproxy(self, container: str) -> None:
        """A seamless master-worker reload."""

    def down(self, project: str, network: str, compose_dir: Path, volumes: bool, report: Report) -> list[str]:
        """Remove the containers and the network (named volumes only with `volumes`)."""
