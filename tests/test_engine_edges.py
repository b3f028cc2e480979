"""The edges of the engine layer that need no engine: Docker error translation and HAProxy's user."""

from __future__ import annotations

import os
from pathlib import Path

import docker.errors
import pytest
import requests

from stackctl.core.errors import OperationFailed
from stackctl.engines.docker.client import docker_call
from stackctl.engines.model import HAPROXY_IMAGE_UID, haproxy_ids


def test_an_api_error_carries_the_operation_and_dockers_words() -> None:
    response = requests.Response()
    response.status_code = 409
    with pytest.raises(OperationFailed) as caught, docker_call("create container p-haproxy-1"):
        raise docker.errors.APIError("409 Conflict", response, explanation="name is already in use by 1f2e")
    assert caught.value.message == "failed to create container p-haproxy-1: name is already in use by 1f2e"
    assert caught.value.hint and isinstance(caught.value.__cause__, docker.errors.APIError)


def test_an_engine_that_stops_answering_mid_call_is_named() -> None:
    with pytest.raises(OperationFailed) as caught, docker_call("list the containers of project p"):
        raise requests.exceptions.ConnectionError("Connection aborted")
    assert "stopped answering" in caught.value.message and "docker info" in caught.value.hint


def test_haproxy_runs_as_the_folder_owner_whoever_calls(tmp_path: Path) -> None:
    folder = tmp_path / "stack"
    folder.mkdir()
    if os.geteuid() == 0:
        assert haproxy_ids(folder) == (HAPROXY_IMAGE_UID, HAPROXY_IMAGE_UID)  # root's folder: the image's user
        os.chown(folder, 1234, 2345)
        assert haproxy_ids(folder) == (1234, 2345)  # sudo stackctl on a user's folder keeps the user's uid
    else:
        assert haproxy_ids(folder) == (os.getuid(), os.getgid())


def test_the_process_holding_a_port_is_found_whatever_descriptors_close_during_the_search() -> None:
    """Listing /proc/<pid>/fd opens a descriptor that is closed again before it is read back: when it
    is numbered below the socket's (a lower one was free), the search must go on past it."""
    import os
    import socket

    from stackctl.engines.docker.preflight import _process_listening

    low = open(os.devnull)  # noqa: SIM115 - closed below to leave a free low descriptor
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        low.close()
        assert _process_listening(squatter.getsockname()[1]) == f"process {_comm()} (pid {os.getpid()})"


def _comm() -> str:
    import os

    with open(f"/proc/{os.getpid()}/comm") as handle:
        return handle.read().strip()
