"""`stackctl upgrade` on Swarm: each chosen service rolled onto the image stack.yaml names, one task at
a time. Swarm watches each new task for the monitor window and rolls back by itself when it fails;
this reports what Swarm did."""

from __future__ import annotations

from stackctl.certs.store import CertStore
from stackctl.config.layout import StackPaths
from stackctl.config.spec import StackSpec
from stackctl.core.clock import Deadline
from stackctl.core.errors import InvalidInput, OperationFailed
from stackctl.engines.base import PullProgress, Report
from stackctl.engines.swarm.services import UpdateRolledBack
from stackctl.flows.edges import Edges
from stackctl.flows.swarm_deploy import deploy_stack, edge_addresses, prepare_swarm, swarm_plan
from stackctl.flows.swarm_up import probe_every_edge
from stackctl.health.probe import probe_until

ROLLED_BACK_WAIT_S = 90.0  # the old task passes its health check again, and HAProxy finds it


def upgrade_on_swarm(
    paths: StackPaths, spec: StackSpec, names: list[str], timeout: float, edges: Edges, report: Report,
    progress: PullProgress,
) -> list[str]:  # fmt: skip
    """The services that were rolled onto a new image; raises OperationFailed naming the service Swarm
    rolled back, and what Swarm said."""
    known = [s.name for s in swarm_plan(paths, spec).services]
    for name in names:
        if name not in known:
            raise InvalidInput(f"this stack has no service {name!r}", f"name one of: {', '.join(known)}")
    engine = edges.swarm_engine()
    try:
        deadline = Deadline(timeout)
        prepare_swarm(paths, spec, engine, deadline, report, progress)
        applied = deploy_stack(paths, spec, engine, deadline, report, only=names or known)
    except UpdateRolledBack as e:
        addresses = edge_addresses(engine)
        results = probe_every_edge(
            spec, CertStore(paths.certs), None, addresses, lambda target: probe_until(target, ROLLED_BACK_WAIT_S)
        )
        failed = [f"{domain}: {r.failed_text()}" for domain, r in results.items() if not r.ok]
        now = "the previous image serves again (HTTPS verified)" if not failed else (
            f"HTTPS does not answer yet after the rollback ({'; '.join(failed)})"
        )  # fmt: skip
        raise OperationFailed(
            f"Swarm rolled back {e.service}: its new task failed ({e.swarm_message or e.state}); {now}",
            f"fix the image or stack.yaml's images:, then run stackctl upgrade again; see: docker service ps "
            f"--no-trunc {e.service}",
        ) from e
    return applied.updated
