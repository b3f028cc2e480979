"""Converge Docker to the model: network, containers in dependency order, orphans removed."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, cast

import docker
import docker.errors
import docker.types
from docker.models.containers import Container

from stackctl.core.clock import Deadline
from stackctl.engines.base import ApplyResult, Report
from stackctl.engines.docker.client import DOCKER_ERRORS, docker_call, translate
from stackctl.engines.docker.ownership import leftover_replacements, project_containers
from stackctl.engines.docker.waits import wait_ready
from stackctl.engines.labels import HASH_LABEL, PROJECT_LABEL
from stackctl.engines.model import Service
from stackctl.render.services import RESTART_POLICY, NetworkModel


def ensure_network(client: docker.DockerClient, network: NetworkModel, project: str) -> None:
    with docker_call(f"look up network {network.name}"):
        existing = client.networks.list(names=[network.name])
    if any(n.name == network.name for n in existing):
        return
    pools = [docker.types.IPAMPool(subnet=network.subnet, gateway=network.gateway)]
    pools += [docker.types.IPAMPool(subnet=network.subnet6)] if network.subnet6 else []
    try:
        client.networks.create(
            network.name,
            driver="bridge",
            ipam=docker.types.IPAMConfig(pool_configs=pools),
            enable_ipv6=network.subnet6 is not None,
            labels={PROJECT_LABEL: project, "com.docker.compose.network": "photoprism"},
        )
    except DOCKER_ERRORS as e:
        raise translate(f"create network {network.name} with subnet {', '.join(network.subnets)}", e) from e


def create_container(
    client: docker.DockerClient, service: Service, project: str, network: str, working_dir: Path
) -> Container:
    try:
        return client.containers.create(
            service.image,
            command=service.command,
            name=service.container_name,
            hostname=service.name,
            environment=service.environment,
            # The SDK takes a list of (address, port) too; its type stubs name only lists of ports.
            ports=cast(Mapping[str, Any], service.sdk_ports),
            volumes=[b.as_sdk() for b in service.binds],
            healthcheck=service.healthcheck,
            labels=service.labels(project, working_dir),
            network=network,
            networking_config={network: client.api.create_endpoint_config(aliases=[service.name])},
            restart_policy={"Name": RESTART_POLICY},
            **service.options,
        )
    except DOCKER_ERRORS as e:
        raise translate(f"create container {service.container_name}", e) from e


def remove_container(container: Container, timeout: int = 10) -> None:
    try:
        container.remove(force=True, v=False) if timeout == 0 else _stop_and_remove(container, timeout)
    except docker.errors.NotFound:
        return
    except DOCKER_ERRORS as e:
        raise translate(f"remove container {container.name}", e) from e


def _stop_and_remove(container: Container, timeout: int) -> None:
    if container.status == "running":
        container.stop(timeout=timeout)
    container.remove(v=False)


def converge(
    client: docker.DockerClient,
    project: str,
    network: str,
    services: list[Service],
    working_dir: Path,
    deadline: Deadline,
    report: Report,
    recreate: frozenset[str] = frozenset(),
    on_ready: Callable[[str], None] | None = None,
) -> ApplyResult:
    result = ApplyResult()
    _remove_leftovers(client, project, working_dir, report)
    existing = project_containers(client, project, working_dir)
    wanted = {s.name for s in services}
    for name, container in existing.items():
        if name not in wanted:
            report(f"removing {container.name}: {name} is no longer in the stack")
            remove_container(container)
            result.removed.append(name)
    for service in services:
        current = existing.get(service.name)
        unchanged = current is not None and service.matches(current.labels.get(HASH_LABEL))
        if current is not None and unchanged and service.name not in recreate:
            container = current
            _ensure_restart_policy(container, report)
            if container.status == "running":
                result.kept.append(service.name)
            else:
                report(f"starting {container.name}")
                start_container(container)
                result.started.append(service.name)
        else:
            if current is not None:
                why = "its image changed" if unchanged else "its configuration changed"
                report(f"recreating {service.container_name}: {why}")
                remove_container(current)
            else:
                report(f"creating {service.container_name}")
            container = create_container(client, service, project, network, working_dir)
            start_container(container)
            result.created.append(service.name)
        if service.name not in result.kept:
            report(f"waiting for {service.name} to become {'healthy' if service.healthcheck else 'running'}")
        kept = service.name in result.kept  # listed a moment ago: its state is fresh
        wait_ready(container, service.name, service.healthcheck is not None, deadline, fresh=kept)
        _join_networks(client, container, service, report)
        if on_ready is not None:
            on_ready(service.name)
    return result


def _join_networks(client: docker.DockerClient, container: Container, service: Service, report: Report) -> None:
    """Connect a container to the user's networks it needs and is not on yet: live, no restart."""
    joined = set((container.attrs.get("NetworkSettings") or {}).get("Networks") or {})
    for name in service.external_networks:
        if name in joined:
            continue
        report(f"connecting {container.name} to network {name}")
        with docker_call(f"connect {container.name} to network {name}", f"check that network {name} exists"):
            client.networks.get(name).connect(container)


def restart_policy(container: Container) -> str:
    return str(((container.attrs.get("HostConfig") or {}).get("RestartPolicy") or {}).get("Name") or "no")


def _ensure_restart_policy(container: Container, report: Report) -> None:
    """A kept container gets the stack's restart policy live, without a restart (see RESTART_POLICY)."""
    current = restart_policy(container)
    if current == RESTART_POLICY:
        return
    report(
        f"{container.name}: restart policy {current} -> {RESTART_POLICY} (Docker restarts it after a crash or reboot)"
    )
    with docker_call(f"set the restart policy of {container.name}"):
        container.update(restart_policy={"Name": RESTART_POLICY, "MaximumRetryCount": 0})


def start_container(container: Container) -> None:
    try:
        container.start()
    except DOCKER_ERRORS as e:
        raise translate(f"start container {container.name}", e) from e


def _remove_leftovers(client: docker.DockerClient, project: str, working_dir: Path, report: Report) -> None:
    for container in leftover_replacements(client, project, working_dir):
        report(f"removing {container.name}: left over by an interrupted replacement")
        remove_container(container, timeout=0)


def down(
    client: docker.DockerClient, project: str, network: str, working_dir: Path, volumes: bool, report: Report
) -> list[str]:
    removed = []
    _remove_leftovers(client, project, working_dir, report)
    for name, container in project_containers(client, project, working_dir).items():
        report(f"removing {container.name}")
        remove_container(container)
        removed.append(name)
    with docker_call(f"look up network {network}"):
        networks = client.networks.list(names=[network])
    for net in networks:
        if net.name == network:
            report(f"removing network {network}")
            try:
                net.remove()
            except DOCKER_ERRORS as e:
                raise translate(f"remove network {network}", e) from e
    if volumes:
        with docker_call(f"list the volumes of project {project}"):
            volumes_found = client.volumes.list(filters={"label": f"{PROJECT_LABEL}={project}"})
        for volume in volumes_found:
            report(f"removing volume {volume.name}")
            with docker_call(f"remove volume {volume.name}", "stop what uses it, then run stackctl down again"):
                volume.remove()
    return removed
