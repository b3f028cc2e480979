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
from stackctl.engines.status import ContainerStatus, LastExit

NEVER = "0001-01-01"  # Docker's FinishedAt of a container that has not exited yet
_EVENT_WINDOW_S = 2.0


def container_rows(
    client: docker.DockerClient, spec: StackSpec, paths: StackPaths, wanted: list[str]
) -> list[ContainerStatus]:
    found = project_containers(client, spec.name, paths.compose_dir)
    now = utcnow()
    codes = _exit_codes_of_restarted(client, list(found.values()), now)
    rows = []
    for service in wanted:
        container = found.get(service)
        if container is None:
            rows.append(ContainerStatus(service, f"{spec.name}-{service}-1", None, "missing", None, None, 0, None))
        else:
            rows.append(_row(service, container, now, codes.get(container.id or "")))
    return rows


def _row(service: str, container: Container, now: dt.datetime, restarted_code: int | None) -> ContainerStatus:
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
        last_exit=_last_exit(state, now, restarted_code),
    )


def _finished(state: dict[str, Any], now: dt.datetime) -> float | None:
    """How long ago the container last exited, or None when it never has."""
    finished = str(state.get("FinishedAt") or "")
    return None if finished.startswith(NEVER) else age_seconds(finished, now)


def _last_exit(state: dict[str, Any], now: dt.datetime, restarted_code: int | None) -> LastExit | None:
    age = _finished(state, now)
    if age is None:
        return None
    # A running container has started again since, and Docker reset its exit code: its `die` event has it.
    code = restarted_code if state.get("Status") == "running" else state.get("ExitCode")
    return LastExit(code, bool(state.get("OOMKilled")), str(state["FinishedAt"])[:19] + "Z", age)


def _exit_codes_of_restarted(
    client: docker.DockerClient, containers: list[Container], now: dt.datetime
) -> dict[str, int]:
    """Container id -> the exit code of its `die` event at its last exit, for every running container
    that has exited before, in one request, while the engine still holds the events (its last 256 since
    it started)."""
    finished: dict[str, float] = {}
    for container in containers:
        state = container.attrs["State"]
        age = _finished(state, now)
        if state.get("Status") == "running" and age is not None and container.id:
            finished[container.id] = now.timestamp() - age
    if not finished:
        return {}
    filters = {"container": list(finished), "event": "die"}
    since = min(finished.values()) - _EVENT_WINDOW_S
    with docker_call("read the events of the stack's containers"):
        # The API takes fractional seconds (an event a moment ago is found); the SDK's stub says int.
        events = list(client.events(since=since, until=time.time(), filters=filters, decode=True))  # type: ignore[call-overload]
    codes: dict[str, int] = {}
    for event in events:  # oldest first: the last one near each container's exit wins
        actor = event.get("Actor") or {}
        container_id, code = actor.get("ID", ""), str(actor.get("Attributes", {}).get("exitCode", ""))
        at = float(event.get("timeNano", 0)) / 1e9
        if container_id in finished and code.isdigit() and abs(at - finished[container_id]) <= _EVENT_WINDOW_S:
            codes[container_id] = int(code)
    return codes
