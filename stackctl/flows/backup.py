"""`stackctl backup`: stack.yaml, secrets/, certs/, and for each PhotoPrism site (or the one --site
names) a consistent dump of its database taken while the stack runs, its sidecars and settings (not its
thumbnail cache), and with --with-originals its originals: one archive, sealed with a passphrase by
default, written atomically with mode 0600."""

from __future__ import annotations

import glob
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from stackctl import __version__
from stackctl.config.layout import StackPaths
from stackctl.config.sites import Site
from stackctl.config.spec import StackSpec
from stackctl.core.clock import timestamp, utcnow
from stackctl.core.errors import OperationFailed
from stackctl.core.fsio import PRIVATE_DIR_MODE, PRIVATE_FILE_MODE, ensure_dir
from stackctl.core.sealed import SealedWriter
from stackctl.engines.base import Engine
from stackctl.engines.model import Service, services
from stackctl.flows.archive import ArchiveWriter
from stackctl.flows.dumps import (
    STORAGE_TARGET,
    Dump,
    check_data_here,
    dump_database,
    photoprism_sites,
    site_service,
)
from stackctl.flows.edges import Edges

SEALED_SUFFIX = ".stackctl-backup"
PLAIN_SUFFIX = ".tar.gz"
STORAGE_KEPT = ("sidecar", "config")  # PhotoPrism's YAML sidecars and settings; cache/ is made again
ORIGINALS_TARGET = "/photoprism/originals"


@dataclass
class BackupResult:
    path: Path
    files: int
    bytes_in: int
    size: int
    seconds: float
    encrypted: bool
    pruned: list[Path] = field(default_factory=list)


def regular_files(folder: Path) -> Iterator[Path]:
    """Regular files below `folder`, sorted, never following a symbolic link."""
    if not folder.is_dir() or folder.is_symlink():
        return
    for root, dirs, files in os.walk(folder, followlinks=False):
        dirs.sort()
        for name in sorted(files):
            path = Path(root) / name
            if path.is_file() and not path.is_symlink():
                yield path


@dataclass(frozen=True)
class SitePart:
    """What a backup holds of one PhotoPrism site: its database dump and its folders."""

    site: Site
    photoprism: Service
    dump: Dump | None


def site_prefix(domain: str) -> str:
    return f"sites/{domain}"


def sources(paths: StackPaths, parts: list[SitePart], originals: bool) -> Iterator[tuple[str, Path]]:
    """(archive name, host file) for everything a backup holds, stack files first, then each site's
    files under sites/<domain>/."""
    yield "stack/stack.yaml", paths.spec
    for folder in (paths.secrets, paths.certs):
        for path in regular_files(folder):
            yield f"stack/{path.relative_to(paths.root)}", path
    for part in parts:
        prefix = site_prefix(part.site.domain)
        if part.dump is not None:
            yield f"{prefix}/database/{part.dump.kind}{part.dump.path.suffix}", part.dump.path
        storage = part.photoprism.host_path(STORAGE_TARGET)
        for kept in STORAGE_KEPT:
            for path in regular_files(storage / kept):
                yield f"{prefix}/storage/{path.relative_to(storage)}", path
        if originals:
            folder = part.photoprism.host_path(ORIGINALS_TARGET)
            for path in regular_files(folder):
                yield f"{prefix}/originals/{path.relative_to(folder)}", path


def _images(engine: Engine, spec: StackSpec, paths: StackPaths) -> dict[str, dict[str, Any]]:
    running = engine.running_images(spec, paths)
    result: dict[str, dict[str, Any]] = {}
    for service in services(spec, paths):
        image_id = running.get(service.name)
        details = engine.image_details(image_id) if image_id else None
        result[service.name] = {"image": service.image, "id": details.id if details else None,
                                "digest": details.digest if details else None}  # fmt: skip
    return result


def archive_prefix(spec: StackSpec, only: Site | None) -> str:
    """Archives of the whole stack are `<name>-<time>`, those of one site `<name>@<domain>-<time>`, so
    that --keep counts each kind on its own."""
    return spec.name if only is None else f"{spec.name}@{only.domain}"


