"""backup and restore without Docker: a SQLite stack (its dump is SQLite's online backup on the host)
through the CLI with a fake engine. The docker tier does the MariaDB round trip with real containers."""

from __future__ import annotations

import io
import json
import random
import sqlite3
import tarfile
from pathlib import Path

import pytest

from stackctl.engines.base import ContainerInfo
from tests.fakes import FakeEngine, fake_edges
from tests.helpers import hash_tree, run_cli, single_site_yaml

DOMAIN = "photos.example.com"
PASSPHRASE = "correct horse battery staple"


def _stack(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "stack.yaml").write_text(single_site_yaml(DOMAIN))  # the layout below is the single-site form's
    assert run_cli("--dir", str(root), "init").code == 0
    spec = root / "stack.yaml"
    spec.write_text(spec.read_text().replace("kind: mariadb", "kind: sqlite"))
    assert run_cli("--dir", str(root), "certs", "create").code == 0
    (root / "storage/sidecar/2024").mkdir(parents=True)
    (root / "storage/sidecar/2024/beach.yml").write_text("Title: Beach\n")
    (root / "storage/cache/thumbnails").mkdir(parents=True)
    (root / "storage/cache/thumbnails/big.jpg").write_bytes(b"x" * 1000)
    with sqlite3.connect(root / "storage/index.db") as db:
        db.execute("CREATE TABLE photos (title TEXT)")
        db.execute("INSERT INTO photos VALUES ('sunset')")
    (root / "originals").mkdir(exist_ok=True)
    (root / "originals/sunset.jpg").write_bytes(random.randbytes(200_000))
    return root


@pytest.fixture
def archive(tmp_path: Path) -> tuple[Path, Path, Path]:
    """(stack folder, archive, passphrase file)"""
    root = _stack(tmp_path / "stack")
    secret = tmp_path / "passphrase"
    secret.write_text(PASSPHRASE + "\n")
    secret.chmod(0o600)
    result = run_cli("--dir", str(root), "backup", "--with-originals", "--passphrase-file", str(secret),
                     "--to", str(tmp_path / "photos.stackctl-backup"), edges=fake_edges(FakeEngine(root)))  # fmt: skip
    assert result.code == 0, result.err
    assert "Backed up" in result.out and "encrypted" in result.out
    return root, tmp_path / "photos.stackctl-backup", secret


def _restore(archive: Path, target: Path, secret: Path, *extra: str) -> tuple[int, str]:
    result = run_cli("restore", str(archive), "--dir", str(target), "--passphrase-file", str(secret), "--no-up",
                     *extra, edges=fake_edges(FakeEngine(target)))  # fmt: skip
    return result.code, result.err


def test_the_archive_is_0600_and_its_keys_are_not_readable_in_it(archive: tuple[Path, Path, Path]) -> None:
    root, path, _ = archive
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    key = (root / "certs/ca/ca.key").read_bytes()
    assert key[40:80] not in path.read_bytes() and b"PRIVATE KEY" not in path.read_bytes()


def test_restore_rebuilds_the_folder_with_its_modes_and_data(archive: tuple[Path, Path, Path], tmp_path: Path) -> None:
    root, path, secret = archive
    target = tmp_path / "restored"
    code, err = _restore(path, target, secret)
    assert code == 0, err
    before, after = hash_tree(root), hash_tree(target)
    for name in ("stack.yaml", "secrets", "secrets/mariadb.env", "certs", "certs/ca/ca.key", "originals/sunset.jpg",
                 "storage/sidecar/2024/beach.yml"):  # fmt: skip
        assert after[name] == before[name], name  # content and mode
    assert {k: v for k, v in after.items() if k.startswith("certs")} == {
        k: v for k, v in before.items() if k.startswith("certs")
    }  # every certificate folder as private as it was
    assert "storage/cache/thumbnails/big.jpg" not in after  # the thumbnail cache is made again
    with sqlite3.connect(target / "storage/index.db") as db:
        assert db.execute("SELECT title FROM photos").fetchall() == [("sunset",)]


def test_list_shows_the_manifest_and_restores_nothing(archive: tuple[Path, Path, Path], tmp_path: Path) -> None:
    _, path, secret = archive
    result = run_cli("backup", "--list", str(path), "--passphrase-file", str(secret))
    assert result.code == 0, result.err
    assert "stack photoprism (photos.example.com)" in result.out and "stack/certs/ca/ca.key" in result.out
    assert "0600" in result.out and "database: sqlite" in result.out


