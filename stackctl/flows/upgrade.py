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
from stackctl.flows.dumps import Dump, dump_database, dumped_site, restore_database
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
    ours = engine.containers(spec.name, paths.compose_dir)
    found = []
    for service in chosen:
        running = ours.get(service.name)
        found.append(
            ServiceImages(
                service.name,
                service.image,
                engine.image_details(running.image_id) if running and running.image_id else None,
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
    def site(self) -> Site:
        return dumped_site(self.spec, "stackctl upgrade")

    def photoprism(self) -> Service:
        return next(s for s in self.wanted if s.name == self.site.service)

    def maintenance(self, service: str) -> AbstractContextManager[None]:
        if service != self.site.service:
            return nullcontext()
        runtime = self.edges.runtime(socket_path(self.paths.run))
        return drained(runtime, self.site.backend, self.site.server, self.report)

    def apply_and_verify(self, service: str) -> None:
        """Converge with `service` recreated; healthy and HTTPS verified before the deadline."""
        started = time.monotonic()
        with self.maintenance(service):
            self.engine.apply(
                self.paths, self.spec, self.wanted, self.files, Deadline(self.timeout), self.report,
                frozenset({service}),
            )  # fmt: skip
        left = max(1.0, self.timeout - (time.monotonic() - started))
        result = probe_until(probe_target(self.spec, self.spec.first_site, CertStore(self.paths.certs)), left)
        if not result.ok:
            raise OperationFailed(f"HTTPS verification failed: {result.failed_text()}", "see stackctl status")

    def roll_back(self, item: ServiceImages, dump: Dump | None) -> str:
        """Put the service back on its old image (and the database back from its dump); says how it went."""
        assert item.running is not None
        self.report(f"rolling {item.service} back to {_short(item.running)}")
        self.engine.remove_service(self.spec.name, item.service, self.paths.compose_dir)
        self.engine.tag_image(item.running.id, item.reference)  # `up` keeps running the old one too
        if dump is not None and item.service == self.site.service:
            restore_database(self.engine, self.spec, self.photoprism(), dump, self.report)
        try:
            if dump is not None and item.service == "mariadb":
                self.engine.apply(self.paths, self.spec, self.wanted, self.files, Deadline(self.timeout), self.report)
                restore_database(self.engine, self.spec, self.photoprism(), dump, self.report)
            self.apply_and_verify(item.service)
        except StackctlError as e:
            return f"the rollback failed too ({e.message}); the dump is {dump.path if dump else 'none'}"
        return f"rolled back to {_short(item.running)} and verified over HTTPS"

    def run(self, item: ServiceImages) -> None:
        assert item.available is not None
        started = time.monotonic()
        entry: dict[str, Any] = {
            "event": "upgrade", "time": timestamp(), "service": item.service, "image": item.reference,
            "from": asdict(item.running) if item.running else None, "to": asdict(item.available),
        }  # fmt: skip
        dump = None
        # Replacing MariaDB or PhotoPrism may change the database.
        if item.service in ("mariadb", self.site.service) and item.running is not None:
            dump = dump_database(self.engine, self.paths, self.spec, self.photoprism())
            if dump is not None:
                self.report(f"dumped the database to {dump.describe()}")
                entry["dump"] = str(dump.path)
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
            outcome = self.roll_back(item, dump)
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
    """Upgrade each service whose image changed, in dependency order; stops at the first that fails."""
    upgrader = _Upgrade(paths, spec, edges.engine(spec), edges, timeout, report)
    done = []
    for item in found:
        if item.waiting:
            upgrader.run(item)
            done.append(item)
    return done
