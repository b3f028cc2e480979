"""The backup archive: a gzip'd tar stream (optionally sealed, core/sealed.py) whose last member is a
manifest of every file with its SHA-256, size and mode. Written and read as streams, so memory stays
flat whatever the size. Reading refuses anything but plain relative files and folders the manifest
lists: no `..`, no absolute paths, no links or devices."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, Any, BinaryIO

from stackctl.core.errors import InvalidInput

MANIFEST = "manifest.json"
FORMAT = "stackctl-backup"
FORMAT_VERSION = 2  # 2: each PhotoPrism site's files under sites/<domain>/
READABLE_VERSIONS = (1, 2)  # 1: one site, its files under database/, storage/, originals/
COMPRESS_LEVEL = 1  # photos and dumps: speed over a few per cent of size
SITE_FOLDERS = ("database", "storage", "originals")  # of a site, under sites/<domain>/ (at the top in version 1)
TOP_FOLDERS = ("stack", "sites", *SITE_FOLDERS)
_READ = 1 << 20
_HINT = "use an archive written by stackctl backup, complete and unchanged"


def damaged(message: str) -> InvalidInput:
    return InvalidInput(message, _HINT)


@dataclass
class FileEntry:
    path: str  # inside the archive, e.g. stack/certs/ca/ca.key
    sha256: str
    size: int
    mode: int
    site: str | None  # the PhotoPrism site (domain) the file belongs to; None for the stack's own


@dataclass
class ArchiveWriter:
    """Adds host files under archive names, hashing them as they stream in; `close` adds the manifest."""

    out: BinaryIO
    on_bytes: Callable[[int], None] = lambda n: None
    files: list[FileEntry] = field(default_factory=list)

    def __post_init__(self) -> None:
        # gzip around a plain tar stream: tarfile's own "w|gz" takes no compression level before 3.12
        self.gzip = gzip.GzipFile(fileobj=self.out, mode="wb", compresslevel=COMPRESS_LEVEL, mtime=0)
        self.tar = tarfile.open(fileobj=self.gzip, mode="w|")  # noqa: SIM115

    def add_file(self, name: str, source: Path) -> None:
        info = source.stat()
        member = tarfile.TarInfo(name)
        member.size, member.mode, member.mtime = info.st_size, info.st_mode & 0o777, int(info.st_mtime)
        digest = hashlib.sha256()
        with open(source, "rb") as handle:
            self.tar.addfile(member, _Hashing(handle, digest, self.on_bytes))
        site = name.split("/")[1] if name.startswith("sites/") else None
        self.files.append(FileEntry(name, digest.hexdigest(), info.st_size, info.st_mode & 0o777, site))

    def close(self, manifest: dict[str, Any]) -> dict[str, Any]:
        document = {**manifest, "format": FORMAT, "version": FORMAT_VERSION,
                    "files": [f.__dict__ for f in self.files]}  # fmt: skip
        data = json.dumps(document, indent=1, sort_keys=True).encode()
        member = tarfile.TarInfo(MANIFEST)
        member.size, member.mode = len(data), 0o600
        self.tar.addfile(member, io.BytesIO(data))
        self.tar.close()
        self.gzip.close()
        return document


class _Hashing(io.RawIOBase):
    def __init__(self, source: IO[bytes], digest: Any, on_bytes: Callable[[int], None]) -> None:
        self.source, self.digest, self.on_bytes = source, digest, on_bytes

    def read(self, size: int = -1) -> bytes:
        data = self.source.read(size)
        self.digest.update(data)
        self.on_bytes(len(data))
        return data


def safe_name(name: str) -> str:
    """An archive member's name, refused unless it is relative, without `..`, under a known folder."""
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts or name.startswith("/") or "\\" in name or "\x00" in name:
        raise damaged(f"the archive holds an unsafe path {name[:80]!r}")
    if name != MANIFEST and (len(path.parts) < 2 or path.parts[0] not in TOP_FOLDERS):
        raise damaged(f"the archive holds an unexpected entry {name[:80]!r}")
    if path.parts[0] == "sites" and (len(path.parts) < 4 or path.parts[2] not in SITE_FOLDERS):
        raise damaged(f"the archive holds an unexpected entry {name[:80]!r}")
    return name


@dataclass(frozen=True)
class SiteMember:
    """A file of one PhotoPrism site in the archive."""

    domain: str
    folder: str  # one of SITE_FOLDERS
    rest: str  # below that folder


