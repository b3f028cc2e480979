"""`stackctl upgrade` on Swarm: each chosen service rolled onto the image stack.yaml names, one task at
a time. Swarm watches each new task for the monitor window and rolls back by itself when it fails;
this reports what Swarm did. Before a service that may change the database rolls (MariaDB, a
PhotoPrism), the database is dumped to backups/, so a rollback can be followed by a restore."""

from __future__ import annotations

from stackctl.certs.store import CertStore
from stackctl.config.layout import StackPaths
from stackctl.config.spec import StackSpec
from stackctl.core.clock import Deadline
from stackctl.core.errors import InvalidInput, OperationFailed
from stackctl.engines.base import PullProgress, Report
from stackctl.engines.docker.engine import DockerEngine
from stackctl.engines.model import services
from stackctl.engines.swarm.engine import SwarmEngine
from stackctl.engines.swarm.services import UpdateRolledBack
from stackctl.flows.dumps import Dump, dump_database
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
    chosen = names or known
    dumps: list[Dump] = []
    try:
        deadline = Deadline(timeout)
        prepare_swarm(paths, spec, engine, deadline, report, progress)
        dumps = _dump_databases(engine, paths, spec, chosen, report)
        applied = deploy_stack(paths, spec, engine, deadline, report, only=chosen)
    except UpdateRolledBack as e:
        addresses = edge_addresses(engine)
        results = probe_every_edge(
            spec, CertStore(paths.certs), None, addresses, lambda target: probe_until(target, ROLLED_BACK_WAIT_S)
        )
        failed = [f"{domain}: {r.failed_text()}" for domain, r in results.items() if not r.ok]
        now = "the previous image serves again (HTTPS verified)" if not failed else (
            f"HTTPS does not answer yet after the rollback ({'; '.join(failed)})"
        )  # fmt: skip
        kept = f"; the database as it was before is in {', '.join(str(d.path) for d in dumps)}" if dumps else ""
        raise OperationFailed(
            f"Swarm rolled back {e.service}: its new task failed ({e.swarm_message or e.state}); {now}{kept}",
            f"fix the image or stack.yaml's images:, then run stackctl upgrade again; see: docker service ps "
            f"--no-trunc {e.service}",
        ) from e
    return applied.updated


def _dump_databases(
    engine: SwarmEngine, paths: StackPaths, spec: StackSpec, chosen: list[str], report: Report
) -> list[Dump]:
    """One MariaDB dump (every site's database), or each running PhotoPrism's SQLite file."""
    photoprism = [
        s for s in services(spec, paths) if s.name in {site.service for site in spec.sites if site.photoprism}
    ]
    if not {"mariadb", *(s.name for s in photoprism)} & set(chosen) or not photoprism:
        return []
    running = engine.service_names(spec.name)
    if spec.database.kind == "mariadb":
        container = engine.local_container(spec.name, "mariadb") if "mariadb" in running else None
        if container is None:
            report("no MariaDB task on this node: the upgrade goes ahead without a dump")
            return []
        found = [dump_database(DockerEngine(engine.client), paths, spec, photoprism[0], container)]
    else:
        found = [dump_database(DockerEngine(engine.client), paths, spec, p) for p in photoprism if p.name in running]
    dumps = [d for d in found if d is not None]
    for dump in dumps:
        report(f"dumped the database to {dump.describe()}")
    return dumps
