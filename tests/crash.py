"""Crashes as the kernel makes them: SIGKILL to a container's main process by its PID on the host (the
OOM killer's way), never through Docker's API, which Docker would count as a manual stop. Then wait
for Docker (not a test, not stackctl) to bring the service back, under HTTPS load where only the
HAProxy crash window may fail and PhotoPrism's maintenance 503 is not a failure."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from tests.helpers import wait_until
from tests.load import FreshConnections

BACK_WITHIN_S = 90.0  # the slowest health-check window (PhotoPrism's start period and checks) with room
SERVED_AGAIN_SLACK_S = 1.0  # a connection opened just before HAProxy listened again fails just after


@dataclass(frozen=True)
class Crash:
    service: str
    container_id: str
    restarts_before: int
    at: float  # monotonic


def crash(client: Any, container_name: str, service: str) -> Crash:
    container = client.containers.get(container_name)
    pid = int(container.attrs["State"]["Pid"])
    assert container.attrs["State"]["Status"] == "running" and pid > 0, container.attrs["State"]
    restarts = int(container.attrs["RestartCount"])
    at = time.monotonic()
    os.kill(pid, signal.SIGKILL)
    return Crash(service, str(container.id), restarts, at)


def _back(client: Any, crashed: Crash) -> bool:
    container = client.containers.get(crashed.container_id)
    state = container.attrs["State"]
    health = (state.get("Health") or {}).get("Status")
    restarted = int(container.attrs["RestartCount"]) > crashed.restarts_before
    return restarted and state["Status"] == "running" and health in (None, "healthy")


def wait_back(client: Any, crashed: Crash, seconds: float = BACK_WITHIN_S) -> float:
    """Wait until Docker has restarted the same container and it is healthy; returns when (monotonic)."""
    wait_until(lambda: _back(client, crashed), seconds, f"Docker to restart {crashed.service}", every=0.1)
    return time.monotonic()


def ok_or_maintenance(reply: bytes) -> bool:
    head = reply.split(b"\r\n\r\n", 1)[0].lower()
    return reply.startswith(b"HTTP/1.1 200") or (reply.startswith(b"HTTP/1.1 503") and b"\r\nretry-after: " in head)


class Crashes:
    """Crash services of project `project` under `load`, keeping the windows in which HAProxy was down."""

    def __init__(self, client: Any, project: str, load: FreshConnections) -> None:
        self.client, self.project, self.load = client, project, load
        self.haproxy_down: list[tuple[float, float]] = []
        self.back_after_s: list[tuple[str, float]] = []  # from the kill to running (and healthy)

    def crash(self, *services: str) -> None:
        """Each in turn: crashed, back by itself, and PhotoPrism served again through HAProxy."""
        for service in services:
            crashed = crash(self.client, f"{self.project}-{service}-1", service)
            back = wait_back(self.client, crashed)
            self.back_after_s.append((service, round(back - crashed.at, 2)))
            self.wait_served(f"PhotoPrism after {service}'s crash")
            if service == "haproxy":
                # Docker said it runs at `back`: the first answer after that ends the window (an answer
                # recorded just after the kill may belong to a request served before it).
                first_ok = min((t for t in self.load.ok_times if t > back), default=back)
                self.haproxy_down.append((crashed.at, first_ok + SERVED_AGAIN_SLACK_S))

    def wait_served(self, what: str, answers: int = 20) -> None:
        served = self.load.statuses.get(200, 0)
        wait_until(lambda: self.load.statuses.get(200, 0) > served + answers, 60, what)

    def failures_outside_haproxy_crashes(self) -> list[str]:
        return [
            why
            for at, why in zip(self.load.failed_at, self.load.failures, strict=True)
            if not any(start <= at <= end for start, end in self.haproxy_down)
        ]


@contextlib.contextmanager
def crashes_under_load(client: Any, project: str, https: int, domain: str, cafile: str) -> Iterator[Crashes]:
    """Fresh TLS connections to the site for as long as the block runs; the block crashes services."""
    load = FreshConnections(https, domain, cafile, acceptable=ok_or_maintenance)
    with load:
        wait_until(lambda: load.statuses.get(200, 0) > 20, 30, "load to be served before the crashes")
        yield Crashes(client, project, load)
    assert load.ok > 40
