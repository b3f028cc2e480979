"""The generated files on disk versus what stack.yaml renders to: compare, diff, write."""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from stackctl.config.layout import StackPaths
from stackctl.config.secrets import read_secrets
from stackctl.config.spec import StackSpec
from stackctl.core.fsio import atomic_write, read_text_if_exists
from stackctl.engines.base import ContainerInfo, Engine
from stackctl.engines.model import services
from stackctl.flows.edges import Edges


@dataclass(frozen=True)
class FileState:
    name: str
    desired: str
    current: str | None

    @property
    def changed(self) -> bool:
        return self.desired != self.current


def rendered(paths: StackPaths, spec: StackSpec, engine: Engine) -> dict[str, str]:
    """The generated files for this stack in its engine's form; with ACME, haproxy.cfg carries the
    account thumbprint."""
    thumb = None
    if any(site.tls.source == "acme" for site in spec.sites):  # one account answers for every ACME site
        from stackctl.certs.acme.account import existing_thumbprint  # josepy loads only for ACME

        thumb = existing_thumbprint(paths.certs)
    return engine.render_files(paths, spec, thumb)


def generated_states(paths: StackPaths, spec: StackSpec, engine: Engine) -> list[FileState]:
    """Each generated file with its desired and current text. Checks the secrets it refers to exist."""
    read_secrets(paths.secrets, spec)
    files = rendered(paths, spec, engine)
    return [FileState(name, text, read_text_if_exists(paths.root / name)) for name, text in files.items()]


def stack_files(paths: StackPaths, spec: StackSpec, edges: Edges) -> list[FileState]:
    """`generated_states` in the form the stack's engine runs them (no engine connection is needed)."""
    return generated_states(paths, spec, edges.engine(spec))


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


def drift(paths: StackPaths, spec: StackSpec, engine: Engine, running: dict[str, ContainerInfo] | None) -> list[str]:
    """Generated files and running containers that differ from what stack.yaml renders to; `running`:
    the stack's containers, when the engine could be asked."""
    states = generated_states(paths, spec, engine)
    drift = [s.name for s in states if s.changed]
    for service in services(spec, paths) if running is not None else []:
        container = running.get(service.name) if running is not None else None
        if container is not None and not service.matches(container.config_hash):
            drift.append(service.name)
    return drift
