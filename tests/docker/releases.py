"""Releases of the PhotoPrism stand-in published under one tag in a real registry (Debian's
docker-registry on 127.0.0.1:5555, started by tests/registry.sh), as a real release would be, for a
stack that pulls every image from there with `pull: always`."""

from __future__ import annotations

import contextlib
import io
from typing import Protocol

import docker

from tests.docker.conftest import TEST_IMAGES


class EditableStack(Protocol):
    """A stack on one host or on a Swarm, as the tests make them."""

    name: str
    client: docker.DockerClient

    def edit(self, old: str, new: str) -> None: ...


class Release:
    """One tag in the registry that new stand-in versions are published under."""

    def __init__(self, client: docker.DockerClient, repository: str) -> None:
        self.client, self.repository = client, repository

    @property
    def reference(self) -> str:
        return f"{self.repository}:latest"

    def publish(self, version: int) -> None:
        """A release of stand-in `version` with a layer of its own, pushed, then removed here: stackctl
        must pull it from the registry, layer bytes and all."""
        dockerfile = (
            f"FROM stackctl-test/photoprism:v{version}\nRUN head -c 3000000 /dev/urandom > /release-{version}.bin\n"
        )
        image, _ = self.client.images.build(fileobj=io.BytesIO(dockerfile.encode()), rm=True, forcerm=True)
        image.tag(self.repository, "latest")
        for event in self.client.images.push(self.repository, tag="latest", stream=True, decode=True):
            assert "error" not in event, event
        self.client.images.remove(image.id, force=True)


def released(stack: EditableStack, registry: str) -> Release:
    """The stack's PhotoPrism image is the release tag (v1 published); every image comes from the registry.
    Call remove_release once the stack's containers are gone."""
    release = Release(stack.client, f"{registry}/{stack.name}/photoprism")
    release.publish(1)
    stack.edit('photoprism: "stackctl-test/photoprism:standin"', f'photoprism: "{release.reference}"')
    for image in (TEST_IMAGES["haproxy"], TEST_IMAGES["mariadb"]):
        stack.edit(f'"{image}"', f'"{registry}/{image}"')
    stack.edit("pull: never", "pull: always")
    return release


def remove_release(release: Release) -> None:
    for image in release.client.images.list(name=release.repository):
        with contextlib.suppress(docker.errors.APIError):
            release.client.images.remove(image.id, force=True)


def pushed(client: docker.DockerClient, registry: str, image: str) -> str:
    """A local test image pushed to the registry under its own name: the reference a stack that pulls
    every image (`pull: always`) can use."""
    repository, tag = image.rsplit(":", 1)
    client.images.get(image).tag(f"{registry}/{repository}", tag)
    for event in client.images.push(f"{registry}/{repository}", tag=tag, stream=True, decode=True):
        assert "error" not in event, event
    return f"{registry}/{image}"
