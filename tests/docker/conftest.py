"""Docker tier: a real engine and the stackctl-test images. Each stack has its own project name,
loopback ports and subnet, and is removed afterwards, also when the test fails."""

from __future__ import annotations

import contextlib
import re
import secrets
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import docker
import docker.errors
import pytest

from stackctl.flows.edges import Edges
from tests.helpers import IN_CI, free_port, run_cli, single_site_yaml

# The default test stack runs the newest versions the test images have (HAProxy 3.2 from Debian sid,
# MariaDB from Debian 13); the proxy-facing tests also run on Debian 13's HAProxy 3.0 and on the oldest
# supported one (Debian 12), see HAPROXY_IMAGES.
TEST_IMAGES = {
    "haproxy": "stackctl-test/haproxy:3.2",
    "photoprism": "stackctl-test/photoprism:standin",
    "mariadb": "stackctl-test/mariadb:11.8",
}
UPSTREAM_IMAGE = "stackctl-test/upstream:1"  # a small HTTP app: a site that is not PhotoPrism
OLDEST_IMAGES = {"haproxy": "stackctl-test/haproxy:2.6", "mariadb": "stackctl-test/mariadb:10.11"}
DEBIAN_13_HAPROXY = "stackctl-test/haproxy:3.0"
HAPROXY_IMAGES = [TEST_IMAGES["haproxy"], DEBIAN_13_HAPROXY, OLDEST_IMAGES["haproxy"]]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "/tests/docker/" in str(item.fspath):
            item.add_marker(pytest.mark.docker)


def _unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"docker tier under CI=true: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def docker_client() -> docker.DockerClient:
    try:
        client = docker.from_env(timeout=120)
        client.ping()
    except docker.errors.DockerException as e:
        _unavailable(f"no Docker engine: {e}")
    for image in [*TEST_IMAGES.values(), *OLDEST_IMAGES.values(), DEBIAN_13_HAPROXY, UPSTREAM_IMAGE]:
        try:
            client.images.get(image)
        except docker.errors.ImageNotFound:
            _unavailable(f"test image {image} missing: run make images")
    return client


@dataclass
class Stack:
    root: Path
    name: str
    http: int
    https: int
    stats: int
    client: docker.DockerClient

    def cli(self, *argv: str, edges: Edges | None = None) -> tuple[int, str, str]:
        result = run_cli("--dir", str(self.root), *argv, edges=edges)
        return result.code, result.out, result.err

    def up(self, *extra: str) -> str:
        code, out, err = self.cli("up", "--timeout", "180", *extra)
        assert code == 0, f"up failed ({code}): {err}\n{out}"
        return out

    def edit(self, old: str, new: str) -> None:
        spec = self.root / "stack.yaml"
        text = spec.read_text()
        assert old in text, old
        spec.write_text(text.replace(old, new, 1))

    def containers(self) -> dict[str, str]:
        """service -> container id."""
        found = self.client.containers.list(all=True, filters={"label": f"com.docker.compose.project={self.name}"})
        return {c.labels["com.docker.compose.service"]: c.id for c in found}

    def container(self, service: str) -> docker.models.containers.Container:
        return self.client.containers.get(f"{self.name}-{service}-1")

    @property
    def ca(self) -> str:
        return str(self.root / "certs/ca/ca.crt")


def _free_subnet(client: docker.DockerClient) -> str:
    used = {
        cfg.get("Subnet") for net in client.networks.list() for cfg in (net.attrs.get("IPAM", {}).get("Config") or [])
    }
    for _ in range(50):
        subnet = f"10.{secrets.randbelow(200) + 20}.{secrets.randbelow(256)}.0/24"
        if subnet not in used:
            return subnet
    raise RuntimeError("no free subnet")


def remove_project(client: docker.DockerClient, name: str) -> None:
    for container in client.containers.list(all=True, filters={"label": f"com.docker.compose.project={name}"}):
        with contextlib.suppress(docker.errors.APIError):
            container.remove(force=True)
    for network in client.networks.list(names=[f"{name}_photoprism"]):
        with contextlib.suppress(docker.errors.APIError):
            network.remove()


