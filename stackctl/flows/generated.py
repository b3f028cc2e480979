"""The generated files on disk versus what stack.yaml renders to: compare, diff, write."""

from __future__ import annotations

import difflib
from dataclasses import dataclass

import docker

from stackctl.config.layout import StackPaths
from stackctl.config.secrets import read_secrets
from stackctl.config.spec import StackSpec
from stackctl.core.fsio import atomic_write, read_text_if_exists
from stackctl.engines.docker.ownership import project_containers
from stackctl.engines.features import http3_for
from stackctl.engines.labels import HASH_LABEL
from stackctl.engines.model import services
from stackctl.render import render_stack


@dataclass(frozen=True)
class FileState:
    name: str
    desired: str
    current: str | None

    @property
    def changed(self) -> bool:
        return self.desired != self.current


def rendered(paths: StackPaths, spec: StackSpec) -> dict[str, str]:
    """The generated files for this stack; with ACME, haproxy.cfg carries the account thumbprint."""
    thumb = None
    if any(site.tls.source == "acme" for site in spec.sites):  # one account answers for every ACME site
        from stackctl.certs.acme.account import existing_thumbprint  # josepy loads only for ACME

        thumb = existing_thumbprint(paths.certs)
    digests = None
    if spec.engine == "swarm":  # compose.yaml names each secret by a digest of its value
        from stackctl.flows.swarm_secrets import secret_digests, secret_values

        digests = secret_digests(spec, secret_values(paths.root, spec))
    return render_stack(spec, thumb, http3_for(paths, spec), digests)


def generated_states(paths: StackPaths, spec: StackSpec) -> list[FileState]:
    """Each generated file with its desired and current text. Checks the secrets it refers to exist."""
    read_secrets(paths.secrets, spec)
    files = rendered(paths, spec)
    return [FileState(name, text, read_text_if_exists(paths.root / name)) for name, text in files.items()]


def write_changed(paths: StackPaths, states: list[FileState]) -> list[str]:
    changed = [s for s in states if s.changed]
    for state in changed:
        atomic_write(paths.root / state.name, state.desired)
    return [s.name for s in changed]


def unified_diff(state: FileState) -> str:
    before = (state.current or "").splitlines(keepends=True)
    after = state.desired.splitlines(keepends=True)
    origin = f"a/{state.name}" if state.current is not None else "/dev/null"
    return "".join(difflib.unified_diff(before, after, origin, f"b/{state.name}"))


def drift(paths: StackPaths, spec: StackSpec, client: docker.DockerClient | None) -> list[str]:
    """Generated files and running containers that differ from what stack.yaml renders to."""
    states = generated_states(paths, spec)
    drift = [s.name for s in states if s.changed]
    if client is not None:
        running = project_containers(client, spec.name, paths.compose_dir)
        for service in services(spec, paths):
            container = running.get(service.name)
            if container is not None and not service.matches(container.labels.get(HASH_LABEL)):
                drift.append(service.name)
    return drift
