"""`stackctl restore FILE --site D`: one PhotoPrism site of a running stack put back as the archive
holds it (its database, sidecars and settings, and its originals if the archive has them) while the
other sites keep serving. Nothing of the site is lost: its current database is dumped to backups/ and
its current sidecars and settings are moved beside its storage folder first, and a photo is never
replaced (one that differs from the archive's is refused before anything changes)."""

from __future__ import annotations

import hashlib
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stackctl.certs.store import CertStore
from stackctl.config.layout import StackPaths
from stackctl.config.sites import Site
from stackctl.config.spec import StackSpec, load_spec
from stackctl.core.clock import Deadline, utcnow
from stackctl.core.errors import InvalidInput, OperationFailed, StackctlError
from stackctl.core.fsio import PRIVATE_DIR_MODE, ensure_dir
from stackctl.engines.base import Engine
from stackctl.engines.model import Service, services
from stackctl.flows.archive import MANIFEST, SiteMember, members
from stackctl.flows.backup import ORIGINALS_TARGET, STORAGE_KEPT
from stackctl.flows.dumps import (
    STORAGE_TARGET,
    Dump,
    check_data_here,
    dump_database,
    photoprism_sites,
    restore_database,
    site_service,
)
from stackctl.flows.edges import Edges
from stackctl.flows.generated import rendered
from stackctl.flows.haproxy_config import drained
from stackctl.flows.restore import opened, read_manifest, write_stream
from stackctl.flows.restore_plan import SPEC_MEMBER, archived_spec, safe_mode, site_members
from stackctl.haproxy.runtime_api import socket_path
from stackctl.health.probe import probe_until
from stackctl.health.target import probe_target

_READ = 1 << 20


@dataclass
class SiteRestored:
    site: Site
    files: int  # written from the archive
    unchanged: int  # originals already there, identical
    kept_database: Dump | None  # the site's database as it was, dumped before
    kept_files: Path | None  # its sidecars and settings as they were
    seconds: float


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_READ):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass
class _SitePlan:
    spec: StackSpec
    site: Site
    photoprism: Service
    members: dict[str, SiteMember]  # the site's files in the archive
    digests: dict[str, str]
    modes: dict[str, int]
    skip: set[str]  # originals already in place, identical

    def destination(self, member: SiteMember) -> Path:
        target = ORIGINALS_TARGET if member.folder == "originals" else STORAGE_TARGET
        return self.photoprism.host_path(target) / member.rest


def _plan(paths: StackPaths, manifest: dict[str, Any], spec_text: bytes | None, domain: str) -> _SitePlan:
    """Refuses (exit 2, nothing changed) an archive without the site's data, of another database kind,
    or with an original that differs from the one in place."""
    spec = load_spec(paths.spec)
    site = photoprism_sites(spec, domain)[0]
    archive_spec = archived_spec(spec_text)
    found = {n: m for n, m in site_members(manifest, archive_spec).items() if m.domain == site.domain}
    if not found:
        held = ", ".join(s.domain for s in photoprism_sites(archive_spec)) or "none"
        raise InvalidInput(
            f"the archive holds no data of {site.domain} (its PhotoPrism sites: {held})",
            "give an archive written by stackctl backup of this site or of its whole stack",
        )
    if archive_spec.database.kind != spec.database.kind:
        raise InvalidInput(
            f"the archive's database is {archive_spec.database.kind}, this stack's is {spec.database.kind}",
            "restore the whole archive into a new folder (--dir) instead",
        )
    files = {str(f["path"]): f for f in manifest["files"]}
    digests = {n: str(files[n]["sha256"]) for n in found}
    modes = {n: safe_mode(files[n].get("mode", 0o600)) for n in found}
    plan = _SitePlan(spec, site, site_service(services(spec, paths), site), found, digests, modes, set())
    for name, member in found.items():
        if member.folder != "originals":
            continue
        path = plan.destination(member)
        if path.is_symlink() or (path.exists() and not path.is_file()):
            raise _photo_differs(plan, member)
        if path.exists():
            if _sha256(path) != plan.digests[name]:
                raise _photo_differs(plan, member)
            plan.skip.add(name)
    return plan


def _photo_differs(plan: _SitePlan, member: SiteMember) -> InvalidInput:
    return InvalidInput(
        f"{plan.destination(member)} differs from the archive's copy, and a restore never replaces a photo",
        "move that file away first, or restore the whole archive into a new folder (--dir)",
    )


def _set_aside_storage(plan: _SitePlan) -> Path | None:
    """The site's sidecars and settings as they are now, moved beside its storage folder."""
    storage = plan.photoprism.host_path(STORAGE_TARGET)
    present = [storage / kept for kept in STORAGE_KEPT if (storage / kept).exists()]
    if not present:
        return None
    aside = storage.parent / f"{storage.name}.before-restore-{utcnow().strftime('%Y%m%dT%H%M%SZ')}"
    aside.mkdir(mode=0o755)
    for folder in present:
        shutil.move(str(folder), aside / folder.name)
    return aside