@contextlib.contextmanager
def make_stack(
    client: docker.DockerClient, folder: Path, database: str = "mariadb", haproxy: str = TEST_IMAGES["haproxy"],
    sites_form: bool = False, init_subnet: bool = False,
) -> Iterator[Stack]:  # fmt: skip
    """A stack on the test images and loopback ports. By default in the single-site form, as `init`
    wrote it before sites: existed; with `sites_form`, as `init` writes it now (one PhotoPrism site).
    With `init_subnet`, the subnet is the one `init` chose; otherwise a random free one."""
    name = f"t{secrets.token_hex(4)}"
    folder.mkdir(parents=True, exist_ok=True)
    if sites_form:
        assert run_cli("--dir", str(folder), "init", "--domain", "photos.example.com").code == 0
    else:
        (folder / "stack.yaml").write_text(single_site_yaml("photos.example.com"))
        assert run_cli("--dir", str(folder), "init").code == 0  # adds the secrets
    stack = Stack(folder, name, free_port(), free_port(), free_port(), client)
    text = (folder / "stack.yaml").read_text()
    for old, new in (
        ("name: photoprism ", f"name: {name} "),
        ("http: 80 ", f"http: {stack.http} "),
        ("https: 443", f"https: {stack.https}"),
        ("bind: 0.0.0.0", "bind: 127.0.0.1"),
        ("stats: 8404", f"stats: {stack.stats}"),
        ('haproxy: "haproxy:3.2"', f'haproxy: "{haproxy}"'),
        ('"photoprism/photoprism:latest"', f'"{TEST_IMAGES["photoprism"]}"'),
        ('"mariadb:11"', f'"{TEST_IMAGES["mariadb"]}"'),
        ("pull: missing", "pull: never"),
        ("kind: mariadb", f"kind: {database}"),
    ):
        text = text.replace(old, new, 1)
    if not init_subnet:
        text = re.sub(r"subnet: \S+", f"subnet: {_free_subnet(client)}", text)
    (folder / "stack.yaml").write_text(text)
    try:
        yield stack
    finally:
        remove_project(client, name)


@pytest.fixture
def stack(docker_client: docker.DockerClient, tmp_path: Path) -> Iterator[Stack]:
    with make_stack(docker_client, tmp_path / "stack") as s:
        yield s


@pytest.fixture(params=HAPROXY_IMAGES, ids=lambda image: image.rsplit(":", 1)[1])
def stack_each_haproxy(
    request: pytest.FixtureRequest, docker_client: docker.DockerClient, tmp_path: Path
) -> Iterator[Stack]:
    """A fresh stack per HAProxy version: the newest test image and the oldest supported one."""
    with make_stack(docker_client, tmp_path / "stack", haproxy=request.param) as s:
        yield s


@pytest.fixture(scope="module", params=HAPROXY_IMAGES, ids=lambda image: image.rsplit(":", 1)[1])
def running_stack(
    request: pytest.FixtureRequest, docker_client: docker.DockerClient, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """One stack per HAProxy version, brought up once for the read-only tests of a module."""
    with make_stack(docker_client, tmp_path_factory.mktemp("running") / "stack", haproxy=request.param) as s:
        s.up()
        yield s


REGISTRY = "127.0.0.1:5555"  # Debian's docker-registry, started by tests/registry.sh


@pytest.fixture
def registry(docker_client: docker.DockerClient) -> str:
    try:
        urllib.request.urlopen(f"http://{REGISTRY}/v2/", timeout=3).close()
    except OSError as e:
        if IN_CI:
            pytest.fail(f"no registry at {REGISTRY} under CI=true (tests/registry.sh starts it): {e}")
        pytest.skip(f"no registry at {REGISTRY}: run tests/registry.sh")
    return REGISTRY
