"""The Swarm as stackctl needs it: is this engine a manager, which nodes are edge and data nodes."""

from __future__ import annotations

from dataclasses import dataclass

import docker

from stackctl.core.errors import OperationFailed
from stackctl.engines.base import Report
from stackctl.engines.docker.client import docker_call
from stackctl.render.swarm import DATA_LABEL, EDGE_LABEL

INIT_HINT = "run: docker swarm init --advertise-addr <this machine's address> (or run stackctl on a manager)"


@dataclass(frozen=True)
class Node:
    id: str
    hostname: str
    address: str
    role: str
    ready: bool
    active: bool
    labels: dict[str, str]

    @property
    def edge(self) -> bool:
        return self.labels.get(EDGE_LABEL) == "true"

    @property
    def data(self) -> bool:
        return self.labels.get(DATA_LABEL) == "true"


def local_node_id(client: docker.DockerClient) -> str:
    """This engine's node ID; raises OperationFailed when it is not a Swarm manager."""
    with docker_call("ask the Docker engine about its Swarm"):
        swarm = client.info().get("Swarm") or {}
    if swarm.get("LocalNodeState") != "active":
        raise OperationFailed("engine: swarm, but this Docker engine is not part of a Swarm", INIT_HINT)
    if not swarm.get("ControlAvailable"):
        raise OperationFailed("engine: swarm, but this Docker engine is a Swarm worker, not a manager", INIT_HINT)
    return str(swarm["NodeID"])


def nodes(client: docker.DockerClient) -> list[Node]:
    with docker_call("list the Swarm's nodes"):
        found = client.nodes.list()
    result = []
    for node in found:
        attrs = node.attrs
        spec, status = attrs.get("Spec", {}), attrs.get("Status", {})
        result.append(
            Node(
                id=node.id or "",
                hostname=str(attrs.get("Description", {}).get("Hostname", "")),
                address=str(status.get("Addr", "")),
                role=str(spec.get("Role", "")),
                ready=status.get("State") == "ready",
                active=spec.get("Availability") == "active",
                labels=dict(spec.get("Labels") or {}),
            )
        )
    return result


def _label(client: docker.DockerClient, node_id: str, key: str) -> None:
    with docker_call(f"label Swarm node {node_id} {key}=true"):
        node = client.nodes.get(node_id)
        spec = dict(node.attrs["Spec"])
        spec["Labels"] = {**(spec.get("Labels") or {}), key: "true"}
        node.update(spec)


def ensure_roles(client: docker.DockerClient, report: Report) -> None:
    """Placement is by label: when no node is a data node yet, this one becomes it (PhotoPrism's and
    MariaDB's folders are here); when no node is an edge node, the managers become them."""
    local = local_node_id(client)
    found = nodes(client)
    if not any(n.data for n in found):
        _label(client, local, DATA_LABEL)
        report(f"labeled this node ({local[:12]}) {DATA_LABEL}=true: PhotoPrism and MariaDB run here, by their folders")
    if not any(n.edge for n in found):
        for node in found:
            if node.role == "manager":
                _label(client, node.id, EDGE_LABEL)
                report(f"labeled manager {node.hostname or node.id[:12]} {EDGE_LABEL}=true: HAProxy runs here")


def edge_nodes(client: docker.DockerClient) -> list[Node]:
    """The nodes HAProxy runs on (and publishes 80/443 on): labeled edge, ready and active."""
    return [n for n in nodes(client) if n.edge and n.ready and n.active]
