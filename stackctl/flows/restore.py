"""`stackctl restore`: check the passphrase and every hash first (a pass that writes nothing), then
recreate the stack folder with its modes, load the database into a fresh database container, and bring
the stack up: the same sites with the same certificates and the same data."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, BinaryIO

from stackctl.config.edit import with_value
from stackctl.config.layout import StackPaths
from stackctl.config.sites import slug_of
from stackctl.config.spec import load_spec
from stackctl.core.clock import Deadline, utcnow
from stackctl.core.errors import InvalidInput, OperationFailed
from stackctl.core.fsio import PRIVATE_DIR_MODE, atomic_write, ensure_dir
from stackctl.core.sealed import MAGIC, SealedReader
from stackctl.engines.host import prepare_host_folders
from stackctl.engines.model import services
from stackctl.flows.archive import MANIFEST, damaged, members, stream_to, verified_manifest
from stackctl.flows.dumps import Dump, photoprism_sites, restore_database, site_service, sqlite_database
from stackctl.flows.edges import Edges
from stackctl.flows.generated import rendered
from stackctl.flows.restore_plan import SPEC_MEMBER, RestorePlan, plan_restore, safe_mode

PRIVATE_FOLDERS = ("secrets", "certs")


def is_sealed(archive: Path) -> bool:
    with open(archive, "rb") as handle:
        return handle.read(len(MAGIC)) == MAGIC


@contextmanager
def opened(archive: Path, passphrase: bytes | None) -> Iterator[BinaryIO]:
    """The archive's plain stream: unsealed with the passphrase when it is sealed."""
    with open(archive, "rb") as raw:
        if raw.read(len(MAGIC)) == MAGIC:
            if passphrase is None:
                raise InvalidInput(
                    f"{archive.name} is encrypted", "give --passphrase-file F, or run in a terminal to be asked"
                )
            raw.seek(0)
            yield SealedReader(raw, passphrase)  # type: ignore[misc]
        else:
            raw.seek(0)
            yield raw


def read_manifest(archive: Path, passphrase: bytes | None, keep: dict[str, bytes] | None = None) -> dict[str, Any]:
    """Every byte authenticated and every file hashed against the manifest; nothing written. The
    members named in `keep` get their content put there."""
    with opened(archive, passphrase) as stream:
        return verified_manifest(stream, keep)


@dataclass
class Restored:
    root: Path
    manifest: dict[str, Any]
    dumps: dict[str, Dump]  # site domain -> the dump loaded (kept in backups/)
    seconds: float


def write_stream(path: Path, handle: IO[bytes], mode: int, expected: str, folder_mode: int) -> None:
    ensure_dir(path.parent, folder_mode)
    partial = path.with_name(f".{path.name}.part")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as out:
            digest = stream_to(handle, out.write)
            out.flush()
            os.fsync(out.fileno())
        if digest != expected:
            raise damaged(f"{path.name} changed between the check and the restore")
        os.chmod(partial, mode)
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def _private_folders(base: Path, leaf: Path) -> None:
    """`base` and each folder from it down to `leaf`, created or tightened to 0700."""
    current = base
    ensure_dir(current, PRIVATE_DIR_MODE)
    for part in leaf.relative_to(base).parts:
        current = current / part
        ensure_dir(current, PRIVATE_DIR_MODE)


class _Placer:
    """Where each archive member goes: stack files into the folder (private folders 0700), each site's
    dump into backups/, its sidecars and originals where the plan puts them."""

    def __init__(self, plan: RestorePlan, manifest: dict[str, Any]) -> None:
        self.plan = plan
        self.paths = StackPaths(plan.root)
        self.modes = {f["path"]: safe_mode(f.get("mode", 0o600)) for f in manifest["files"]}
        self.digests = {f["path"]: str(f["sha256"]) for f in manifest["files"]}
        self.dumps: dict[str, Dump] = {}  # site domain -> its dump

    def target(self, name: str) -> Path:
        if name.startswith("stack/"):
            return self.paths.root / name.split("/", 1)[1]
        member = self.plan.members[name]
        if member.folder == "database":
            stamp = utcnow().strftime("%Y%m%dT%H%M%SZ")
            path = self.paths.backups / f"restore-{stamp}-{slug_of(member.domain)}-{member.rest}"
            self.dumps[member.domain] = Dump(member.rest.split(".", 1)[0], path)
            return path
        return self.plan.target(name)

    def place(self, name: str, handle: IO[bytes]) -> None:
        path = self.target(name)
        top_level = name.split("/")[1] if name.startswith("stack/") else ""
        dump = name in self.plan.members and self.plan.members[name].folder == "database"
        private = top_level in PRIVATE_FOLDERS or dump
        if private:  # every folder below secrets/ and certs/ is 0700 from the moment it exists
            _private_folders(self.paths.root / top_level if top_level else path.parent, path.parent)
        mode = 0o600 if dump else self.modes[name]
        write_stream(path, handle, mode, self.digests[name], PRIVATE_DIR_MODE if private else 0o755)

    def point_spec_at_moved_folders(self) -> None:
        text = self.paths.spec.read_text()
        for keys, value in self.plan.spec_edits():
            text = with_value(text, keys, value)
        atomic_write(self.paths.spec, text)


