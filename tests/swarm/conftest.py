"""Swarm tier: the local engine in Swarm mode (single node). The tier joins a Swarm only when the engine
is in none, and then leaves it afterwards; node labels it adds are taken off again."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import docker
import docker.errors
import pytest

from tests.docker.conftest import TEST_IMAGES, _free_subnet, docker_client, registry  # noqa: F401 (fixtures)
from tests.helpers import free_port, run_cli

NAMESPACE = "com.docker.stack.namespace"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "/tests/swarm/" in str(item.fspath):
            item.add_marker(pytest.mark.swarm)


@dataclass
class SwarmSession:
    client: docker.DockerClient
    joined: bool  # the tier made this Swarm (and may re-create it, e.g. on another address)


@pytest.fixture(scope="session")
def swarm_session(docker_client: docker.DockerClient) -> Iterator[SwarmSession]:  # noqa: F811
    joined = docker_client.info()["Swarm"]["LocalNodeState"] == "inactive"
    if joined:
        docker_client.swarm.init(advertise_addr="127.0.0.1")
    node = docker_client.nodes.get(docker_client.info()["Swarm"]["NodeID"])
    labels_before = dict(node.attrs["Spec"].get("Labels") or {})
    try:
        yield SwarmSession(docker_client, joined)
    finally:
        if joined:
            docker_client.swarm.leave(force=True)
        else:
            node.reload()
            spec = dict(node.attrs["Spec"])
            spec["Labels"] = labels_before
            node.update(spec)


@pytest.fixture(scope="session")
def swarm(swarm_session: SwarmSession) -> docker.DockerClient:
    return swarm_session.client


@dataclass
class SwarmStack:
    root: Path
    name: str
    http: int
    https: int
    client: docker.DockerClient

    def cli(self, *argv: str) -> tuple[int, str, str]:
        result = run_cli("--dir", str(self.root), *argv)
        return result.code, result.out, result.err

    @property
    def ca(self) -> str:
        return str(self.root / "certs/ca/ca.crt")

    def edit(self, old: str, new: str) -> None:
        spec = self.root / "stack.yaml"
        text = spec.read_text()
        assert old in text, old
        spec.write_text(text.replace(old, new, 1))


def swarm_yaml(name: str, http: int, https: int, subnet: str, images: dict[str, str], pull: str) -> str:
    return f"""name: {name}
engine: swarm
domain: photos.example.com
ports: {{http: {http}, https: {https}}}
network: {{subnet: {subnet}}}
images:
  haproxy: "{images["haproxy"]}"
  photoprism: "{images["photoprism"]}"
  mariadb: "{images["mariadb"]}"
pull: {pull}
"""


def remove_swarm_project(client: docker.DockerClient, name: str) -> None:
    """Whatever a failed test left: services, then secrets, configs, the network."""
    label = {"label": f"{NAMESPACE}={name}"}
    for service in client.services.list(filters=label):
        with contextlib.suppress(docker.errors.APIError):
            service.remove()
    for container in client.containers.list(all=True, filters=label):
        with contextlib.suppress(docker.errors.APIError):
            container.remove(force=True)
    for collection in (client.secrets, client.configs):
        for obj in collection.list(filters=label):
            with contextlib.suppress(docker.errors.APIError):
                obj.remove()
    for network in client.networks.list(names=[f"{name}_photoprism"]):
        with contextlib.suppress(docker.errors.APIError):
            network.remove()


@contextlib.contextmanager
def make_swarm_stack(
    client: docker.DockerClient, folder: Path, images: dict[str, str] = TEST_IMAGES, pull: str = "never"
) -> Iterator[SwarmStack]:
    name = f"s{secrets.token_hex(4)}"
    folder.mkdir(parents=True, exist_ok=True)
    stack = SwarmStack(folder, name, free_port(), free_port(), client)
    (folder / "stack.yaml").write_text(swarm_yaml(name, stack.http, stack.https, _free_subnet(client), images, pull))
    assert run_cli("--dir", str(folder), "init").code == 0
    try:
        yield stack
    finally:
        run_cli("--dir", str(folder), "down")
        remove_swarm_project(client, name)


@pytest.fixture(scope="module")
def swarm_stack(swarm: docker.DockerClient, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SwarmStack]:
    with make_swarm_stack(swarm, tmp_path_factory.mktemp("swarm") / "stack") as stack:
        yield stack
