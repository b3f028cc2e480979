"""Waiting for containers: running, healthy, or failed with their last log lines."""

from __future__ import annotations

import time

from docker.models.containers import Container

from stackctl.core.clock import Deadline
from stackctl.core.errors import OperationFailed
from stackctl.engines.docker.client import docker_call

POLL_SECONDS = 0.1  # a maintenance window ends this much after the container is healthy, at most


def last_log_lines(container: Container, count: int = 8) -> str:
    try:
        raw = container.logs(tail=count)
    except Exception:  # the container may be gone already; the logs are only a courtesy
        return ""
    text = raw.decode(errors="replace") if isinstance(raw, bytes) else str(raw)
    return " | ".join(line.strip() for line in text.strip().splitlines() if line.strip())


def wait_ready(container: Container, service: str, needs_health: bool, deadline: Deadline, fresh: bool = False) -> None:
    """Return once `container` runs (and is healthy when it has a health check). `fresh`: its attrs
    were just read (a listed container), so the first look needs no second request."""
    while True:
        if not fresh:
            with docker_call(f"read the state of the {service} container {container.name}", "run stackctl up again"):
                container.reload()
        fresh = False
        state = container.attrs["State"]
        if state["Status"] in ("exited", "dead") or state.get("Restarting"):
            raise OperationFailed(
                f"{service} exited during start (exit code {state.get('ExitCode')}): {last_log_lines(container)}",
                f"fix the cause, then run stackctl up again; full log: docker logs {container.name}",
            )
        health = state.get("Health", {}).get("Status")
        if state["Status"] == "running" and (not needs_health or health == "healthy"):
            return
        if deadline.expired():
            logs = last_log_lines(container)
            detail = f"state {state['Status']}" + (f", health {health}" if health else "")
            log = state.get("Health", {}).get("Log") or []
            last_check = log[-1]["Output"].strip() if log else ""
            raise OperationFailed(
                f"timed out after {deadline.seconds:.0f}s waiting for {service} to become "
                f"{'healthy' if needs_health else 'running'} ({detail})"
                + (f"; last health check: {last_check}" if last_check else "")
                + (f"; last log lines: {logs}" if logs else ""),
                f"raise --timeout or look at: docker logs {container.name}",
            )
        time.sleep(POLL_SECONDS)
