"""Which containers belong to this stack folder. Compose records the folder a project was started from
in a label; two folders with the same `name:` must never take over each other's containers."""

from __future__ import annotations

import os
from pathlib import Path

import docker
from docker.models.containers import Container

from stackctl.core.errors import InvalidInput
from stackctl.engines.docker.client import docker_call
from stackctl.engines.labels import ONEOFF_LABEL, PROJECT_LABEL, SERVICE_LABEL, WORKING_DIR_LABEL


class ProjectCollision(InvalidInput):
    """Containers of this project name were started from another stack folder."""


def _foreign_folder(container: Container, compose_dir: Path) -> str | None:
    label = container.labels.get(WORKING_DIR_LABEL)
    if not label or not os.path.isabs(label):
        return None  # started by hand or by an older stackctl: nothing says it is someone else's
    return None if os.path.realpath(label) == os.path.realpath(compose_dir.absolute()) else label


# A service's new container while it runs beside the old one (engines/docker/beside.py).
REPLACEMENT_SUFFIX = "-next"


def project_containers(client: docker.DockerClient, project: str, compose_dir: Path) -> dict[str, Container]:
    """This project's service containers by service name (one-off containers excluded; a service's own
    container before a replacement beside it). Raises ProjectCollision when any of them was started
    from another stack folder."""
    return _by_service(_service_containers(client, project, compose_dir))


def leftover_replacements(client: docker.DockerClient, project: str, compose_dir: Path) -> list[Container]:
    """New containers that an interrupted replacement left beside a service's own."""
    found = _service_containers(client, project, compose_dir)
    chosen = {c.id for c in _by_service(found).values()}
    return [c for c in found if c.id not in chosen]


def _by_service(containers: list[Container]) -> dict[str, Container]:
    chosen: dict[str, Container] = {}
    for container in containers:
        service = str(container.labels.get(SERVICE_LABEL, container.name))
        if service not in chosen or str(chosen[service].name).endswith(REPLACEMENT_SUFFIX):
            chosen[service] = container
    return chosen


def _service_containers(client: docker.DockerClient, project: str, compose_dir: Path) -> list[Container]:
    with docker_call(f"list the containers of project {project}"):
        found = client.containers.list(all=True, filters={"label": [f"{PROJECT_LABEL}={project}"]})
    for container in found:
        other = _foreign_folder(container, compose_dir)
        if other is not None:
            raise ProjectCollision(
                f"the project name {project!r} is already used by the stack in {Path(other).parent} "
                f"(container {container.name})",
                f"give this stack another name: in stack.yaml, or run stackctl down in {Path(other).parent} first",
            )
    return [c for c in found if c.labels.get(ONEOFF_LABEL, "False") == "False"]
