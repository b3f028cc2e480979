"""SwarmEngine: the stack as Swarm services, through the Docker SDK's services API."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import docker
import docker.errors
from docker.models.services import Service as SdkService
from docker.utils import parse_repository_tag

from stackctl.config.layout import StackPaths
from stackctl.config.settings import ENGINE_CAPABILITIES, Capabilities
from stackctl.config.spec import StackSpec
from stackctl.core.clock import Deadline
from stackctl.core.errors import InvalidInput, OperationFailed
from stackctl.core.fsio import ensure_dir
from stackctl.engines.base import ApplyResult, Prepared, PullProgress, Report, SecretHold
from stackctl.engines.docker.client import DOCKER_ERRORS, connect, docker_call
from stackctl.engines.docker.engine import DockerEngine
from stackctl.engines.model import Service, absolute_under, services
from stackctl.engines.status import ContainerStatus
from stackctl.engines.swarm import cluster, folders, objects
from stackctl.engines.swarm import services as swarm_sdk
from stackctl.engines.swarm.cluster import Node
from stackctl.engines.swarm.describe import task_rows
from stackctl.engines.swarm.objects import SwarmObject
from stackctl.engines.swarm.plan import rendered_for_swarm, swarm_plan
from stackctl.engines.swarm.tasks import TaskInfo
from stackctl.render.services import NetworkModel, network_model, stack_services
from stackctl.render.swarm import RUN_VOLUME, STACK_NAMESPACE_LABEL, SwarmService, service_name, swarm_services


class SwarmEngine(DockerEngine):
    """The stack as services of the Swarm this engine manages. What it does on this node alone (images,
    one-off checks, running a command in a local task) it does as the Docker engine it also is."""

    @property
    def capabilities(self) -> Capabilities:
        return ENGINE_CAPABILITIES["swarm"]

    def render_files(self, paths: StackPaths, spec: StackSpec, acme_thumbprint: str | None) -> dict[str, str]:
        return rendered_for_swarm(paths, spec, acme_thumbprint)

    def prepare(
        self, paths: StackPaths, spec: StackSpec, deadline: Deadline, report: Report, progress: PullProgress
    ) -> Prepared:
        """Images here, node roles, HAProxy's ports on this node, the data folders on the data node."""
        pulled = self.ensure_images(sorted({s.image for s in stack_services(spec)}), spec.pull, progress)
        self.ensure_roles(report)
        self._check_ports_free(spec, paths)
        planned = swarm_services(spec, [])
        self._prepare_local_folders(planned, paths)
        self.user_networks(sorted({n for s in planned for n in s.model.external_networks}))
        self.check_data_folders(spec.name, planned, paths.compose_dir, deadline)
        return Prepared(pulled, {})

    def _check_ports_free(self, spec: StackSpec, paths: StackPaths) -> None:
        """Before HAProxy's first task on this edge node: 80 and 443 are free here (on another node, Swarm
        reports a taken port as the task's error)."""
        local = self.local_node()
        if "haproxy" in self.service_names(spec.name) or local is None or not local.edge:
            return
        haproxy = next(s for s in services(spec, paths) if s.name == "haproxy")
        public = {
            key: bound for key, bound in haproxy.ports.items() if bound[0][1] in (spec.ports.http, spec.ports.https)
        }
        self.check_ports_free([replace(haproxy, ports=public)], {})

    def _prepare_local_folders(self, planned: list[SwarmService], paths: StackPaths) -> None:
        """On the data node itself, the folders the pinned services mount are created like on one host."""
        local = self.local_node()
        if local is None or not local.data:
            return
        for service in planned:
            if service.on_data_node:
                for mount in service.model.mounts:
                    ensure_dir(absolute_under(paths.compose_dir, mount.source), 0o755)

    def hand_over(self, paths: StackPaths, spec: StackSpec) -> None:
        del paths, spec  # HAProxy's tasks read their certificates and passwords from Swarm secrets

    def apply(
        self, paths: StackPaths, spec: StackSpec, services: list[Service], files: dict[str, str],
        deadline: Deadline, report: Report, recreate: frozenset[str] = frozenset(),
        on_ready: Callable[[str], None] | None = None, hold: SecretHold | None = None,
    ) -> ApplyResult:  # fmt: skip
        del recreate  # a service rolls when its image or spec changes; Swarm replaces a failing task itself
        plan = swarm_plan(paths, spec, files)
        only = {s.name for s in services}
        wanted = [s for s in plan.services if s.name in only]
        return self.deploy(
            spec.name, network_model(spec), wanted, plan.objects, plan.names, paths.compose_dir, deadline, report,
            on_ready, hold,
        )  # fmt: skip

    def addresses(self, spec: StackSpec) -> list[str]:
        addresses = self.edge_addresses()
        if not addresses:
            raise OperationFailed(
                "no Swarm node is an edge node that is ready and active", "label one: docker node update "
                "--label-add stackctl.edge=true <node>",
            )  # fmt: skip
        return addresses

    def running_haproxy(self, spec: StackSpec, paths: StackPaths) -> str | None:
        return "haproxy" if "haproxy" in self.service_names(spec.name) else None

    def run_in(
        self, spec: StackSpec, service: str, argv: list[str], stdin: Path | None = None, stdout: Path | None = None
    ) -> None:
        container = self.local_container(spec.name, service)
        if container is None:
            raise OperationFailed(
                f"{service} has no task on this node",
                f"run stackctl on the node that runs {service_name(spec.name, service)}",
            )
        self.exec_in(container, argv, stdin, stdout)

    def runs_here(self, spec: StackSpec, service: str) -> bool:
        return self.local_container(spec.name, service) is not None

    def deployed(self, spec: StackSpec, paths: StackPaths) -> set[str]:
        return set(self.service_names(spec.name))

    def running_images(self, spec: StackSpec, paths: StackPaths) -> dict[str, str]:
        """The image each service was deployed with (its label), else the one its task on this node runs."""
        found = {}
        for short, service in swarm_sdk.stack_services(self.client, spec.name).items():
            image_id = swarm_sdk.deployed_image_id(service) or self._local_task_image(spec.name, short)
            if image_id:
                found[short] = image_id
        return found

    def _local_task_image(self, project: str, service: str) -> str | None:
        container = self.local_container(project, service)
        if container is None:
            return None
        with docker_call(f"inspect the container {container}"):
            return str(self.client.api.inspect_container(container)["Image"])

    def describe(self, spec: StackSpec, paths: StackPaths) -> list[ContainerStatus]:
        return task_rows(spec, self.tasks(spec.name))

    def remove_stack(
        self, paths: StackPaths, spec: StackSpec, volumes: bool, deadline: Deadline, report: Report
    ) -> list[str]:
        del volumes  # the stack's only volume, the runtime socket's, always goes; data folders stay
        return self._remove_services(spec.name, network_model(spec).name, deadline, report)

    def check_manager(self) -> str:
        return cluster.local_node_id(self.client)

    def ensure_roles(self, report: Report) -> None:
        cluster.ensure_roles(self.client, report)

    def edge_nodes(self) -> list[Node]:
        return cluster.edge_nodes(self.client)

    def local_node(self) -> Node | None:
        """This node as the Swarm lists it (with its labels)."""
        local = self.check_manager()
        return next((n for n in self.nodes() if n.id == local), None)

    def edge_addresses(self) -> list[str]:
        """Where each edge node answers: this node over loopback, the others at their Swarm address."""
        local = self.check_manager()
        return sorted({"127.0.0.1" if node.id == local else node.address for node in self.edge_nodes()})

    def nodes(self) -> list[Node]:
        return cluster.nodes(self.client)

    def check_data_folders(
        self, project: str, wanted: list[SwarmService], compose_dir: Path, deadline: Deadline
    ) -> None:
        folders.check_data_folders(self.client, project, wanted, compose_dir, deadline)

    def user_networks(self, names: list[str]) -> dict[str, str]:
        """The user's networks HAProxy joins (upstream.network), by ID; each must be a Swarm overlay network,
        since a service joins no other kind. stackctl never creates them."""
        found: dict[str, str] = {}
        for name in names:
            with docker_call(f"inspect the Docker network {name}"):
                matches = [n for n in self.client.networks.list(names=[name]) if n.name == name]
            if not matches:
                raise InvalidInput(
                    f"Docker network {name} (upstream.network in stack.yaml) does not exist",
                    f"create it as an overlay network (docker network create --driver overlay --attachable {name}) "
                    "and connect the upstream to it, or fix the name",
                )
            network = matches[0]
            if network.attrs.get("Scope") != "swarm":
                raise InvalidInput(
                    f"Docker network {name} (upstream.network in stack.yaml) is a {network.attrs.get('Driver')} "
                    "network of one host: a Swarm service can join only an overlay network",
                    "create an overlay network (docker network create --driver overlay --attachable NAME), connect "
                    "the upstream to it and name it in upstream.network",
                )
            found[name] = str(network.id)
        return found

    def ensure_network(self, project: str, network: NetworkModel) -> str:
        """The stack's overlay network with its pinned subnet (PHOTOPRISM_TRUSTED_PROXY is that subnet)."""
        with docker_call(f"create the overlay network {network.name}"):
            for found in self.client.networks.list(names=[network.name]):
                if found.name == network.name:
                    if found.attrs.get("Driver") != "overlay":
                        raise OperationFailed(
                            f"network {network.name} exists but is a {found.attrs.get('Driver')} network",
                            "stop the stack on engine: docker first (stackctl down with engine: docker), or "
                            "remove that network",
                        )
                    return str(found.id)
            ipam = docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(subnet=network.subnet)])
            created = self.client.networks.create(
                network.name, driver="overlay", ipam=ipam, labels={STACK_NAMESPACE_LABEL: project}
            )
            return str(created.id)

    def deploy(
        self, project: str, network: NetworkModel, wanted: list[SwarmService], swarm_objects: list[SwarmObject],
        names: dict[str, str], compose_dir: Path, deadline: Deadline, report: Report,
        on_ready: Callable[[str], None] | None = None, hold: SecretHold | None = None,
    ) -> ApplyResult:  # fmt: skip
        """Objects first, then each service in order, each waited for; then the unused objects go (a
        secret a held service still runs on stays until its next roll)."""
        network_id = self.ensure_network(project, network)
        user_networks = self.user_networks(sorted({n for s in wanted for n in s.model.external_networks}))
        ids = objects.ensure_objects(self.client, project, swarm_objects)
        placed = swarm_sdk.Placed(project, network_id, compose_dir, names, ids, user_networks)
        existing = swarm_sdk.stack_services(self.client, project)
        result = ApplyResult()
        for service in wanted:
            expected = len(self.edge_nodes()) if service.global_mode else 1
            image = self.local_image(service.model.image)
            kwargs = swarm_sdk.service_kwargs(service, placed, *image)
            running = existing.get(service.name)
            held = running is not None and hold is not None and self._held(service, placed, image, running, hold)
            outcome = swarm_sdk.deploy_service(self.client, kwargs, running, max(expected, 1), deadline, keep=held)
            getattr(result, outcome).append(service.name)
            if outcome != "kept":
                report(f"{outcome} {service_name(project, service.name)}")
            if on_ready is not None:
                on_ready(service.name)
        result.removed = objects.prune_objects(self.client, project, set(names.values()))
        return result

    @staticmethod
    def _held(
        service: SwarmService, placed: swarm_sdk.Placed, image: tuple[str, str], running: SdkService, hold: SecretHold
    ) -> bool:
        keys = swarm_sdk.secrets_alone_differ(service, placed, image, running)
        return bool(keys) and hold(service.name, keys)

    def local_image(self, image: str) -> tuple[str, str]:
        """(ID, the reference to deploy) of the image behind `image` on this node. The reference is pinned
        to the registry digest it was pulled by: every node, and a rollback by Swarm, then runs exactly this
        image even after its tag has moved on (a broken release published as :latest). An image that no
        registry knows, or one not here, is deployed by its name."""
        image_id = self.image_id(image)
        if not image_id or "@" in image:
            return image_id, image
        repository, _ = parse_repository_tag(image)
        with docker_call(f"inspect the image {image}"):
            digests = self.client.images.get(image).attrs.get("RepoDigests") or []
        pinned = [d.split("@", 1)[1] for d in digests if d.split("@", 1)[0] == repository]
        return image_id, f"{image}@{pinned[0]}" if pinned else image

    def image_id(self, image: str) -> str:
        try:
            return str(self.client.images.get(image).id)
        except DOCKER_ERRORS:
            return ""  # not here: each node pulls it

    def tasks(self, project: str) -> list[TaskInfo]:
        hostnames = {n.id: n.hostname for n in self.nodes()}
        result = []
        for short, service in sorted(swarm_sdk.stack_services(self.client, project).items()):
            with docker_call(f"list the tasks of {service.name}"):
                found = service.tasks()
            for task in found:
                status = task.get("Status", {})
                node = str(task.get("NodeID", ""))
                result.append(
                    TaskInfo(
                        short,
                        hostnames.get(node, node[:12]),
                        str(status.get("State", "")),
                        str(task.get("DesiredState", "")),
                        str(status.get("Err", "")),
                        str(task.get("Spec", {}).get("ContainerSpec", {}).get("Image", "")),
                        str(status.get("Timestamp", "")),
                        (status.get("ContainerStatus") or {}).get("ExitCode"),
                    )
                )
        return result

    def service_names(self, project: str) -> list[str]:
        return sorted(swarm_sdk.stack_services(self.client, project))

    def local_container(self, project: str, service: str) -> str | None:
        """The running container of the service's task on this node, if there is one."""
        with docker_call("list this node's containers"):
            found = self.client.api.containers(
                filters={"label": [f"com.docker.swarm.service.name={service_name(project, service)}"]}
            )
        return str(found[0]["Names"][0]).lstrip("/") if found else None

    def edge_runtime_sockets(self, spec: StackSpec, paths: StackPaths) -> list[tuple[str, Path | None]]:
        """Every edge node (two may share a host name: each is named with its address); only this one's
        socket is reachable, since each lives in a node-local volume."""
        local = self.check_manager()
        return [
            (
                f"{node.hostname or node.id[:12]} ({node.address})",
                self.runtime_socket_dir(spec, paths) if node.id == local else None,
            )
            for node in self.edge_nodes()
        ]

    def runtime_socket_dir(self, spec: StackSpec, paths: StackPaths) -> Path | None:
        """Where this node's HAProxy task puts its runtime socket (a node-local volume), if it has one."""
        try:
            volume = self.client.volumes.get(f"{spec.name}_{RUN_VOLUME}")
        except DOCKER_ERRORS:  # none here (NotFound), or the engine cannot say: no local task to ask
            return None
        return Path(volume.attrs["Mountpoint"])

    def _remove_services(self, project: str, network: str, deadline: Deadline, report: Report) -> list[str]:
        """Services, then secrets, configs, the network and the socket volume; the data folders stay.
        Docker lets go of a network and of secrets a moment after the last task's container is gone:
        what it still refuses is tried again until the deadline."""
        removed = swarm_sdk.remove_services(self.client, project, deadline)
        for name in removed:
            report(f"removed service {service_name(project, name)}")
        while True:
            left = self._remove_leftovers(project, network, report)
            if not left:
                return removed
            if deadline.expired():
                raise OperationFailed(f"could not remove {'; '.join(left)}", "run stackctl down again")
            time.sleep(swarm_sdk.POLL_S)

    def _remove_leftovers(self, project: str, network: str, report: Report) -> list[str]:
        """Removes what it can; returns what is still there, each with Docker's reason."""
        left = []
        pruned = objects.prune_objects(self.client, project, set())
        if pruned:
            report(f"removed {len(pruned)} secrets and configs")
        left += [f"{name} (in use)" for name in objects.remaining(self.client, project)]
        with docker_call("list this stack's networks and volumes"):
            networks = [n for n in self.client.networks.list(names=[network]) if n.name == network]
            volumes = self.client.volumes.list(filters={"name": f"{project}_{RUN_VOLUME}"})
        removals = [(f"network {network}", n.remove) for n in networks]
        removals += [(f"volume {v.name}", v.remove) for v in volumes]
        for what, remove in removals:
            try:
                remove()
                report(f"removed {what}")
            except docker.errors.NotFound:
                continue
            except docker.errors.APIError as e:
                left.append(f"{what}: {e.explanation}")
        return left


def connect_swarm(timeout: int = 60) -> SwarmEngine:
    """The local engine as a Swarm manager; its first use raises OperationFailed when it is not one."""

    def manager() -> docker.DockerClient:
        client = connect(timeout)
        cluster.local_node_id(client)
        return client

    return SwarmEngine(manager)
