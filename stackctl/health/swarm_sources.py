"""`status` on Swarm: the services' tasks per node, HAProxy's stats from this node's task (when it
has one), and the first site's HTTPS check on every edge node."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path

from stackctl.certs.store import CertStore
from stackctl.config.spec import StackSpec
from stackctl.core.clock import age_seconds, utcnow
from stackctl.core.errors import OperationFailed
from stackctl.engines.docker.client import connect
from stackctl.engines.swarm.engine import SwarmEngine, TaskInfo
from stackctl.haproxy.runtime_api import SOCKET_NAME, show_stat
from stackctl.health.model import BackendStatus, ContainerStatus, LastExit
from stackctl.health.probe import ProbeResult, probe
from stackctl.health.target import probe_target
from stackctl.render.services import stack_services
from stackctl.render.swarm import service_name


class SwarmSources:
    def __init__(self, spec: StackSpec, timeout: float) -> None:
        self.spec, self.timeout = spec, timeout
        self._engine: SwarmEngine | None = None

    @property
    def engine(self) -> SwarmEngine:
        if self._engine is None:
            engine = SwarmEngine(connect(timeout=int(max(1, self.timeout))))
            engine.check_manager()
            self._engine = engine
        return self._engine

    def tasks(self) -> list[ContainerStatus]:
        """A row per task Swarm wants running (a missing service: one row, `missing`)."""
        found = self.engine.tasks(self.spec.name)
        now = utcnow()
        rows = []
        for service in (s.name for s in stack_services(self.spec)):
            mine = [t for t in found if t.service == service]
            current = [t for t in mine if t.desired == "running"]
            if not current:
                rows.append(ContainerStatus(service, service_name(self.spec.name, service), None, "missing", None,
                                            None, 0, None))  # fmt: skip
                continue
            replaced = len([t for t in mine if t.desired != "running"])  # earlier tasks Swarm still lists
            rows += [
                replace(_row(self.spec, t, replaced, age_seconds(t.since, now)), last_exit=_last_failure(mine, t, now))
                for t in current
            ]
        return rows

    def haproxy_stats(self) -> list[BackendStatus]:
        folder = self.engine.runtime_socket_dir(self.spec.name)
        if folder is None:
            raise OperationFailed("no HAProxy task on this node", "run stackctl status on an edge node")
        return show_stat(Path(folder) / SOCKET_NAME, timeout=self.timeout)

    def edge_probes(self, store: CertStore, seconds: float) -> dict[str, ProbeResult]:
        target = probe_target(self.spec, self.spec.first_site, store, timeout=seconds)
        return {address: probe(replace(target, address=address)) for address in self.engine.edge_addresses()}


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
