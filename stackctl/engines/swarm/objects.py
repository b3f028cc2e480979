"""Secrets and configs: immutable, so each name carries a hash of its content. New ones are created
before the services change; the ones no service uses any more are removed after success."""

from __future__ import annotations

from dataclasses import dataclass

import docker
import docker.errors
from docker.models.configs import ConfigCollection
from docker.models.secrets import SecretCollection

from stackctl.engines.docker.client import docker_call
from stackctl.render.swarm import STACK_NAMESPACE_LABEL


@dataclass(frozen=True)
class SwarmObject:
    kind: str  # secret | config
    name: str
    data: bytes

    def __repr__(self) -> str:  # a secret's value never reaches a log or a traceback
        return f"SwarmObject({self.kind}, {self.name})"


def _collection(client: docker.DockerClient, kind: str) -> SecretCollection | ConfigCollection:
    return client.secrets if kind == "secret" else client.configs


def ensure_objects(client: docker.DockerClient, project: str, objects: list[SwarmObject]) -> dict[str, str]:
    """Create the ones that do not exist yet; returns every object's ID by name."""
    ids: dict[str, str] = {}
    for kind in ("secret", "config"):
        collection = _collection(client, kind)
        with docker_call(f"list this stack's Swarm {kind}s"):
            existing = {o.name: o.id for o in collection.list(filters={"label": f"{STACK_NAMESPACE_LABEL}={project}"})}
        for obj in (o for o in objects if o.kind == kind):
            if obj.name not in existing:
                with docker_call(f"create the Swarm {kind} {obj.name}"):
                    existing[obj.name] = collection.create(
                        name=obj.name, data=obj.data, labels={STACK_NAMESPACE_LABEL: project}
                    ).id
            ids[obj.name] = str(existing[obj.name])
    return ids


def prune_objects(client: docker.DockerClient, project: str, keep: set[str]) -> list[str]:
    """Remove this stack's secrets and configs not in `keep` (all of them with an empty set). One that
    a service still uses is left: Docker refuses, and the next successful `up` removes it."""
    removed = []
    for kind in ("secret", "config"):
        collection = _collection(client, kind)
        with docker_call(f"list this stack's Swarm {kind}s"):
            found = collection.list(filters={"label": f"{STACK_NAMESPACE_LABEL}={project}"})
        for obj in found:
            if obj.name in keep:
                continue
            try:
                obj.remove()
                removed.append(str(obj.name))
            except docker.errors.APIError:
                continue  # still in use by a service being removed or rolled back
    return removed


def remaining(client: docker.DockerClient, project: str) -> list[str]:
    """This stack's secrets and configs that still exist."""
    names = []
    for kind in ("secret", "config"):
        with docker_call(f"list this stack's Swarm {kind}s"):
            names += [
                str(o.name)
                for o in _collection(client, kind).list(filters={"label": f"{STACK_NAMESPACE_LABEL}={project}"})
            ]
    return names
