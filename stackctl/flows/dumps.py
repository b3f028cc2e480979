"""Consistent database dumps of a running stack, and putting one back: `mariadb-dump
--single-transaction` in the MariaDB container, or SQLite's online backup of PhotoPrism's index.db.
Dumps go to backups/ (0700), files 0600, written under a temporary name and renamed when complete."""

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
# because one dump covers every PhotoPrism site's database, consistently (one transaction). On Swarm the
# password is a secret file named by MARIADB_ROOT_PASSWORD_FILE.
MARIADB_ROOT = 'MYSQL_PWD="${MARIADB_ROOT_PASSWORD:-$(cat "$MARIADB_ROOT_PASSWORD_FILE")}" exec'
MARIADB_RESTORE = f"{MARIADB_ROOT} mariadb --user=root"


def dumped_site(spec: StackSpec, command: str) -> Site:
    """The PhotoPrism site whose database and files backup, restore and upgrade handle; until they handle
    each site on its own, a stack with several PhotoPrism sites is refused."""
    found = [s for s in spec.sites if s.photoprism is not None]
    if len(found) != 1:
        raise InvalidInput(
            f"{command} handles a stack with exactly one PhotoPrism site; this one has {len(found)}",
            "see the README's sites section for what to do meanwhile",
        )
    return found[0]


def mariadb_dump_command(spec: StackSpec) -> str:
    """Database names are stackctl's own (photoprism, pp_<slug>): letters, digits and '_' only."""
    names = " ".join(s.database_name for s in spec.sites if s.photoprism is not None)
    return f"{MARIADB_ROOT} mariadb-dump --user=root --single-transaction --add-drop-database --databases {names}"


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


def _target(paths: StackPaths, spec: StackSpec, kind: str, suffix: str) -> Path:
    ensure_dir(paths.backups, PRIVATE_DIR_MODE)
    stamp = utcnow().strftime("%Y%m%dT%H%M%SZ")
    return paths.backups / f"{spec.name}-{stamp}-{kind}.{suffix}"


def _sqlite_copy(source: Path, target: Path) -> None:
    with (
        contextlib.closing(sqlite3.connect(source, timeout=30)) as src,
        contextlib.closing(sqlite3.connect(target, timeout=30)) as dst,
    ):
        src.backup(dst)


def _complete(partial: Path, target: Path) -> None:
    os.chmod(partial, PRIVATE_FILE_MODE)
    os.replace(partial, target)


def dump_database(engine: Engine, paths: StackPaths, spec: StackSpec, photoprism: Service) -> Dump | None:
    """A consistent dump of the running stack's database, through MariaDB's container on this node;
    None for SQLite before PhotoPrism made one."""
    if spec.database.kind == "mariadb":
        target = _target(paths, spec, "mariadb", "sql")
        partial = target.with_name(f".{target.name}.part")
        try:
            engine.run_in(spec, "mariadb", ["sh", "-c", mariadb_dump_command(spec)], stdout=partial)
        except OperationFailed:
            partial.unlink(missing_ok=True)
            raise
        _complete(partial, target)
        return Dump("mariadb", target)
    database = sqlite_database(photoprism)
    if not database.exists():
        return None
    target = _target(paths, spec, "sqlite", "db")
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