def default_target(paths: StackPaths, prefix: str, to: Path | None, encrypted: bool) -> Path:
    name = f"{prefix}-{utcnow().strftime('%Y%m%dT%H%M%SZ')}{SEALED_SUFFIX if encrypted else PLAIN_SUFFIX}"
    if to is None:
        ensure_dir(paths.backups, PRIVATE_DIR_MODE)
        return paths.backups / name
    return to / name if to.is_dir() else to


def _prune(folder: Path, prefix: str, keep: int, suffix: str) -> list[Path]:
    """The newest `keep` archives with this prefix in `folder` stay; older ones go."""
    mine = sorted(folder.glob(f"{glob.escape(prefix)}-[0-9]*{suffix}"), key=lambda p: p.stat().st_mtime,
                  reverse=True)  # fmt: skip
    for old in mine[keep:]:
        old.unlink(missing_ok=True)
    return mine[keep:]


@dataclass(frozen=True)
class BackupRequest:
    to: Path | None
    passphrase: bytes | None
    with_originals: bool
    keep: int | None
    site: str | None = None  # --site: one PhotoPrism site's data (with the stack's files)


def backup(
    paths: StackPaths, spec: StackSpec, request: BackupRequest, edges: Edges, on_start: Callable[[int], None],
    on_bytes: Callable[[int], None],
) -> BackupResult:  # fmt: skip
    """`on_start` gets the total bytes to read, `on_bytes` each amount read (for a progress bar)."""
    started = time.monotonic()
    engine = edges.engine(spec)
    chosen = photoprism_sites(spec, request.site)
    every = services(spec, paths)
    check_data_here(engine, spec, paths, chosen)
    only = chosen[0] if request.site is not None else None
    prefix = archive_prefix(spec, only)
    encrypted = request.passphrase is not None
    target = default_target(paths, prefix, request.to, encrypted)
    parts: list[SitePart] = []
    try:
        for site in chosen:
            photoprism = site_service(every, site)
            parts.append(SitePart(site, photoprism, dump_database(engine, paths, spec, site, photoprism)))
        files = list(sources(paths, parts, request.with_originals))
        total = sum(p.stat().st_size for _, p in files)
        on_start(total)
        meta = {"stackctl": __version__, "created": timestamp(), "stack": spec.name, "domain": spec.first_site.domain,
                "database": spec.database.kind, "with_originals": request.with_originals,
                "sites": [s.domain for s in chosen], "only_site": only.domain if only else None,
                "images": _images(engine, spec, paths)}  # fmt: skip
        _write(target, files, meta, request.passphrase, on_bytes)
    finally:
        for part in parts:
            if part.dump is not None:
                part.dump.path.unlink(missing_ok=True)  # it lives on inside the archive
    suffix = SEALED_SUFFIX if encrypted else PLAIN_SUFFIX
    pruned = _prune(target.parent, prefix, request.keep, suffix) if request.keep is not None else []
    return BackupResult(target, len(files), total, target.stat().st_size, time.monotonic() - started,
                        encrypted, pruned)  # fmt: skip


def _write(
    target: Path, files: list[tuple[str, Path]], meta: dict[str, Any], passphrase: bytes | None,
    on_bytes: Callable[[int], None],
) -> None:  # fmt: skip
    """Into a 0600 temporary file beside the target, renamed into place only when complete."""
    partial = target.with_name(f".{target.name}.part")
    try:
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
    except OSError as e:
        raise OperationFailed(f"failed to write {target}: {e.strerror}", "choose another --to") from e
    try:
        with os.fdopen(fd, "wb") as out:
            sealed = SealedWriter(out, passphrase) if passphrase is not None else None
            sink: BinaryIO = sealed if sealed is not None else out  # type: ignore[assignment]
            archive = ArchiveWriter(sink, on_bytes)
            for name, path in files:
                archive.add_file(name, path)
            archive.close(meta)
            if sealed is not None:
                sealed.close()
            out.flush()
            os.fsync(out.fileno())
        os.replace(partial, target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
