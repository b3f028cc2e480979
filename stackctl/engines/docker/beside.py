"""A service's new container started beside its running one, so that traffic can move over before
the old one stops: same network alias, same labels, a temporary name until the old one is gone."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import docker
import docker.errors
from docker.models.containers import Container

from stackctl.core.clock import Deadline
from stackctl.engines.base import Beside, Report
from stackctl.engines.docker.apply import create_container, remove_container, start_container
from stackctl.engines.docker.client import DOCKER_ERRORS, docker_call, translate
from stackctl.engines.docker.ownership import REPLACEMENT_SUFFIX
from stackctl.engines.docker.waits import wait_ready
from stackctl.engines.model import Service


def start_beside(
    client: docker.DockerClient, project: str, network: str, service: Service, working_dir: Path,
    deadline: Deadline, report: Report,
) -> Beside:  # fmt: skip
    """Start `service` as a second container and wait until it is ready; returns where it answers."""
    name = f"{service.container_name}{REPLACEMENT_SUFFIX}"
    _remove_named(client, name)  # left over by an interrupted replacement
    report(f"starting {name} beside {service.container_name}")
    container = create_container(client, dataclasses.replace(service, container_name=name), project, network,
                                 working_dir)  # fmt: skip
    try:
        start_container(container)
        address = _pin_address(client, container, network, service.name)
        wait_ready(container, service.name, service.healthcheck is not None, deadline)
    except BaseException:
        remove_container(container, timeout=0)
        raise
    return Beside(service.name, service.container_name, name, address)


def _pin_address(client: docker.DockerClient, container: Container, network: str, alias: str) -> str:
    """The address Docker gave the new container, made its own: HAProxy is pointed at it, so a restart
    after a crash must not hand it another one (Docker gives a restarted container the lowest free
    address, which is the old container's once that is gone). Nothing is sent to it yet."""
    with docker_call(f"pin the address of {container.name}"):
        container.reload()
        address = str(container.attrs["NetworkSettings"]["Networks"][network]["IPAddress"])
        stack_network = client.networks.get(network)
        stack_network.disconnect(container)
        stack_network.connect(container, ipv4_address=address, aliases=[alias])
    return address


def finish_beside(client: docker.DockerClient, beside: Beside, stop_timeout: int, report: Report) -> None:
    """The old container stopped and removed; the new one takes the service's own name."""
    old = _find(client, beside.replaces)
    if old is not None:
        report(f"stopping {beside.replaces}")
        remove_container(old, timeout=stop_timeout)
    with docker_call(f"rename {beside.container} to {beside.replaces}"):
        client.containers.get(beside.container).rename(beside.replaces)


def discard_beside(client: docker.DockerClient, beside: Beside) -> None:
    _remove_named(client, beside.container)


def _remove_named(client: docker.DockerClient, name: str) -> None:
    container = _find(client, name)
    if container is not None:
        remove_container(container, timeout=0)


def _find(client: docker.DockerClient, name: str) -> Container | None:
    try:
        return client.containers.get(name)
    except docker.errors.NotFound:
        return None
    except DOCKER_ERRORS as e:
        raise translate(f"look up container {name}", e) from e
