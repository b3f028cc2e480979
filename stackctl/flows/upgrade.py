"""`stackctl upgrade`: pull, compare, then replace one service at a time, each behind a database dump
and its old image kept by ID. A service that does not become healthy and pass the HTTPS check is put
back on its old image (and its dump) by itself."""

from __future__ import annotations

import time
from contextlib import AbstractContextManager, nullcontext
from dataclasses import asdict, dataclass
from functools import cached_property
from typing import Any

from stackctl.certs.store import CertStore
from stackctl.config.layout import StackPaths
from stackctl.config.sites import Site
from stackctl.config.spec import StackSpec
from stackctl.core.clock import Deadline, timestamp
from stackctl.core.errors import InvalidInput, OperationFailed, StackctlError
from stackctl.engines.base import Engine, PullProgress, Report
from stackctl.engines.base import ImageDetails as ImageDetails  # what commands show of an image
from stackctl.engines.model import Service, services
from stackctl.flows.dumps import Dump, dump_database, photoprism_sites, restore_database, site_service
from stackctl.flows.edges import Edges
from stackctl.flows.generated import rendered
from stackctl.flows.haproxy_config import drained
from stackctl.flows.upgrade_log import pulled_image_ids, record, record_pulls
from stackctl.haproxy.runtime_api import socket_path
from stackctl.health.probe import probe_until
from stackctl.health.target import probe_target


@dataclass(frozen=True)
class ServiceImages:
    service: str
    reference: str
    running: ImageDetails | None  # None when the service has no container
    available: ImageDetails | None  # None when the image is not here (pull: never)

    @property
    def waiting(self) -> bool:
        return self.available is not None and (self.running is None or self.running.id != self.available.id)


def chosen_services(spec: StackSpec, paths: StackPaths, names: list[str]) -> list[Service]:
    """The stack's services in dependency order, or the named ones; an unknown name is refused."""
    every = services(spec, paths)
    known = [s.name for s in every]
    for name in names:
        if name not in known:
            raise InvalidInput(f"this stack has no service {name!r}", f"name one of: {', '.join(known)}")
    return [s for s in every if not names or s.name in names]


def check_updates(
    paths: StackPaths, spec: StackSpec, names: list[str], edges: Edges, progress: PullProgress
) -> list[ServiceImages]:
    """Pull the images of stack.yaml (unless pull: never) and compare them with what runs."""
    chosen = chosen_services(spec, paths, names)
    engine = edges.engine(spec)
    if spec.pull != "never":
        record_pulls(engine, paths, engine.ensure_images([s.image for s in chosen], "always", progress))
    running = engine.running_images(spec, paths)
    found = []
    for service in chosen:
        image_id = running.get(service.name)
        found.append(
            ServiceImages(
                service.name,
                service.image,
                engine.image_details(image_id) if image_id else None,
                engine.image_details(service.image),
            )
        )
    waiting = [f.service for f in found if f.waiting]
    record(paths, {"event": "check", "time": timestamp(), "services": [f.service for f in found], "waiting": waiting})
    return found


