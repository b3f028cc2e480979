"""Signals to a running container: the master-worker reload of HAProxy.

The signal is sent from inside the container (an exec of the image's shell), never through Docker's
kill endpoint: Docker records any signal sent that way as a manual stop, and its restart policy then
ignores the container's next exit, a crash or a reboot (moby#41302, moby#47792)."""

from __future__ import annotations

import docker
import docker.errors

from stackctl.core.errors import OperationFailed
from stackctl.engines.docker.client import DOCKER_ERRORS, translate
from stackctl.engines.docker.execs import exec_in

# PID 1 is HAProxy's master in the official image (its entrypoint execs haproxy -W) and in any image
# that runs haproxy -W directly; `kill` is the shell's builtin, so the image needs no procps.
RELOAD_ARGV = ["sh", "-c", "kill -USR2 1"]


def reload_haproxy(client: docker.DockerClient, container_name: str) -> None:
    """SIGUSR2 to the master: new workers read the new bundle, old ones finish their connections."""
    try:
        client.containers.get(container_name)
    except docker.errors.NotFound as e:
        raise OperationFailed(
            f"failed to reload HAProxy: container {container_name} not found", "run stackctl up to start the stack"
        ) from e
    except DOCKER_ERRORS as e:
        raise translate(f"reload HAProxy in {container_name}", e) from e
    try:
        exec_in(client, container_name, RELOAD_ARGV, None, None)
    except OperationFailed as e:
        raise OperationFailed(
            f"failed to reload HAProxy in {container_name} (a shell's kill -USR2 1 in the container): {e.message}",
            "the HAProxy image needs sh, with HAProxy's master (haproxy -W) as PID 1, as the official image has",
        ) from e
