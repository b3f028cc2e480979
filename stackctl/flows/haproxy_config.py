"""A new HAProxy configuration without a new container: check it in the target image, write the folder
atomically, reload the master-worker, and confirm that the new worker runs it, or put the old one back."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from enum import Enum

from stackctl.config.layout import StackPaths
from stackctl.config.spec import StackSpec
from stackctl.core.errors import OperationFailed
from stackctl.core.fsio import atomic_write
from stackctl.engines.base import ContainerInfo, Engine, Report
from stackctl.engines.model import Service, haproxy_service
from stackctl.flows.edges import Edges
from stackctl.flows.generated import FileState
from stackctl.haproxy.runtime_api import RuntimeApi, socket_path
from stackctl.render import HAPROXY_FOLDER
from stackctl.render.haproxy import CONFIG_ID_VARIABLE, HAPROXY_CFG, config_id

RELOAD_CONFIRM_S = 10.0
CANDIDATE_FOLDER = ".haproxy-candidate"  # beside compose/haproxy/, never mounted


class HaproxyChange(Enum):
    CREATE = "create"
    RECREATE = "recreate"  # the container's own settings (image, ports, environment, mounts) changed
    RELOAD = "reload"  # only what HAProxy reads from its folder changed
    START = "start"  # the container exists with the right settings but is not running
    NONE = "none"

    def describe(self) -> str:
        return {
            HaproxyChange.CREATE: "create the haproxy container",
            HaproxyChange.RECREATE: "recreate haproxy (its container settings changed)",
            HaproxyChange.RELOAD: "reload haproxy (config changed); the container is kept",
            HaproxyChange.START: "start the stopped haproxy container",
            HaproxyChange.NONE: "haproxy unchanged",
        }[self]


def haproxy_files(states: list[FileState]) -> list[FileState]:
    return [s for s in states if s.name.startswith(f"{HAPROXY_FOLDER}/")]


def desired_config_id(states: list[FileState]) -> str | None:
    return config_id(next(s.desired for s in states if s.name == f"{HAPROXY_FOLDER}/{HAPROXY_CFG}"))


def haproxy_change(
    existing: ContainerInfo | None, haproxy: Service, states: list[FileState], runtime: RuntimeApi
) -> HaproxyChange:
    """What `up` will do to HAProxy. A kept container reloads when its live configuration id differs
    from the rendered one, also when the files were written by an earlier run that did not finish."""
    if existing is None:
        return HaproxyChange.CREATE
    if not haproxy.matches(existing.config_hash):
        return HaproxyChange.RECREATE
    if existing.status != "running":
        return HaproxyChange.START
    if any(s.changed for s in haproxy_files(states)):
        return HaproxyChange.RELOAD
    live = runtime.environment(CONFIG_ID_VARIABLE)
    # No answer: nothing on disk changed and nothing can be confirmed, so nothing is done.
    return HaproxyChange.NONE if live in (None, desired_config_id(states)) else HaproxyChange.RELOAD


def check_candidate(
    engine: Engine, paths: StackPaths, haproxy: Service, states: list[FileState], report: Report
) -> None:
    """`haproxy -c` of the rendered folder in the image that will run it, before anything is written."""
    candidate = paths.compose_dir.absolute() / CANDIDATE_FOLDER
    shutil.rmtree(candidate, ignore_errors=True)
    try:
        for state in haproxy_files(states):
            atomic_write(candidate / state.name.rsplit("/", 1)[1], state.desired)
        report(f"checking haproxy.cfg with {haproxy.image}")
        engine.validate_haproxy_config(haproxy, candidate)
    finally:
        shutil.rmtree(candidate, ignore_errors=True)


@dataclass(frozen=True)
class Reloader:
    engine: Engine
    runtime: RuntimeApi
    container: str

    def reload_to(self, wanted: str | None) -> bool:
        """Reload and wait until the serving worker reports `wanted` as its configuration id."""
        self.engine.reload_haproxy(self.container)
        deadline = time.monotonic() + RELOAD_CONFIRM_S
        while time.monotonic() < deadline:
            if self.runtime.environment(CONFIG_ID_VARIABLE) == wanted:
                return True
            time.sleep(0.1)
        return False


def reload_confirmed(reloader: Reloader, paths: StackPaths, states: list[FileState], report: Report) -> None:
    """The files are written; make the running HAProxy take them, or put the old ones back and reload."""
    wanted = desired_config_id(states)
    if reloader.reload_to(wanted):
        report("reloaded haproxy (config changed)")
        return
    previous = None
    for file in haproxy_files(states):
        target = paths.root / file.name
        if file.current is None:
            target.unlink(missing_ok=True)
            continue
        atomic_write(target, file.current)
        if file.name.endswith(f"/{HAPROXY_CFG}"):
            previous = config_id(file.current)
    if reloader.reload_to(previous):
        outcome = "the previous configuration was put back and is live"
    else:
        outcome = "the previous configuration was put back but HAProxy did not confirm it either"
    raise OperationFailed(
        f"HAProxy did not confirm the new configuration within {RELOAD_CONFIRM_S:.0f}s; {outcome}",
        f"look at the log: docker logs {reloader.container}",
    )


def undrain(runtime: RuntimeApi, backend: str, server: str) -> None:
    """A drain an interrupted run left behind (Ctrl-C, a kill) ends with the next `up`."""
    with suppress(OperationFailed):  # no HAProxy answering: a new one starts with the server ready
        runtime.set_server_state(backend, server, "ready")


@contextmanager
def drained(runtime: RuntimeApi, backend: str, server: str, report: Report) -> Iterator[None]:
    """While a backend's only container is replaced, HAProxy answers the maintenance page at once
    instead of sending requests into a stopping container."""
    try:
        runtime.set_server_state(backend, server, "maint")
    except OperationFailed:
        yield  # no HAProxy answering yet: nothing to drain
        return
    report(f"HAProxy answers the maintenance page while {backend} is replaced")
    try:
        yield
    finally:
        undrain(runtime, backend, server)


def planned_change(paths: StackPaths, spec: StackSpec, states: list[FileState], edges: Edges) -> HaproxyChange:
    """What `up` would do to HAProxy now (for `plan`); raises OperationFailed without an engine."""
    engine = edges.engine(spec)
    haproxy = haproxy_service(spec, paths)
    existing = engine.containers(spec.name, paths.compose_dir).get("haproxy")
    return haproxy_change(existing, haproxy, states, edges.runtime(socket_path(paths.run)))