def _refused(path: Path, target: Path, secret: Path) -> str:
    code, err = _restore(path, target, secret)
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert not target.exists(), "nothing may be written"
    return err


def test_a_wrong_passphrase_truncation_and_flipped_bytes_are_refused_writing_nothing(
    archive: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    _, path, _ = archive
    wrong = tmp_path / "wrong"
    wrong.write_text("not the passphrase\n")
    target = tmp_path / "never"
    assert "wrong passphrase" in _refused(path, target, wrong)
    data = path.read_bytes()
    rng = random.Random(1729)
    secret = archive[2]
    for offset in rng.sample(range(1, len(data)), 10):
        damaged = tmp_path / "damaged.stackctl-backup"
        damaged.write_bytes(data[:offset])
        _refused(damaged, target, secret)
    for offset in rng.sample(range(len(data)), 10):
        flipped = bytearray(data)
        flipped[offset] ^= 1 << rng.randrange(8)
        damaged.write_bytes(bytes(flipped))
        _refused(damaged, target, secret)


def _plain_archive(path: Path, members: list[tarfile.TarInfo]) -> Path:
    manifest = {"format": "stackctl-backup", "version": 1, "files": []}
    with tarfile.open(path, "w:gz") as tar:
        for member in members:
            tar.addfile(member, io.BytesIO(b"x" * member.size) if member.isfile() else None)
        data = json.dumps(manifest).encode()
        info = tarfile.TarInfo("manifest.json")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return path


@pytest.mark.parametrize(
    "member",
    [
        ("stack/../../escaped", tarfile.REGTYPE),
        ("/etc/stackctl-escaped", tarfile.REGTYPE),
        ("stack/certs/link", tarfile.SYMTYPE),
        ("stack/certs/hard", tarfile.LNKTYPE),
        ("elsewhere/file", tarfile.REGTYPE),
    ],
)
def test_archive_entries_that_try_to_escape_are_refused(tmp_path: Path, member: tuple[str, bytes]) -> None:
    info = tarfile.TarInfo(member[0])
    info.type = member[1]
    info.size = 1 if info.isfile() else 0
    info.linkname = "/etc/passwd"
    path = _plain_archive(tmp_path / "evil.tar.gz", [info])
    result = run_cli("restore", str(path), "--dir", str(tmp_path / "never"), "--no-up")
    assert result.code == 2 and len(result.err.strip().splitlines()) == 1, result.err
    assert not (tmp_path / "never").exists() and not (tmp_path / "escaped").exists()


def test_a_folder_that_holds_a_stack_is_refused_without_force(archive: tuple[Path, Path, Path]) -> None:
    root, path, secret = archive
    before = hash_tree(root)
    code, err = _restore(path, root, secret)
    assert code == 2 and "already holds a stack" in err
    assert hash_tree(root) == before


def test_a_mariadb_stack_is_dumped_through_its_container_and_loaded_back_into_a_fresh_one(tmp_path: Path) -> None:
    root = tmp_path / "stack"
    root.mkdir()
    (root / "stack.yaml").write_text(single_site_yaml(DOMAIN))
    assert run_cli("--dir", str(root), "init").code == 0
    archive = tmp_path / "photos.stackctl-backup"
    stopped = run_cli("--dir", str(root), "backup", "--no-encrypt", "--to", str(archive),
                      edges=fake_edges(FakeEngine(root)))  # fmt: skip
    assert stopped.code == 1 and "MariaDB is not running" in stopped.err and not archive.exists()
    running = FakeEngine(root, running={"mariadb": ContainerInfo("mariadb", "m", "running", "x")})
    result = run_cli("--dir", str(root), "backup", "--no-encrypt", "--to", str(archive), edges=fake_edges(running))
    assert result.code == 0, result.err
    assert running.ran == ["mariadb"]  # mariadb-dump ran in MariaDB's container
    with tarfile.open(archive) as tar:
        dumps = [m.name for m in tar.getmembers() if "/database/" in m.name]
    assert dumps == [f"sites/{DOMAIN}/database/mariadb.sql"]
    target, fresh = tmp_path / "restored", FakeEngine(tmp_path / "restored")
    result = run_cli("restore", str(archive), "--dir", str(target), "--no-up", edges=fake_edges(fresh))
    assert result.code == 0, result.err
    assert "starting a fresh MariaDB to load the dumps into" in result.out
    assert fresh.applied == [["mariadb"]] and fresh.ran == ["mariadb"]  # the dump, loaded through its client


def test_force_sets_what_the_folder_held_aside_and_deletes_nothing(
    archive: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    _, path, secret = archive
    target = tmp_path / "occupied"
    target.mkdir()
    (target / "stack.yaml").write_text("domain: old.example.com\n")
    (target / "notes.txt").write_text("mine")
    code, err = _restore(path, target, secret, "--force")
    assert code == 0, err
    aside = [p for p in tmp_path.iterdir() if p.name.startswith("occupied.before-restore-")]
    assert len(aside) == 1 and (aside[0] / "notes.txt").read_text() == "mine"
    assert (aside[0] / "stack.yaml").read_text() == "domain: old.example.com\n"
    assert oct(aside[0].stat().st_mode & 0o777) == "0o700"
    assert DOMAIN in (target / "stack.yaml").read_text()


def test_a_dump_that_fails_leaves_no_half_dump_and_no_archive(tmp_path: Path) -> None:
    root = tmp_path / "stack"
    root.mkdir()
    (root / "stack.yaml").write_text(single_site_yaml(DOMAIN))
    assert run_cli("--dir", str(root), "init").code == 0
    engine = FakeEngine(root, running={"mariadb": ContainerInfo("mariadb", "m", "running", "x")},
                        failing={"mariadb": "Got error: 1045: Access denied"})  # fmt: skip
    archive = tmp_path / "photos.stackctl-backup"
    result = run_cli("--dir", str(root), "backup", "--no-encrypt", "--to", str(archive), edges=fake_edges(engine))
    assert result.code == 1 and "Access denied" in result.err
    assert not archive.exists() and not any((root / "backups").iterdir())


def test_a_sqlite_index_that_is_not_a_database_is_reported_not_archived(tmp_path: Path) -> None:
    root = _stack(tmp_path / "stack")
    (root / "storage/index.db").write_bytes(b"not a database " * 100)
    archive = tmp_path / "photos.stackctl-backup"
    result = run_cli("--dir", str(root), "backup", "--no-encrypt", "--to", str(archive),
                     edges=fake_edges(FakeEngine(root)))  # fmt: skip
    assert result.code == 1
    assert f"error: failed to back up {root / 'storage/index.db'}: file is not a database" in result.err
    assert not archive.exists() and not any((root / "backups").glob("*.part"))


def _archive_of(path: Path, files: dict[str, bytes], manifest: bytes | None) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in [*files.items(), *([("manifest.json", manifest)] if manifest is not None else [])]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def _manifest(files: list[dict[str, object]], version: int = 1) -> bytes:
    return json.dumps({"format": "stackctl-backup", "version": version, "files": files}).encode()


@pytest.mark.parametrize(
    ("files", "manifest", "code", "words"),
    [
        ({}, b"{not json", 2, "the archive's manifest is not JSON"),
        ({}, b'{"format": "tarball"}', 2, "the archive has no stackctl manifest"),
        ({}, b'{"format": "stackctl-backup", "version": 1}', 2, "the archive's manifest lists no files"),
        ({}, _manifest([], version=9), 2, "the archive is format version 9, this stackctl reads 1"),
        ({"stack/stack.yaml": b"x"}, None, 2, "the archive has no manifest (truncated?)"),
        ({"stack/stack.yaml": b"x"}, _manifest([]), 2, "the archive's files do not match its manifest"),
        ({"stack/stack.yaml": b"x"}, _manifest([{"path": "stack/stack.yaml", "sha256": "0" * 64, "size": 1}]), 2,
         "stack/stack.yaml does not match its SHA-256 in the manifest"),
    ],
    ids=["not-json", "not-stackctl", "no-files", "newer-format", "no-manifest", "unlisted-file", "changed-file"],
)  # fmt: skip
def test_an_archive_that_does_not_hold_what_its_manifest_says_is_refused_writing_nothing(
    tmp_path: Path, files: dict[str, bytes], manifest: bytes | None, code: int, words: str
) -> None:
    path = _archive_of(tmp_path / "odd.stackctl-backup", files, manifest)
    result = run_cli("restore", str(path), "--dir", str(tmp_path / "never"), "--no-up")
    assert result.code == code and words in result.err and len(result.err.strip().splitlines()) == 1, result.err
    assert not (tmp_path / "never").exists()
