"""Connect to the Docker engine; the one place that turns connection failures into clear errors."""

from __future__ import annotations

import os

import docker
import docker.errors
import requests.exceptions

from stackctl.errors import OperationFailed

DEFAULT_SOCKET = "unix:///var/run/docker.sock"


def engine_address() -> str:
    return os.environ.get("DOCKER_HOST") or DEFAULT_SOCKET


def connect(timeout: int = 60) -> docker.DockerClient:
    """A client that has answered a ping. Raises OperationFailed naming the address and the fix."""
    address = engine_address()
    try:
        client = docker.from_env(timeout=timeout)
        client.ping()
    except (docker.errors.DockerException, requests.exceptions.RequestException) as e:
        raise _connection_error(address, e) from e
    return client


def _connection_error(address: str, error: Exception) -> OperationFailed:
    text = str(error)
    if "Permission denied" in text or isinstance(error.__context__, PermissionError):
        return OperationFailed(
            f"failed to connect to the Docker engine at {address}: permission denied",
            "add your user to the docker group (then log in again) or run with sudo",
        )
    return OperationFailed(
        f"failed to connect to the Docker engine at {address}: it is not running or not reachable",
        "start it (sudo systemctl start docker) or point DOCKER_HOST at a running engine",
    )


def api_error(action: str, error: Exception) -> OperationFailed:
    """Translate a docker.errors.APIError raised while doing `action`."""
    explanation = getattr(error, "explanation", None) or str(error)
    return OperationFailed(f"failed to {action}: {explanation}")
