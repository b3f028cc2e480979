"""Put a new certificate bundle in front of users on a running HAProxy: runtime API transaction first,
a seamless master-worker reload (SIGUSR2) when the API cannot do it."""

from __future__ import annotations

from pathlib import Path

import docker
import docker.errors

from stackctl.engine.client import DOCKER_ERRORS, api_error
from stackctl.engine.runtime_api import command
from stackctl.errors import OperationFailed
from stackctl.render.haproxy import CONTAINER_LAYOUT


def container_cert_path(domain: str) -> str:
    """The name HAProxy knows the bundle by: its path inside the container."""
    return f"{CONTAINER_LAYOUT.certs_dir}{domain}.pem"


class ApiUnavailable(Exception):
    """The runtime API cannot take this update (unreachable, or the certificate is not loaded yet)."""


def runtime_api_answers(sock: Path) -> bool:
    """Whether HAProxy answers on the stack's runtime socket (it runs, whatever Docker says)."""
    try:
        return "Name: HAProxy" in command(sock, "show info", timeout=2)
    except OperationFailed:
        return False


def swap_via_runtime_api(sock: Path, domain: str, bundle_pem: str) -> None:
    """`set ssl cert` + `commit ssl cert`. HAProxy refuses a bundle it cannot use (key mismatch,
    garbage): that refusal raises OperationFailed with its words, and the transaction is aborted."""
    name = container_cert_path(domain)
    try:
        loaded = command(sock, "show ssl cert", timeout=3)
    except OperationFailed as e:
        raise ApiUnavailable(e.message) from e
    if name not in loaded.split():
        raise ApiUnavailable(f"HAProxy has no certificate named {name} loaded")
    reply = command(sock, f"set ssl cert {name}", payload=bundle_pem, timeout=5)
    if "Transaction created" not in reply and "Transaction updated" not in reply:
        command(sock, f"abort ssl cert {name}", timeout=3)
        raise OperationFailed(
            f"HAProxy refused the new certificate: {' '.join(reply.split())}",
            "check the certificate and key (stackctl certs show)",
        )
    reply = command(sock, f"commit ssl cert {name}", timeout=10)
    if "Success" not in reply:
        command(sock, f"abort ssl cert {name}", timeout=3)
        raise OperationFailed(
            f"HAProxy could not commit the new certificate: {' '.join(reply.split())}",
            "look at the haproxy container's log",
        )


def reload_haproxy(client: docker.DockerClient, container_name: str) -> None:
    """SIGUSR2 to the master: new workers read the new bundle, old ones finish their connections."""
    try:
        client.containers.get(container_name).kill(signal="SIGUSR2")
    except docker.errors.NotFound as e:
        raise OperationFailed(
            f"failed to reload HAProxy: container {container_name} not found", "run stackctl up to start the stack"
        ) from e
    except DOCKER_ERRORS as e:
        raise api_error(f"reload HAProxy in {container_name}", e) from e
