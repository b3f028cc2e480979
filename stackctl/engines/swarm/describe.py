"""The Containers rows of `status` on Swarm: a row per task Swarm wants running, with its node, and
the last failed task on that node as its last exit."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from stackctl.config.spec import StackSpec
from stackctl.core.clock import age_seconds, utcnow
from stackctl.engines.status import ContainerStatus, LastExit
from stackctl.engines.swarm.tasks import TaskInfo
from stackctl.render.services import stack_services
from stackctl.render.swarm import service_name


def task_rows(spec: StackSpec, found: list[TaskInfo]) -> list[ContainerStatus]:
    """A row per task Swarm wants running (a missing service: one row, `missing`)."""
    now = utcnow()
    rows = []
    for service in (s.name for s in stack_services(spec)):
        mine = [t for t in found if t.service == service]
        current = [t for t in mine if t.desired == "running"]
        if not current:
            rows.append(ContainerStatus(service, service_name(spec.name, service), None, "missing", None,
                                        None, 0, None))  # fmt: skip
            continue
        replaced = len([t for t in mine if t.desired != "running"])  # earlier tasks Swarm still lists
        rows += [
            replace(_row(spec, t, replaced, age_seconds(t.since, now)), last_exit=_last_failure(mine, t, now))
            for t in current
        ]
    return rows


def _last_failure(tasks: list[TaskInfo], current: TaskInfo, now: dt.datetime) -> LastExit | None:
    """The most recent crashed task of the service on `current`'s node (Swarm replaced it with `current`)."""
    failed = sorted((t for t in tasks if t.state == "failed" and t.node == current.node), key=lambda t: t.since)
    if not failed:
        return None
    age = age_seconds(failed[-1].since, now)
    return None if age is None else LastExit(failed[-1].exit_code, False, failed[-1].since[:19] + "Z", age)


def _row(spec: StackSpec, task: TaskInfo, replaced: int, uptime: float | None) -> ContainerStatus:
    running = task.state == "running"
    return ContainerStatus(
        service=task.service,
        name=service_name(spec.name, task.service),
        image=task.image.split("@", 1)[0] or None,
        state=task.state,
        health=None,
        uptime_s=uptime if running else None,
        restarts=replaced,
        exit_code=None,
        node=task.node,
        error=task.error or None,
    )
