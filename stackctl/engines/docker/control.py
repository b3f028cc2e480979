"""Signals to a running container: the master-worker reload of HAProxy."""

from __future__ import annotations

import docker
import docker.errors

from stackctl.core.errors import OperationFailed
from stackctl.engines.docker.client import DOCKER_ERRORS, translate


def reload_haproxy(client: docker.DockerClient, container_name: str) -> None:
    """SIGUSR2 to the master: new workers read the new bundle, old ones finish their connections."""
    try:
        client.containers.get(container_name).kill(signal="SIGUSR2")
    except docker.errors.NotFound as e:
        raise OperationFailed(
            f"failed to reload HAProxy: container {container_name} not found", "run stackctl up to start the stack"
        ) from e
    except DOCKER_ERRORS as e:
        raise translate(f"reload HAProxy in {container_name}", e) from e
