"""`stackctl down`: the stack's services and network removed; photos, storage and database folders stay."""

from __future__ import annotations

from stackctl.config.layout import StackPaths
from stackctl.config.spec import StackSpec
from stackctl.core.clock import Deadline
from stackctl.engines.base import Report
from stackctl.flows.edges import Edges

DOWN_TIMEOUT_S = 120.0  # a Swarm lets go of networks and secrets a moment after the last task is gone


def down(paths: StackPaths, spec: StackSpec, volumes: bool, edges: Edges, report: Report) -> list[str]:
    """What was removed; named volumes go only with `volumes`."""
    return edges.engine(spec).remove_stack(paths, spec, volumes, Deadline(DOWN_TIMEOUT_S), report)
