"""What flows need from wherever the stack runs: one interface, two engines. Unit tests drive the flows
with a fake engine that implements it too."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from stackctl.config.layout import StackPaths
from stackctl.config.settings import Capabilities, PullPolicy
from stackctl.config.spec import StackSpec
from stackctl.config.subnets import NetworkSubnet
from stackctl.core.clock import Deadline
from stackctl.core.errors import OperationFailed
from stackctl.engines.haproxy_build import HaproxyBuild
from stackctl.engines.model import Service
from stackctl.engines.status import ContainerStatus

# (image, layer id, bytes done, bytes total)
PullProgress = Callable[[str, str, int, int], None]
Report = Callable[[str], None]
# Given a running service and the secrets (by key) that alone differ from what it runs: whether it may
# keep running as it is, because what the new secrets hold reached it another way (a certificate handed
# to HAProxy through its runtime API). Its tasks then take the new secrets at their next roll.
SecretHold = Callable[[str, frozenset[str]], bool]


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


class UpdateRolledBack(OperationFailed):
    """A rolling update failed and Swarm rolled it back (or paused it)."""

    def __init__(self, service: str, state: str, message: str) -> None:
        what = "rolled it back" if state == "rollback_completed" else f"left it {state.replace('_', ' ')}"
        super().__init__(
            f"the update of {service} failed and Swarm {what}: {message or 'no message'}",
            f"see: docker service ps --no-trunc {service}",
        )
        self.service, self.state, self.swarm_message = service, state, message


@dataclass(frozen=True)
class Beside:
    """A service's new container running beside its old one (`Engine.start_beside`)."""

    service: str
    replaces: str  # the old container's name, which the new one takes when the old one is gone
    container: str  # the new container's name meanwhile
    address: str  # its address on the stack's network


@dataclass(frozen=True)
class Prepared:
    """What the checks before any write found: the images pulled, and the stack's containers by service
    (an engine that runs services rather than containers reports none)."""

    pulled: list[str]
    running: dict[str, ContainerInfo]


class Engine(Protocol):
    """Where the stack's services run: containers on this host (`docker.DockerEngine`) or services of
    the Swarm this engine manages (`swarm.SwarmEngine`). Flows get one from Edges and never ask which;
    what only one can do is in `capabilities`."""

    @property
    def capabilities(self) -> Capabilities:
        """What this engine cannot do, with the refusal's words; `reloads_in_place` tells how HAProxy
        gets a new configuration or certificate."""

    def render_files(self, paths: StackPaths, spec: StackSpec, acme_thumbprint: str | None) -> dict[str, str]:
        """The generated files in the form this engine runs them, by path relative to the stack folder."""

    def prepare(
        self, paths: StackPaths, spec: StackSpec, deadline: Deadline, report: Report, progress: PullProgress
    ) -> Prepared:
        """The checks before anything is written: images (pulled per stack.yaml's policy), that the stack
        is this folder's, free ports, networks, and where the engine places data, its folders."""

    def apply(
        self, paths: StackPaths, spec: StackSpec, services: list[Service], files: dict[str, str],
        deadline: Deadline, report: Report, recreate: frozenset[str] = frozenset(),
        on_ready: Callable[[str], None] | None = None, hold: SecretHold | None = None,
    ) -> ApplyResult:  # fmt: skip
        """Converge `services` (the stack's, or some of them) with the generated `files` written:
        each created, kept or replaced in order and waited for; those in `recreate` are replaced even
        when unchanged. `on_ready` gets each service's name once it is ready, before the next starts.
        `hold` may keep a service whose new secrets alone differ (an engine that rolls services onto
        secrets asks it; one whose services read files on this host has nothing to hold)."""

    def addresses(self, spec: StackSpec) -> list[str]:
        """Where the stack answers HTTPS: this host, or every edge node (this one over loopback)."""

    def keeps_ipv6_clients(self) -> bool:
        """Whether the engine is known to route IPv6 clients to a container with their own address
        (ip6tables, the default from Docker 27); an older one does only if dockerd was started with
        --ip6tables, which its API does not tell."""

    def running_haproxy(self, spec: StackSpec, paths: StackPaths) -> str | None:
        """The stack's running HAProxy: the container to reload, or the service that rolls; None when
        there is none."""

    def run_in(
        self, spec: StackSpec, service: str, argv: list[str], stdin: Path | None = None, stdout: Path | None = None
    ) -> None:
        """Run `argv` in the service's running container on this node (see `exec_in`); raises
        OperationFailed when the service has none here."""

    def runs_here(self, spec: StackSpec, service: str) -> bool:
        """Whether the service has a running container on this node (`run_in` can reach it)."""

    def hand_over(self, paths: StackPaths, spec: StackSpec) -> None:
        """After certificates were written: the folders HAProxy reads from this host created and given
        to its user (a Swarm's HAProxy reads secrets instead)."""

    def deployed(self, spec: StackSpec, paths: StackPaths) -> set[str]:
        """The stack's services that exist now (a container or a Swarm service), running or not."""

    def describe(self, spec: StackSpec, paths: StackPaths) -> list[ContainerStatus]:
        """What runs, for `status`: a row per service's container (or per Swarm task, with its node)."""

    def runtime_socket_dir(self, spec: StackSpec, paths: StackPaths) -> Path | None:
        """The folder of this node's HAProxy runtime socket, or None when no HAProxy runs here."""

    def edge_runtime_sockets(self, spec: StackSpec, paths: StackPaths) -> list[tuple[str, Path | None]]:
        """Each node HAProxy serves on, named for people, with the folder of its runtime socket; None for
        a node whose socket cannot be reached from here (it lives on that node)."""

    def remove_stack(
        self, paths: StackPaths, spec: StackSpec, volumes: bool, deadline: Deadline, report: Report
    ) -> list[str]:
        """Remove the services and the network (named volumes only with `volumes`); data folders stay.
        Returns what was removed."""

    def start_beside(
        self, spec: StackSpec, paths: StackPaths, service: Service, deadline: Deadline, report: Report
    ) -> Beside:
        """Start the service's new container next to the running one and wait until it is ready."""

    def finish_beside(self, spec: StackSpec, beside: Beside, report: Report) -> None:
        """Stop and remove the old container; the new one takes its name."""

    def discard_beside(self, beside: Beside) -> None:
        """Remove a new container that will not replace the old one."""

    def network_subnets(self) -> list[NetworkSubnet]:
        """Every network of the engine with its address ranges, and the stack each belongs to."""

    def ensure_images(self, images: list[str], policy: PullPolicy, progress: PullProgress) -> list[str]:
        """Pull per the policy (always | missing | never); returns what was pulled."""

    def containers(self, project: str, compose_dir: Path) -> dict[str, ContainerInfo]:
        """This stack's service containers by service; refuses another folder's same-named project."""

    def running_images(self, spec: StackSpec, paths: StackPaths) -> dict[str, str]:
        """The image ID each of the stack's services runs, where the engine can tell."""

    def validate_haproxy_config(self, haproxy: Service, candidate: Path) -> None:
        """`haproxy -c` of the configuration folder `candidate` in the image that will run it."""

    def address_on_network(self, network: str, name: str) -> str | None:
        """Where this host reaches the container `name` of a user's network, when it can (a bridge)."""

    def haproxy_build(self, image: str) -> HaproxyBuild:
        """From `haproxy -vv` in a one-off container: QUIC, QUIC_OPENSSL_COMPAT, the OpenSSL version."""

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
