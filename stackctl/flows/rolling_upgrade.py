"""`stackctl upgrade` on an engine that rolls upgrades itself (Swarm): each chosen service rolled onto
the image stack.yaml names, one task at a time. The engine watches each new task for the monitor window
and rolls back by itself when it fails; this reports what it did. Before a service that may change the
database rolls (MariaDB, a PhotoPrism), the database is dumped to backups/, so a rollback can be
followed by a restore."""

from __future__ import annotations

from stackctl.certs.store import CertStore
from stackctl.config.layout import StackPaths
from stackctl.config.spec import StackSpec
from stackctl.core.clock import Deadline
from stackctl.core.errors import OperationFailed
from stackctl.engines.base import Engine, PullProgress, Report, UpdateRolledBack
from stackctl.engines.model import Service
from stackctl.flows.dumps import Dump, dump_database, photoprism_sites, site_service
from stackctl.flows.edges import Edges
from stackctl.flows.generated import generated_states, write_changed
from stackctl.flows.upgrade import chosen_services
from stackctl.health.probe import probe_until
from stackctl.health.target import probe_sites_at

ROLLED_BACK_WAIT_S = 90.0  # the old task passes its health check again, and HAProxy finds it


def roll_upgrade(
    paths: StackPaths, spec: StackSpec, names: list[str], timeout: float, edges: Edges, report: Report,
    progress: PullProgress,
) -> list[str]:  # fmt: skip
    """The services that were rolled onto a new image; raises OperationFailed naming the service the
    engine rolled back, and what it said."""
    chosen = chosen_services(spec, paths, names)
    engine = edges.engine(spec)
    dumps: list[Dump] = []
    try:
        deadline = Deadline(timeout)
        engine.prepare(paths, spec, deadline, report, progress)
        dumps = _dump_databases(engine, paths, spec, chosen, report)
        states = generated_states(paths, spec, engine)
        for name in write_changed(paths, states):
            report(f"wrote {name}")
        files = {state.name: state.desired for state in states}
        applied = engine.apply(paths, spec, chosen, files, deadline, report)
    except UpdateRolledBack as e:
        raise _rolled_back(e, engine, paths, spec, dumps) from e
    return applied.updated


def _rolled_back(
    error: UpdateRolledBack, engine: Engine, paths: StackPaths, spec: StackSpec, dumps: list[Dump]
) -> OperationFailed:
    """What the rollback left: whether HTTPS answers again on every edge node, and where the dumps are."""
    results = probe_sites_at(
        spec,
        CertStore(paths.certs),
        None,
        engine.addresses(spec),
        lambda target: probe_until(target, ROLLED_BACK_WAIT_S),
    )
    failed = [f"{domain}: {r.failed_text()}" for domain, r in results.items() if not r.ok]
    now = "the previous image serves again (HTTPS verified)" if not failed else (
        f"HTTPS does not answer yet after the rollback ({'; '.join(failed)})"
    )  # fmt: skip
    kept = f"; the database as it was before is in {', '.join(str(d.path) for d in dumps)}" if dumps else ""
    return OperationFailed(
        f"Swarm rolled back {error.service}: its new task failed ({error.swarm_message or error.state}); {now}{kept}",
        f"fix the image or stack.yaml's images:, then run stackctl upgrade again; see: docker service ps "
        f"--no-trunc {error.service}",
    )


def _dump_databases(
    engine: Engine, paths: StackPaths, spec: StackSpec, chosen: list[Service], report: Report
) -> list[Dump]:
    """Each PhotoPrism site's database (MariaDB's through its task on this node, or each deployed
    site's SQLite file) when MariaDB or a PhotoPrism is among the chosen services."""
    every = chosen_services(spec, paths, [])
    sites = [(site, site_service(every, site)) for site in photoprism_sites(spec)]
    if not {"mariadb", *(p.name for _, p in sites)} & {s.name for s in chosen} or not sites:
        return []
    if spec.database.kind == "mariadb":
        if not engine.runs_here(spec, "mariadb"):
            report("no MariaDB task on this node: the upgrade goes ahead without a dump")
            return []
    else:
        deployed = engine.deployed(spec, paths)
        sites = [(site, p) for site, p in sites if p.name in deployed]
    found = [dump_database(engine, paths, spec, site, p) for site, p in sites]
    dumps = [d for d in found if d is not None]
    for dump in dumps:
        report(f"dumped the database to {dump.describe()}")
    return dumps
