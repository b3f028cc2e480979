"""stackctl status as a flow: health's snapshot, with drift judged against what stack.yaml renders to."""

from __future__ import annotations

from stackctl.config.layout import StackPaths
from stackctl.config.spec import StackSpec
from stackctl.flows.edges import Edges
from stackctl.flows.generated import drift
from stackctl.flows.upgrade_log import last_event
from stackctl.health.model import StatusSnapshot, UpgradeStatus
from stackctl.health.snapshot import gather


def status_snapshot(paths: StackPaths, spec: StackSpec, edges: Edges) -> StatusSnapshot:
    engine = edges.engine(spec)
    snapshot = gather(paths, spec, engine, lambda running: drift(paths, spec, engine, running))
    snapshot.upgrade = upgrade_status(paths)
    return snapshot


def upgrade_status(paths: StackPaths) -> UpgradeStatus:
    last = last_event(paths, "upgrade", "rollback")
    check = last_event(paths, "check")
    summary = None
    if last is not None:
        keys = ("time", "service", "result", "image", "error", "outcome", "seconds")
        summary = {k: last[k] for k in keys if k in last}
        for side in ("from", "to"):
            details = last.get(side)
            if isinstance(details, dict):
                summary[side] = details.get("version") or str(details.get("id", ""))[:19]
    waiting = None if check is None else [str(s) for s in check.get("waiting", [])]
    return UpgradeStatus(summary, waiting, None if check is None else str(check.get("time")))
