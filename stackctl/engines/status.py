"""What runs, as `status` shows it: a row per container (or, on Swarm, per task) and how each last
ended. Each engine describes its own (`Engine.describe`); health judges them."""

from __future__ import annotations

from dataclasses import dataclass

from stackctl.render.services import RESTART_POLICY

__all__ = ["RECENT_RESTART_S", "RESTART_POLICY", "ContainerStatus", "LastExit", "ago"]

RECENT_RESTART_S = 600.0  # a restart this recent is named in the verdict


@dataclass(frozen=True)
class LastExit:
    """How a container (or, on Swarm, a service's last failed task) last ended."""

    code: int | None  # None: Docker no longer knows (its event log rolled over)
    oom_killed: bool
    at: str  # ISO 8601 UTC
    age_s: float  # seconds before the snapshot

    def describe(self) -> str:
        code = "exit code unknown" if self.code is None else f"exit code {self.code}"
        return f"{ago(self.age_s)} ago, {'OOM-killed' if self.oom_killed else code}"


def ago(seconds: float) -> str:
    minutes = int(seconds) // 60
    return f"{minutes}m" if minutes else f"{int(seconds)}s"


@dataclass(frozen=True)
class ContainerStatus:
    service: str
    name: str
    image: str | None
    state: str  # running, exited, created, restarting, missing
    health: str | None  # healthy, unhealthy, starting, or None without a health check
    uptime_s: float | None
    restarts: int
    exit_code: int | None
    node: str | None = None  # Swarm: the node that runs this task
    error: str | None = None  # Swarm: the task's last error
    restart_policy: str | None = None  # Docker's; None on Swarm, where the service restarts its tasks
    last_exit: LastExit | None = None

    def restarted_recently(self) -> bool:
        return self.state == "running" and self.last_exit is not None and self.last_exit.age_s <= RECENT_RESTART_S
