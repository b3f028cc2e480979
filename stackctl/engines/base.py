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


@dataclass(frozen=True)
class ContainerInfo:
    """A service's container as the flows see it."""

    service: str
    name: str
    status: str  # running, exited, created, ...
    config_hash: str | None
    host_ports: frozenset[int] = frozenset()


class Engine(Protocol):
    def ensure_images(self, images: list[str], policy: str, progress: PullProgress) -> list[str]:
        """Pull per the policy (always | missing | never); returns what was pulled."""

    def containers(self, project: str, compose_dir: Path) -> dict[str, ContainerInfo]:
        """This stack's service containers by service; refuses another folder's same-named project."""

    def check_ports_free(self, services: list[Service], ours: dict[str, ContainerInfo]) -> None:
        """Each host port a new container will publish is free, unless one of ours holds it."""

    def validate_haproxy_config(self, haproxy: Service, candidate: Path) -> None:
        """`haproxy -c` of the configuration folder `candidate` in the image that will run it."""

    def apply(
        self, project: str, network: NetworkModel, services: list[Service], compose_dir: Path, deadline: Deadline,
        report: Report,
    ) -> ApplyResult:  # fmt: skip
        """The network, then each container created, kept or replaced in order, each waited for."""

    def reload_haproxy(self, container: str) -> None:
        """A seamless master-worker reload."""

    def down(self, project: str, network: str, compose_dir: Path, volumes: bool, report: Report) -> list[str]:
        """Remove the containers and the network (named volumes only with `volumes`)."""
