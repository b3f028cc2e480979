"""`stackctl upgrade` on an engine that rolls upgrades itself (Swarm): each chosen service rolled onto
the image stack.yaml names, one task at a time. The engine watches each new task for the monitor window
and rolls back by itself when it fails; this reports what it did. Before a service that may change the
database rolls (MariaDB, a PhotoPrism), the database is dumped to backups/, so a rollback can be
followed by a restore. When Swarm rolls a service back, the databases it may have migrated are
loaded back from those dumps by themselves."""

from __future__ import annotations

from dataclasses import dataclass

from stackctl.certs.store import CertStore
from stackctl.config.layout import StackPaths
from stackctl.config.sites import Site
from stackctl.config.spec import StackSpec
from stackctl.core.clock import Deadline
from stackctl.core.errors import OperationFailed
from stackctl.engines.base import Engine, PullProgress, Report, UpdateRolledBack
from stackctl.engines.model import Service
from stackctl.flows.dumps import Dump, dump_database, photoprism_sites, restore_database, site_service
from stackctl.flows.edges import Edges
from stackctl.flows.generated import generated_states, write_changed
from stackctl.flows.upgrade import chosen_services
from stackctl.health.probe import probe_until
from stackctl.health.target import probe_sites_at

ROLLED_BACK_WAIT_S = 90.0  # the old task passes its health check again, and HAProxy finds it


@dataclass(frozen=True)
class SiteDump:
    site: Site
    photoprism: Service
    dump: Dump


def roll_upgrade(
    paths: StackPaths, spec: StackSpec, names: list[str], timeout: float, edges: Edges, report: Report,
    progress: PullProgress,
) -> list[str]:  # fmt: skip
    """The services that were rolled onto a new image; raises OperationFailed naming the service the
    engine rolled back, and what it said."""
    chosen = chosen_services(spec, paths, names)
    engine = edges.engine(spec)
    dumps: list[SiteDump] = []
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
        raise _rolled_back(e, engine, paths, spec, dumps, report) from e
    return applied.updated


def _load_back(error: UpdateRolledBack, engine: Engine, spec: StackSpec, dumps: list[SiteDump], report: Report) -> str:
    """The databases the rolled-back service may have migrated, loaded back from their dumps into the
    running MariaDB, as on one host; what happened, for the error."""
    service = error.service.removeprefix(f"{spec.name}_")
    loaded = [d for d in dumps if service in ("mariadb", d.photoprism.name)]
    if not loaded:
        return ""
    if spec.database.kind != "mariadb":
        paths = ", ".join(str(d.dump.path) for d in loaded)
        return f"; PhotoPrism runs on its SQLite file as the new version left it: stop it and copy {paths} over it"
    try:
        for item in loaded:
            restore_database(engine, spec, item.photoprism, item.dump, report)
    except OperationFailed as e:
        paths = ", ".join(str(d.dump.path) for d in loaded)
        return f"; loading the database back failed ({e.message}): load {paths} by hand"
    return f"; the database of {', '.join(d.site.domain for d in loaded)} is back as it was before"


def _rolled_back(
    error: UpdateRolledBack, engine: Engine, paths: StackPaths, spec: StackSpec, dumps: list[SiteDump],
    report: Report,
) -> OperationFailed:  # fmt: skip
    """What the rollback left: the databases loaded back, whether HTTPS answers again on every edge node,
    and where the dumps are."""
    database = _load_back(error, engine, spec, dumps, report)
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
    kept = f"; the dumps are kept in {', '.join(str(d.dump.path) for d in dumps)}" if dumps else ""
    return OperationFailed(
        f"Swarm rolled back {error.service}: its new task failed ({error.swarm_message or error.state}); "
        f"{now}{database}{kept}",
        f"fix the image or stack.yaml's images:, then run stackctl upgrade again; see: docker service ps "
        f"--no-trunc {error.service}",
    )


def _dump_databases(
    engine: Engine, paths: StackPaths, spec: StackSpec, chosen: list[Service], report: Report
) -> list[SiteDump]:
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
    dumps = []
    for site, photoprism in sites:
        dump = dump_database(engine, paths, spec, site, photoprism)
        if dump is not None:
            report(f"dumped the database of {site.domain} to {dump.describe()}")
            dumps.append(SiteDump(site, photoprism, dump))
    return dumps