@dataclass
class _Upgrade:
    paths: StackPaths
    spec: StackSpec
    engine: Engine
    edges: Edges
    timeout: float
    report: Report

    @cached_property
    def wanted(self) -> list[Service]:
        return services(self.spec, self.paths)

    @cached_property
    def files(self) -> dict[str, str]:
        return rendered(self.paths, self.spec, self.engine)

    @cached_property
    def photoprism(self) -> dict[str, tuple[Site, Service]]:
        """Each PhotoPrism site by its service name, with that service."""
        return {site.backend: (site, site_service(self.wanted, site)) for site in photoprism_sites(self.spec)}

    def dumped_sites(self, service: str) -> list[tuple[Site, Service]]:
        """The sites whose database replacing `service` may change: its own site, or every PhotoPrism
        site's for MariaDB."""
        if service == "mariadb":
            return list(self.photoprism.values())
        return [self.photoprism[service]] if service in self.photoprism else []

    def verified_sites(self, service: str) -> list[Site]:
        """The sites whose HTTPS check gates replacing `service`."""
        return [site for site, _ in self.dumped_sites(service)] or [self.spec.first_site]

    def maintenance(self, service: str) -> AbstractContextManager[None]:
        if service not in self.photoprism:
            return nullcontext()
        site = self.photoprism[service][0]
        runtime = self.edges.runtime(socket_path(self.paths.run))
        return drained(runtime, site.backend, site.server, self.report)

    def apply_and_verify(self, service: str) -> None:
        """Converge with `service` recreated; healthy and HTTPS verified before the deadline."""
        started = time.monotonic()
        with self.maintenance(service):
            self.engine.apply(
                self.paths, self.spec, self.wanted, self.files, Deadline(self.timeout), self.report,
                frozenset({service}),
            )  # fmt: skip
        store = CertStore(self.paths.certs)
        for site in self.verified_sites(service):
            left = max(1.0, self.timeout - (time.monotonic() - started))
            result = probe_until(probe_target(self.spec, site, store), left)
            if not result.ok:
                raise OperationFailed(
                    f"HTTPS verification of {site.domain} failed: {result.failed_text()}", "see stackctl status"
                )

    def dump(self, service: str) -> dict[str, Dump]:
        """Each affected site's database before `service` is replaced, by site domain."""
        dumps = {}
        for site, photoprism in self.dumped_sites(service):
            dump = dump_database(self.engine, self.paths, self.spec, site, photoprism)
            if dump is not None:
                self.report(f"dumped the database of {site.domain} to {dump.describe()}")
                dumps[site.domain] = dump
        return dumps

    def load(self, service: str, dumps: dict[str, Dump]) -> None:
        for site, photoprism in self.dumped_sites(service):
            if site.domain in dumps:
                restore_database(self.engine, self.spec, photoprism, dumps[site.domain], self.report)

    def roll_back(self, item: ServiceImages, dumps: dict[str, Dump]) -> str:
        """Put the service back on its old image (and its sites' databases back from their dumps); says
        how it went."""
        assert item.running is not None
        self.report(f"rolling {item.service} back to {_short(item.running)}")
        self.engine.remove_service(self.spec.name, item.service, self.paths.compose_dir)
        self.engine.tag_image(item.running.id, item.reference)  # `up` keeps running the old one too
        kept = ", ".join(str(d.path) for d in dumps.values()) or "none"
        try:
            if item.service == "mariadb":
                self.engine.apply(self.paths, self.spec, self.wanted, self.files, Deadline(self.timeout), self.report)
            self.load(item.service, dumps)
            self.apply_and_verify(item.service)
        except StackctlError as e:
            return f"the rollback failed too ({e.message}); the dump is {kept}"
        return f"rolled back to {_short(item.running)} and verified over HTTPS"

    def run(self, item: ServiceImages) -> None:
        assert item.available is not None
        started = time.monotonic()
        entry: dict[str, Any] = {
            "event": "upgrade", "time": timestamp(), "service": item.service, "image": item.reference,
            "from": asdict(item.running) if item.running else None, "to": asdict(item.available),
        }  # fmt: skip
        site = self.photoprism.get(item.service)
        if site is not None:
            entry["site"] = site[0].domain
        # Replacing MariaDB or a PhotoPrism may change the database.
        dumps = self.dump(item.service) if item.running is not None else {}
        if dumps:
            entry["dump"] = ", ".join(str(d.path) for d in dumps.values())
        keep = _keep_tag(self.spec, item) if item.running else None
        if keep is not None and item.running is not None:
            self.engine.tag_image(item.running.id, keep)
        self.report(f"upgrading {item.service}: {_short(item.running)} -> {_short(item.available)}")
        try:
            self.apply_and_verify(item.service)
        except StackctlError as failure:
            if item.running is None:
                record(self.paths, {**entry, "result": "failed", "error": failure.message})
                raise
            outcome = self.roll_back(item, dumps)
            record(self.paths, {**entry, "event": "rollback", "result": "rolled-back", "error": failure.message,
                                "outcome": outcome, "seconds": round(time.monotonic() - started, 1)})  # fmt: skip
            raise OperationFailed(
                f"upgrading {item.service} to {_short(item.available)} failed: {failure.message}; {outcome}",
                f"the new image stays unused; the old one ({_short(item.running)}) serves. See: stackctl status",
            ) from failure
        record(self.paths, {**entry, "result": "upgraded", "seconds": round(time.monotonic() - started, 1)})
        self.report(f"upgraded {item.service} to {_short(item.available)} ({time.monotonic() - started:.1f}s)")
        self.clean_up(item, keep)

    def clean_up(self, item: ServiceImages, keep: str | None) -> None:
        """After a success only: the rollback tag, and the old image when this stack pulled it."""
        if keep is not None:
            self.engine.remove_image(keep)
        old = item.running
        if old is not None and old.id in pulled_image_ids(self.paths) and self.engine.remove_image(old.id):
            self.report(f"removed the old image {_short(old)}")


def _keep_tag(spec: StackSpec, item: ServiceImages) -> str:
    assert item.running is not None
    return f"stackctl-rollback/{spec.name}-{item.service}:{item.running.id.removeprefix('sha256:')[:12]}"


def _short(details: ImageDetails | None) -> str:
    if details is None:
        return "nothing"
    version = f" (version {details.version})" if details.version else ""
    return f"{details.id.removeprefix('sha256:')[:12]}{version}"


def upgrade_waiting(
    paths: StackPaths, spec: StackSpec, found: list[ServiceImages], timeout: float, edges: Edges, report: Report
) -> list[ServiceImages]:
    """Upgrade each service whose image changed, in dependency order. A PhotoPrism site that fails is
    rolled back on its own and the next site goes ahead; a shared service (MariaDB, HAProxy) that fails
    stops the upgrade there. With several sites each one's outcome is reported; any failure raises
    OperationFailed once the others are done."""
    upgrader = _Upgrade(paths, spec, edges.engine(spec), edges, timeout, report)
    sites = len(upgrader.photoprism) > 1
    done, failed = [], []
    for item in found:
        if not item.waiting:
            continue
        site = upgrader.photoprism.get(item.service)
        try:
            upgrader.run(item)
        except OperationFailed as e:
            failed.append(e)
            if sites and site is not None:
                report(f"{site[0].domain}: rolled back ({e.message})")
                continue
            break
        done.append(item)
        if sites and site is not None:
            report(f"{site[0].domain}: upgraded")
    if len(failed) == 1:
        raise failed[0]
    if failed:
        raise OperationFailed(f"{len(failed)} sites were rolled back: {'; '.join(f.message for f in failed)}",
                              failed[0].hint)  # fmt: skip
    return done
