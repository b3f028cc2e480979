"""Connect to the Docker engine, and the one place that turns Docker's errors into ours: every call into
the SDK runs inside `docker_call(action)`, so a user reads the operation and Docker's own words."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import docker
import docker.errors
import requests.exceptions

from stackctl.core.errors import OperationFailed

DEFAULT_SOCKET = "unix:///var/run/docker.sock"
_RETRY_HINT = "fix the cause Docker names, then run the command again"
# Everything the Docker SDK raises: its own tree, and requests' when the engine stops answering mid-call.
DOCKER_ERRORS = (docker.errors.DockerException, requests.exceptions.RequestException)


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


def _docker_words(error: Exception) -> str:
    explanation = getattr(error, "explanation", None) or str(error) or type(error).__name__
    text = explanation.decode(errors="replace") if isinstance(explanation, bytes) else str(explanation)
    return " ".join(text.split())[:300]


def translate(action: str, error: Exception, hint: str = _RETRY_HINT) -> OperationFailed:
    """Docker SDK exception raised while doing `action` -> one OperationFailed with Docker's words."""
    if isinstance(error, (requests.exceptions.ConnectionError, requests.exceptions.Timeout)):
        return OperationFailed(
            f"failed to {action}: the Docker engine at {engine_address()} stopped answering",
            "check that dockerd runs (docker info), then run the command again",
        )
    return OperationFailed(f"failed to {action}: {_docker_words(error)}", hint)


@contextlib.contextmanager
def docker_call(action: str, hint: str = _RETRY_HINT) -> Iterator[None]:
    """Translate whatever the Docker SDK raises inside the block (the operation is `action`)."""
    try:
        yield
    except DOCKER_ERRORS as e:
        raise translate(action, e, hint) from e
