"""The Containers rows of `status` on one Docker host: state, health, restarts and how each last ended."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import docker
from docker.models.containers import Container

from stackctl.config.layout import StackPaths
from stackctl.config.spec import StackSpec
from stackctl.core.clock import age_seconds, utcnow
from stackctl.engines.docker.apply import restart_policy
from stackctl.engines.docker.client import docker_call
from stackctl.engines.docker.ownership import project_containers
from stackctl.health.model import ContainerStatus, LastExit

NEVER = "0001-01-01"  # Docker's FinishedAt of a container that has not exited yet
_EVENT_WINDOW_S = 2.0


def container_rows(
    client: docker.DockerClient, spec: StackSpec, paths: StackPaths, wanted: list[str]
) -> list[ContainerStatus]:
    found = project_containers(client, spec.name, paths.compose_dir)
    now = utcnow()
    rows = []
    for service in wanted:
        container = found.get(service)
        if container is None:
            rows.append(ContainerStatus(service, f"{spec.name}-{service}-1", None, "missing", None, None, 0, None))
        else:
            rows.append(_row(client, service, container, now))
    return rows


def _row(client: docker.DockerClient, service: str, container: Container, now: dt.datetime) -> ContainerStatus:
    state = container.attrs["State"]
    running = state.get("Status") == "running"
    return ContainerStatus(
        service=service,
        name=container.name or "",
        image=container.attrs["Config"].get("Image"),
        state=state.get("Status", "unknown"),
        health=(state.get("Health") or {}).get("Status"),
        uptime_s=age_seconds(state.get("StartedAt", ""), now) if running else None,
        restarts=int(container.attrs.get("RestartCount", 0)),
        exit_code=None if running else state.get("ExitCode"),
        restart_policy=restart_policy(container),
        last_exit=_last_exit(client, container, state, now),
    )


def _last_exit(
    client: docker.DockerClient, container: Container, state: dict[str, Any], now: dt.datetime
) -> LastExit | None:
    finished = str(state.get("FinishedAt") or "")
    age = age_seconds(finished, now)
    if finished.startswith(NEVER) or age is None:
        return None
    if state.get("Status") == "running":
        # Docker keeps the exit code only until the container starts again; its `die` event has it.
        code = _exit_code_from_events(client, container.id or "", now.timestamp() - age)
    else:
        code = state.get("ExitCode")
    return LastExit(code, bool(state.get("OOMKilled")), finished[:19] + "Z", age)


def _exit_code_from_events(client: docker.DockerClient, container_id: str, finished: float) -> int | None:
    """The exit code of the `die` event at `finished`, while the engine still holds it (its last 256
    events, since it started); None when it no longer does."""
    until = min(finished + _EVENT_WINDOW_S, time.time())
    filters = {"container": container_id, "event": "die"}
    since = finished - _EVENT_WINDOW_S
    with docker_call(f"read the events of container {container_id[:12]}"):
        # The API takes fractional seconds (an event a moment ago is found); the SDK's stub says int.
        events = list(client.events(since=since, until=until, filters=filters, decode=True))  # type: ignore[call-overload]
    for event in reversed(events):
        code = (event.get("Actor") or {}).get("Attributes", {}).get("exitCode")
        if code is not None and str(code).isdigit():
            return int(code)
    return None