class _Restoring:
    """The steps that change the running stack, each leaving a state the error can name."""

    def __init__(self, paths: StackPaths, plan: _SitePlan, engine: Engine, report: Callable[[str], None]) -> None:
        self.paths, self.plan, self.engine, self.report = paths, plan, engine, report
        self.kept_database: Dump | None = None
        self.kept_files: Path | None = None
        self.loaded: Dump | None = None

    def state(self) -> str:
        kept = []
        if self.kept_database is not None:
            kept.append(f"its database as it was is in {self.kept_database.path}")
        if self.kept_files is not None:
            kept.append(f"its sidecars and settings as they were are in {self.kept_files}")
        return "; ".join(kept) or "nothing of it was set aside"

    def write(self, archive: Path, passphrase: bytes | None) -> int:
        written = 0
        dump_name = next((n for n, m in self.plan.members.items() if m.folder == "database"), None)
        with opened(archive, passphrase) as stream:
            for member, handle in members(stream):
                if member.name == MANIFEST or member.name not in self.plan.members or member.name in self.plan.skip:
                    continue
                if member.name == dump_name:
                    stamp = utcnow().strftime("%Y%m%dT%H%M%SZ")
                    rest = self.plan.members[member.name].rest
                    path = self.paths.backups / f"restore-{stamp}-{self.plan.site.slug}-{rest}"
                    ensure_dir(self.paths.backups, PRIVATE_DIR_MODE)
                    write_stream(path, handle, 0o600, self.plan.digests[member.name], PRIVATE_DIR_MODE)
                    self.loaded = Dump(rest.split(".", 1)[0], path)
                    continue
                target = self.plan.destination(self.plan.members[member.name])
                write_stream(target, handle, self.plan.modes[member.name], self.plan.digests[member.name], 0o755)
                written += 1
        return written


def restore_site(
    archive: Path, paths: StackPaths, passphrase: bytes | None, domain: str, edges: Edges,
    report: Callable[[str], None], timeout: float,
) -> SiteRestored:  # fmt: skip
    started = time.monotonic()
    kept: dict[str, bytes] = {SPEC_MEMBER: b""}
    manifest = read_manifest(archive, passphrase, kept)
    report(f"checked {archive.name}: {len(manifest['files'])} files, every SHA-256 matches")
    plan = _plan(paths, manifest, kept[SPEC_MEMBER] or None, domain)
    spec, site = plan.spec, plan.site
    engine = edges.engine(spec)
    check_data_here(engine, spec, paths, [site])
    steps = _Restoring(paths, plan, engine, report)
    steps.kept_database = dump_database(engine, paths, spec, site, plan.photoprism)
    if steps.kept_database is not None:
        report(f"kept {site.domain}'s current database in {steps.kept_database.describe()}")
    assert site.service is not None
    with drained(edges.runtime(socket_path(paths.run)), site.backend, site.server, report):
        engine.remove_service(spec.name, site.service, paths.compose_dir)
        try:
            steps.kept_files = _set_aside_storage(plan)
            if steps.kept_files is not None:
                report(f"moved {site.domain}'s current sidecars and settings to {steps.kept_files}")
            written = steps.write(archive, passphrase)
            if steps.loaded is not None:
                restore_database(engine, spec, plan.photoprism, steps.loaded, report)
        except (StackctlError, OSError) as e:
            why = e.message if isinstance(e, StackctlError) else f"{e.filename}: {e.strerror}"
            raise OperationFailed(
                f"restoring {site.domain} failed ({why}); its container is stopped and its files may be "
                f"partly restored; {steps.state()}",
                "fix the cause and run the restore again, or put those back and run stackctl up",
            ) from e
        _start(paths, spec, site, engine, report, timeout, steps)
    result = probe_until(probe_target(spec, site, CertStore(paths.certs)), timeout)
    if not result.ok:
        raise OperationFailed(
            f"{site.domain} is restored but HTTPS verification failed: {result.failed_text()}; {steps.state()}",
            "see stackctl status",
        )
    report(f"{site.domain} serves again; HTTPS verified")
    return SiteRestored(site, written, len(plan.skip), steps.kept_database, steps.kept_files,
                        time.monotonic() - started)  # fmt: skip


def _start(
    paths: StackPaths, spec: StackSpec, site: Site, engine: Engine, report: Callable[[str], None], timeout: float,
    steps: _Restoring,
) -> None:  # fmt: skip
    assert site.service is not None
    try:
        engine.apply(paths, spec, services(spec, paths), rendered(paths, spec, engine), Deadline(timeout), report,
                     frozenset({site.service}))  # fmt: skip
    except StackctlError as e:
        raise OperationFailed(
            f"{site.domain} is restored but its container did not start ({e.message}); {steps.state()}",
            "see stackctl status; stackctl up starts it again",
        ) from e
