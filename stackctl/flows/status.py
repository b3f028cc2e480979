"""stackctl status as a flow: health's snapshot, with drift judged against what stack.yaml renders to."""

from __future__ import annotations

from stackctl.config.layout import StackPaths
from stackctl.config.spec import StackSpec
from stackctl.flows.generated import drift
from stackctl.health.model import StatusSnapshot
from stackctl.health.snapshot import gather


def status_snapshot(paths: StackPaths, spec: StackSpec) -> StatusSnapshot:
    return gather(paths, spec, lambda client: drift(paths, spec, client))
