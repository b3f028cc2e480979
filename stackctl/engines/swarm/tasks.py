"""A Swarm task as `status` reads it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TaskInfo:
    service: str
    node: str  # hostname, or the node ID when unknown
    state: str
    desired: str
    error: str
    image: str = ""
    since: str = ""  # when the task entered its state
    exit_code: int | None = None  # its container's, once it has ended
