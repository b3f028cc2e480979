"""SwarmEngine: the stack as Swarm services, through the Docker SDK's services API."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import docker
import docker.errors

from stackctl.core.clock import Deadline
from stackctl.core.errors import OperationFailed
from stackctl.engines.base import ApplyResult, Report
from stackctl.engines.docker.client import DOCKER_ERRORS, connect, docker_call
from stackctl.engines.swarm import cluster, folders, objects, services
from stackctl.engines.swarm.cluster import Node
from stackctl.engines.swarm.objects import SwarmObject
from stackctl.render.services import NetworkModel
from stackctl.render.swarm import RUN_VOLUME, STACK_NAMESPACE_LABEL, SwarmService, service_name


@dataclass(frozen=True)
class TaskInfo:
    service: str
    node: str  # hostname, or the node ID when unknown
    state: str
    desired: str
    error: str
    image: str = ""
    since: str = ""  # when the task entered its state
    exit_code: int | None = None  # its container's, once it has ended


class SwarmEngine:
    def __init__(self, client: docker.DockerClient) -> None:
        self.client = client

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
        on_ready: Callable[[str], None] | None = None,
    ) -> ApplyResult:  # fmt: skip
        """Objects first, then each service in order, each waited for; then the unused objects go."""
        network_id = self.ensure_network(project, network)
        ids = objects.ensure_objects(self.client, project, swarm_objects)
        placed = services.Placed(project, network_id, compose_dir, names, ids)
        existing = services.stack_services(self.client, project)
        result = ApplyResult()
        for service in wanted:
            expected = len(self.edge_nodes()) if service.global_mode else 1
            kwargs = services.service_kwargs(service, placed, self.image_id(service.model.image))
            outcome = services.deploy_service(
                self.client, kwargs, existing.get(service.name), max(expected, 1), deadline
            )
            getattr(result, outcome).append(service.name)
            if outcome != "kept":
                report(f"{outcome} {service_name(project, service.name)}")
            if on_ready is not None:
                on_ready(service.name)
        result.removed = objects.prune_objects(self.client, project, set(names.values()))
        return result

    def image_id(self, image: str) -> str:
        try:
            return str(self.client.images.get(image).id)
        except DOCKER_ERRORS:
            return ""  # not here: each node pulls it

    def tasks(self, project: str) -> list[TaskInfo]:
        hostnames = {n.id: n.hostname for n in self.nodes()}
        result = []
        for short, service in sorted(services.stack_services(self.client, project).items()):
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
        return sorted(services.stack_services(self.client, project))

    def local_container(self, project: str, service: str) -> str | None:
        """The running container of the service's task on this node, if there is one."""
        with docker_call("list this node's containers"):
            found = self.client.api.containers(
                filters={"label": [f"com.docker.swarm.service.name={service_name(project, service)}"]}
            )
        return str(found[0]["Names"][0]).lstrip("/") if found else None

    def runtime_socket_dir(self, project: str) -> Path | None:
        """Where this node's HAProxy task puts its runtime socket (a node-local volume), if it has one."""
        try:
            volume = self.client.volumes.get(f"{project}_{RUN_VOLUME}")
        except DOCKER_ERRORS:  # none here (NotFound), or the engine cannot say: no local task to ask
            return None
        return Path(volume.attrs["Mountpoint"])

    def down(self, project: str, network: str, deadline: Deadline, report: Report) -> list[str]:
        """Services, then secrets, configs, the network and the socket volume; the data folders stay.
        Docker lets go of a network and of secrets a moment after the last task's container is gone:
        what it still refuses is tried again until the deadline."""
        removed = services.remove_services(self.client, project, deadline)
        for name in removed:
            report(f"removed service {service_name(project, name)}")
        while True:
            left = self._remove_leftovers(project, network, report)
            if not left:
                return removed
            if deadline.expired():
                raise OperationFailed(f"could not remove {'; '.join(left)}", "run stackctl down again")
            time.sleep(services.POLL_S)

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


def connect_swarm() -> SwarmEngine:
    """The local engine as a Swarm manager; raises OperationFailed when it is not one."""
    engine = SwarmEngine(connect())
    engine.check_manager()
    return engine