def _set_aside(root: Path, report: Callable[[str], None]) -> None:
    """--force: what the folder held is kept beside it, never deleted."""
    stamp = utcnow().strftime("%Y%m%dT%H%M%SZ")
    aside = root.parent / f"{root.name}.before-restore-{stamp}"
    aside.mkdir(mode=PRIVATE_DIR_MODE)
    for entry in sorted(root.iterdir()):
        shutil.move(str(entry), aside / entry.name)
    report(f"moved what {root} held to {aside}")


def restore(
    archive: Path, root: Path, passphrase: bytes | None, force: bool, edges: Edges, report: Callable[[str], None],
    timeout: float, moved: dict[str, Path] | None = None,
) -> Restored:  # fmt: skip
    """`moved`: archive folders (originals, storage) to restore somewhere else than where the archive's
    stack.yaml puts them; stack.yaml is then changed to point there."""
    started = time.monotonic()
    kept: dict[str, bytes] = {SPEC_MEMBER: b""}
    manifest = read_manifest(archive, passphrase, kept)
    report(f"checked {archive.name}: {len(manifest['files'])} files, every SHA-256 matches")
    holds_stack = (root / "stack.yaml").exists() or (root / "secrets").exists()
    if holds_stack and not force:
        raise InvalidInput(
            f"{root} already holds a stack", "restore into a new folder (--dir), or add --force to set it aside"
        )
    plan = plan_restore(root, manifest, kept[SPEC_MEMBER] or None, moved or {})
    for name, path, count in plan.outside():
        report(f"will write {count} {name} into {path} (outside {root}; no file there is replaced)")
    if holds_stack:
        _set_aside(root, report)
    ensure_dir(root, 0o755)
    placer = _Placer(plan, manifest)
    with opened(archive, passphrase) as stream:
        for member, handle in members(stream):
            if member.name != MANIFEST:
                placer.place(member.name, handle)
    if plan.moved:
        placer.point_spec_at_moved_folders()
        report(f"stack.yaml now points at {', '.join(str(p) for p in plan.moved.values())}")
    _load_database(placer, edges, report, timeout)
    return Restored(root, manifest, placer.dumps, time.monotonic() - started)


def _load_database(placer: _Placer, edges: Edges, report: Callable[[str], None], timeout: float) -> None:
    """Each site's dump: SQLite files into their storage folders; MariaDB dumps into a fresh MariaDB."""
    if not placer.dumps:
        return
    paths = placer.paths
    spec = load_spec(paths.spec)
    every = services(spec, paths)
    photoprism = {site.domain: site_service(every, site) for site in photoprism_sites(spec)}
    if spec.database.kind == "sqlite":
        for domain, dump in placer.dumps.items():
            target = sqlite_database(photoprism[domain])
            ensure_dir(target.parent, 0o755)
            shutil.copyfile(dump.path, target)
            report(f"restored the SQLite database of {domain} to {target}")
        return
    engine = edges.engine(spec)
    mariadb = [s for s in every if s.name == "mariadb"]
    if spec.capabilities.data_node:  # the images, the nodes' roles and the data folders, as `up` prepares them
        engine.prepare(paths, spec, Deadline(timeout), report, _no_progress)
    else:
        prepare_host_folders(mariadb, paths.run)
    report("starting a fresh MariaDB to load the dumps into")
    files = rendered(paths, spec, engine)
    engine.apply(paths, spec, mariadb, files, Deadline(timeout), report)
    for domain, dump in placer.dumps.items():
        try:
            restore_database(engine, spec, photoprism[domain], dump, report)
        except OperationFailed as e:
            raise OperationFailed(
                f"the files are restored but loading the database of {domain} failed: {e.message}",
                f"the dump is {dump.path}; fix the cause and load it (stackctl restore --force)",
            ) from e


def _no_progress(image: str, layer: str, done: int, total: int) -> None:
    del image, layer, done, total
