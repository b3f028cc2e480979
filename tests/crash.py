"""Crashes as the kernel makes them: SIGKILL to a container's main process by its PID on the host (the
OOM killer's way), never through Docker's API, which Docker would count as a manual stop. Then wait
for Docker (not a test, not stackctl) to bring the service back."""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass
from typing import Any

from tests.helpers import wait_until

BACK_WITHIN_S = 90.0  # the slowest health-check window (PhotoPrism's start period and checks) with room


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