def site_member(name: str, version: int, single_site: str | None) -> SiteMember | None:
    """Where `name` belongs: sites/<domain>/<folder>/<rest> (version 2), or <folder>/<rest> of the one
    PhotoPrism site a version 1 archive holds; None for the stack's own files. A name of the other
    version's layout is damage."""
    parts = name.split("/", 3)
    if version >= 2 and parts[0] == "sites":
        return SiteMember(parts[1], parts[2], parts[3])
    if version == 1 and parts[0] in SITE_FOLDERS and single_site is not None:
        return SiteMember(single_site, parts[0], name.split("/", 1)[1])
    if parts[0] in TOP_FOLDERS and parts[0] != "stack":
        raise damaged(f"the archive holds an unexpected entry {name[:80]!r}")
    return None


# What reading a damaged gzip or tar stream raises, wherever the reading happens.
READ_ERRORS = (tarfile.TarError, EOFError, OSError, ValueError, zlib.error)


class _DamageChecked(io.RawIOBase):
    """A member's content whose read errors (a truncated or corrupt stream) are reported as damage."""

    def __init__(self, handle: IO[bytes]) -> None:
        self.handle = handle

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        try:
            return self.handle.read(size)
        except READ_ERRORS as e:
            raise damaged(f"the archive is damaged ({type(e).__name__}: {str(e)[:100]})") from e


def members(source: BinaryIO) -> Iterator[tuple[tarfile.TarInfo, IO[bytes]]]:
    """Each regular file of the stream with its content; anything else is refused, and a damaged
    stream is reported as such however far in it breaks."""
    try:
        with tarfile.open(fileobj=source, mode="r|gz") as tar:
            for member in tar:
                safe_name(member.name)
                if not member.isfile():
                    raise damaged(f"the archive holds a link or special file {member.name[:80]!r}")
                handle = tar.extractfile(member)
                assert handle is not None
                yield member, _DamageChecked(handle)  # type: ignore[misc]
    except READ_ERRORS as e:
        raise damaged(f"the archive is damaged ({type(e).__name__}: {str(e)[:100]})") from e


def stream_to(handle: IO[bytes], sink: Callable[[bytes], object]) -> str:
    digest = hashlib.sha256()
    while chunk := handle.read(_READ):
        digest.update(chunk)
        sink(chunk)
    return digest.hexdigest()


def parse_manifest(data: bytes) -> dict[str, Any]:
    try:
        manifest = json.loads(data)
    except ValueError:
        raise damaged("the archive's manifest is not JSON") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise damaged("the archive has no stackctl manifest")
    if not isinstance(manifest.get("files"), list):
        raise damaged("the archive's manifest lists no files")
    if manifest.get("version") not in READABLE_VERSIONS:
        raise InvalidInput(
            f"the archive is format version {str(manifest.get('version'))[:20]}, this stackctl reads "
            f"{' and '.join(map(str, READABLE_VERSIONS))}",
            "restore it with the stackctl version that wrote it (see stackctl backup --list)",
        )
    return manifest


KEPT_MAX_BYTES = 1 << 20  # a member kept in memory during the check (stack.yaml) is read up to this


def _keeping(buffer: bytearray | None) -> Callable[[bytes], object]:
    """A sink that fills `buffer` up to KEPT_MAX_BYTES (or drops everything when there is none)."""

    def sink(chunk: bytes) -> None:
        if buffer is not None:
            buffer.extend(chunk[: max(0, KEPT_MAX_BYTES - len(buffer))])

    return sink


def verified_manifest(source: BinaryIO, keep: dict[str, bytes] | None = None) -> dict[str, Any]:
    """Read the whole stream once, writing nothing: every member hashed and checked against the
    manifest (which comes last), every listed file present exactly once. The members named by the keys
    of `keep` get their content (up to 1 MiB) put there."""
    seen: dict[str, tuple[str, int]] = {}
    manifest = None
    for member, handle in members(source):
        if member.name == MANIFEST:
            manifest = parse_manifest(handle.read(16 << 20))
            continue
        if member.name in seen:
            raise damaged(f"the archive holds {member.name[:80]!r} twice")
        kept = bytearray() if keep is not None and member.name in keep else None
        seen[member.name] = (stream_to(handle, _keeping(kept)), member.size)
        if keep is not None and kept is not None:
            keep[member.name] = bytes(kept)
    if manifest is None:
        raise damaged("the archive has no manifest (truncated?)")
    listed = {str(f.get("path")): f for f in manifest["files"] if isinstance(f, dict)}
    if set(listed) != set(seen):
        extra = sorted(set(seen) ^ set(listed))[:1]
        raise damaged(f"the archive's files do not match its manifest ({extra[0][:80]!r})")
    for name, (digest, size) in seen.items():
        if listed[name].get("sha256") != digest or listed[name].get("size") != size:
            raise damaged(f"{name[:80]} does not match its SHA-256 in the manifest")
    return manifest
