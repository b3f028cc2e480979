"""Consistent database dumps of a running stack, one per PhotoPrism site, and putting one back:
`mariadb-dump --single-transaction` of the site's database in the MariaDB container, or SQLite's online
backup of the site's index.db. Dumps go to backups/ (0700), files 0600, written under a temporary name
and renamed when complete."""

from __future__ import annotations

import contextlib
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from stackctl.config.layout import StackPaths
from stackctl.config.sites import Site
from stackctl.config.spec import StackSpec
from stackctl.core.clock import utcnow
from stackctl.core.errors import InvalidInput, OperationFailed
from stackctl.core.fsio import PRIVATE_DIR_MODE, PRIVATE_FILE_MODE, ensure_dir
from stackctl.engines.base import Engine, Report
from stackctl.engines.model import Service

# The container's own environment holds the root password: no secret passes through stackctl. Root,
# because it can dump and load any site's database. On Swarm the password is a secret file named by
# MARIADB_ROOT_PASSWORD_FILE.
MARIADB_ROOT = 'MYSQL_PWD="${MARIADB_ROOT_PASSWORD:-$(cat "$MARIADB_ROOT_PASSWORD_FILE")}" exec'
MARIADB_RESTORE = f"{MARIADB_ROOT} mariadb --user=root"


def photoprism_sites(spec: StackSpec, only: str | None = None, given_as: str = "--site") -> list[Site]:
    """The PhotoPrism sites whose database and files backup, restore and upgrade handle: every one, or
    the one `only` names (by its domain or an alias)."""
    if only is None:
        return [s for s in spec.sites if s.photoprism is not None]
    site = spec.site(only, given_as)
    if site.photoprism is None:
        raise InvalidInput(
            f"{given_as} {only}: {site.domain} is an upstream site; stackctl keeps no data of it",
            "name a PhotoPrism site (see: stackctl sites)",
        )
    return [site]


def mariadb_dump_command(site: Site) -> str:
    """One site's database, consistently (one transaction). Database names are stackctl's own
    (photoprism, pp_<slug>): letters, digits and '_' only."""
    return (
        f"{MARIADB_ROOT} mariadb-dump --user=root --single-transaction --add-drop-database "
        f"--databases {site.database_name}"
    )


def site_service(every: list[Service], site: Site) -> Service:
    """The PhotoPrism service of `site` among the stack's services."""
    return next(s for s in every if s.name == site.service)


def check_data_here(engine: Engine, spec: StackSpec, paths: StackPaths, sites: list[Site]) -> None:
    """A consistent dump needs MariaDB running; on an engine that keeps the data on one node, the sites'
    database and folders must be on this one (its MariaDB task, or for SQLite each site's task, runs
    here). Without a PhotoPrism site there is no data to read."""
    if not sites:
        return
    if spec.capabilities.data_node:
        needed = ["mariadb"] if spec.database.kind == "mariadb" else [str(s.service) for s in sites]
        away = [name for name in needed if not engine.runs_here(spec, name)]
        if away:
            raise OperationFailed(
                f"{away[0]} has no running task on this node: the database and the photos are read on the node "
                "that holds them",
                "run stackctl on the node labeled stackctl.data=true, with the stack running (stackctl up)",
            )
        return
    if spec.database.kind == "mariadb":
        running = engine.containers(spec.name, paths.compose_dir).get("mariadb")
        if running is None or running.status != "running":
            raise OperationFailed(
                "MariaDB is not running: a consistent database dump needs it", "start the stack (stackctl up)"
            )


SQLITE_FILE = "index.db"  # PhotoPrism's default SQLite database, in its storage folder
STORAGE_TARGET = "/photoprism/storage"


@dataclass(frozen=True)
class Dump:
    kind: str  # mariadb | sqlite
    path: Path

    def describe(self) -> str:
        return f"{self.path} ({self.path.stat().st_size / 1e6:.1f} MB)"


def sqlite_database(photoprism: Service) -> Path:
    return photoprism.host_path(STORAGE_TARGET) / SQLITE_FILE


def _target(paths: StackPaths, spec: StackSpec, site: Site, kind: str, suffix: str) -> Path:
    ensure_dir(paths.backups, PRIVATE_DIR_MODE)
    stamp = utcnow().strftime("%Y%m%dT%H%M%SZ")
    return paths.backups / f"{spec.name}-{site.slug}-{stamp}-{kind}.{suffix}"


def _sqlite_copy(source: Path, target: Path) -> None:
    with (
        contextlib.closing(sqlite3.connect(source, timeout=30)) as src,
        contextlib.closing(sqlite3.connect(target, timeout=30)) as dst,
    ):
        src.backup(dst)


def _complete(partial: Path, target: Path) -> None:
    os.chmod(partial, PRIVATE_FILE_MODE)
    os.replace(partial, target)


def dump_database(engine: Engine, paths: StackPaths, spec: StackSpec, site: Site, photoprism: Service) -> Dump | None:
    """A consistent dump of one site's database in the running stack, through MariaDB's container on
    this node; None for SQLite before PhotoPrism made one. `photoprism` is the site's service."""
    if spec.database.kind == "mariadb":
        target = _target(paths, spec, site, "mariadb", "sql")
        partial = target.with_name(f".{target.name}.part")
        try:
            engine.run_in(spec, "mariadb", ["sh", "-c", mariadb_dump_command(site)], stdout=partial)
        except OperationFailed:
            partial.unlink(missing_ok=True)
            raise
        _complete(partial, target)
        return Dump("mariadb", target)
    database = sqlite_database(photoprism)
    if not database.exists():
        return None
    target = _target(paths, spec, site, "sqlite", "db")
    partial = target.with_name(f".{target.name}.part")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE_MODE)
    os.close(fd)
    try:
        _sqlite_copy(database, partial)
    except sqlite3.Error as e:
        partial.unlink(missing_ok=True)
        raise OperationFailed(f"failed to back up {database}: {e}", "check that the file is a SQLite database") from e
    _complete(partial, target)
    return Dump("sqlite", target)


def restore_database(engine: Engine, spec: StackSpec, photoprism: Service, dump: Dump, report: Report) -> None:
    """Put a dump back: into the running MariaDB, or over index.db while PhotoPrism is stopped."""
    if dump.kind == "mariadb":
        engine.run_in(spec, "mariadb", ["sh", "-c", MARIADB_RESTORE], stdin=dump.path)
    else:
        database = sqlite_database(photoprism)
        try:
            _sqlite_copy(dump.path, database)
        except sqlite3.Error as e:
            raise OperationFailed(
                f"failed to restore {database} from {dump.path}: {e}", f"copy {dump.path} over {database} by hand"
            ) from e
    report(f"restored the database from {dump.path}")
