"""backup and restore of a stack with several PhotoPrism sites, without Docker: a SQLite stack of two
PhotoPrism sites and an upstream, through the CLI with a fake engine. One archive holds each site's
database and files under sites/<domain>/, the manifest names each file's site, and a restore puts each
site's data back in its own folders. --site backs up one site alone; an archive of the earlier format
(one site, its files at the top) still restores. The docker tier restores one site into a running
stack while the others serve."""

from __future__ import annotations

import hashlib
import io
import json
import sqlite3
import tarfile
from pathlib import Path

import pytest

from stackctl.config.layout import StackPaths
from stackctl.config.spec import load_spec
from tests.bad_input.conftest import assert_refused
from tests.fakes import FakeEngine, fake_edges
from tests.helpers import hash_tree, run_cli

ALICE, BOB, APP = "photos.example.com", "bob.example.com", "app.example.com"
PHOTO_SITES = (ALICE, BOB)


def _site_folder(root: Path, domain: str, folder: str) -> Path:
    spec = load_spec(StackPaths(root).spec)
    pp = spec.site(domain).photoprism
    assert pp is not None
    return root / (pp.originals if folder == "originals" else pp.storage)


def sites_stack(root: Path) -> Path:
    """Two PhotoPrism sites with a photo, a sidecar and an index.db each, and an upstream site."""
    assert run_cli("--dir", str(root), "init", "--domain", ALICE).code == 0
    for argv in (["sites", "add", BOB], ["sites", "add", APP, "--upstream", "http://host.docker.internal:5000"]):
        assert run_cli("--dir", str(root), *argv).code == 0
    spec = root / "stack.yaml"
    spec.write_text(spec.read_text().replace("kind: mariadb", "kind: sqlite"))
    assert run_cli("--dir", str(root), "certs", "create").code == 0
    for domain in PHOTO_SITES:
        storage, originals = _site_folder(root, domain, "storage"), _site_folder(root, domain, "originals")
        (storage / "sidecar").mkdir(parents=True)
        (storage / "sidecar/photo.yml").write_text(f"Title: {domain}\n")
        with sqlite3.connect(storage / "index.db") as db:
            db.execute("CREATE TABLE photos (title TEXT)")
            db.execute(f"INSERT INTO photos VALUES ('{domain}')")
        originals.mkdir(parents=True, exist_ok=True)
        (originals / "photo.jpg").write_bytes(domain.encode() * 1000)
    return root


def _backup(root: Path, to: Path, *extra: str) -> Path:
    result = run_cli("--dir", str(root), "backup", "--no-encrypt", "--with-originals", "--to", str(to), *extra,
                     edges=fake_edges(FakeEngine(root)))  # fmt: skip
    assert result.code == 0, result.err
    return to if to.suffix == ".gz" else next(to.glob("*.tar.gz"))


def _manifest(archive: Path) -> dict[str, object]:
    with tarfile.open(archive) as tar:
        handle = tar.extractfile("manifest.json")
        assert handle is not None
        return dict(json.load(handle))


def _titles(root: Path, domain: str) -> list[str]:
    with sqlite3.connect(_site_folder(root, domain, "storage") / "index.db") as db:
        return [row[0] for row in db.execute("SELECT title FROM photos")]


@pytest.fixture
def stack(tmp_path: Path) -> Path:
    return sites_stack(tmp_path / "stack")


def test_one_archive_holds_each_sites_database_and_files_and_restores_them_in_place(
    stack: Path, tmp_path: Path
) -> None:
    archive = _backup(stack, tmp_path / "all.tar.gz")
    manifest = _manifest(archive)
    assert manifest["sites"] == [ALICE, BOB] and manifest["only_site"] is None
    files = {f["path"]: f["site"] for f in manifest["files"]}  # type: ignore[attr-defined]
    for domain in PHOTO_SITES:
        for name in ("database/sqlite.db", "storage/sidecar/photo.yml", "originals/photo.jpg"):
            assert files[f"sites/{domain}/{name}"] == domain
    assert files["stack/stack.yaml"] is None
    listed = run_cli("backup", "--list", str(archive))
    assert f"PhotoPrism sites: {ALICE}, {BOB}\n" in listed.out

    target = tmp_path / "restored"
    result = run_cli("restore", str(archive), "--dir", str(target), "--no-up", edges=fake_edges(FakeEngine(target)))
    assert result.code == 0, result.err
    for domain in PHOTO_SITES:
        assert _titles(target, domain) == [domain]  # each site's own database, in its own folder
        assert (_site_folder(target, domain, "originals") / "photo.jpg").read_bytes() == domain.encode() * 1000
        assert (_site_folder(target, domain, "storage") / "sidecar/photo.yml").read_text() == f"Title: {domain}\n"
    assert hash_tree(target / "certs") == hash_tree(stack / "certs")  # the same keys and certificates


def test_originals_to_puts_each_sites_photos_in_a_folder_of_its_own(stack: Path, tmp_path: Path) -> None:
    archive = _backup(stack, tmp_path / "all.tar.gz")
    target, photos = tmp_path / "restored", tmp_path / "photos"
    result = run_cli("restore", str(archive), "--dir", str(target), "--no-up", "--originals-to", str(photos),
                     edges=fake_edges(FakeEngine(target)))  # fmt: skip
    assert result.code == 0, result.err
    for domain in PHOTO_SITES:
        assert (photos / domain / "photo.jpg").read_bytes() == domain.encode() * 1000
        assert _site_folder(target, domain, "originals") == photos / domain  # stack.yaml points there


def test_site_backs_up_one_site_alone_and_keep_counts_its_archives_apart(stack: Path, tmp_path: Path) -> None:
    folder = tmp_path / "archives"
    folder.mkdir()
    whole = _backup(stack, folder, "--keep", "1")
    for _ in range(2):  # two of Bob's: --keep 1 leaves the newest of his, and the whole-stack archive
        result = run_cli("--dir", str(stack), "backup", "--no-encrypt", "--site", BOB, "--keep", "1", "--to",
                         str(folder), edges=fake_edges(FakeEngine(stack)))  # fmt: skip
        assert result.code == 0, result.err
    archives = sorted(folder.iterdir())
    assert len(archives) == 2 and whole in archives
    bobs = next(a for a in archives if a != whole)
    assert bobs.name.startswith(f"{load_spec(stack / 'stack.yaml').name}@{BOB}-")
    manifest = _manifest(bobs)
    assert manifest["sites"] == [BOB] and manifest["only_site"] == BOB
    sites = {f["site"] for f in manifest["files"]}  # type: ignore[attr-defined]
    assert sites == {None, BOB}
    refused = run_cli("restore", str(bobs), "--dir", str(tmp_path / "new"), "--no-up")
    assert_refused(refused, 2, f"the archive holds only the site {BOB}", [])
    assert not (tmp_path / "new").exists()


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["--site", APP], f"--site {APP}: {APP} is an upstream site"),
        (["--site", "nobody.example.com"], "--site nobody.example.com: no such site"),
    ],
)
def test_site_must_name_a_photoprism_site(stack: Path, tmp_path: Path, argv: list[str], fragment: str) -> None:
    result = run_cli("--dir", str(stack), "backup", "--no-encrypt", *argv, "--to", str(tmp_path))
    assert_refused(result, 2, fragment, [])
    assert list(tmp_path.glob("*.tar.gz")) == []


def _version_1_archive(stack: Path, path: Path) -> None:
    """What stackctl wrote before several sites: one site's files under database/, storage/, originals/."""
    members = {"stack/stack.yaml": (stack / "stack.yaml").read_bytes()}
    for name in sorted(p for p in (stack / "secrets").rglob("*") if p.is_file()):
        members[f"stack/{name.relative_to(stack)}"] = name.read_bytes()
    for name in sorted(p for p in (stack / "certs").rglob("*") if p.is_file()):
        members[f"stack/{name.relative_to(stack)}"] = name.read_bytes()
    storage = _site_folder(stack, ALICE, "storage")
    members["database/sqlite.db"] = (storage / "index.db").read_bytes()
    members["storage/sidecar/photo.yml"] = (storage / "sidecar/photo.yml").read_bytes()
    members["originals/photo.jpg"] = (_site_folder(stack, ALICE, "originals") / "photo.jpg").read_bytes()
    files = [
        {"path": n, "sha256": hashlib.sha256(d).hexdigest(), "size": len(d), "mode": 0o600} for n, d in members.items()
    ]
    manifest = {"format": "stackctl-backup", "version": 1, "stack": "old", "database": "sqlite", "files": files}
    with tarfile.open(path, "w:gz") as tar:
        for name, data in [*members.items(), ("manifest.json", json.dumps(manifest).encode())]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def test_an_archive_of_the_earlier_format_still_restores(tmp_path: Path) -> None:
    stack = tmp_path / "one"
    assert run_cli("--dir", str(stack), "init", "--domain", ALICE).code == 0
    spec = stack / "stack.yaml"
    spec.write_text(spec.read_text().replace("kind: mariadb", "kind: sqlite"))
    storage, originals = _site_folder(stack, ALICE, "storage"), _site_folder(stack, ALICE, "originals")
    (storage / "sidecar").mkdir(parents=True)
    (storage / "sidecar/photo.yml").write_text("Title: old\n")
    with sqlite3.connect(storage / "index.db") as db:
        db.execute("CREATE TABLE photos (title TEXT)")
        db.execute("INSERT INTO photos VALUES ('old')")
    originals.mkdir(parents=True, exist_ok=True)
    (originals / "photo.jpg").write_bytes(b"old photo")
    archive = tmp_path / "v1.tar.gz"
    _version_1_archive(stack, archive)
    target = tmp_path / "restored"
    result = run_cli("restore", str(archive), "--dir", str(target), "--no-up", edges=fake_edges(FakeEngine(target)))
    assert result.code == 0, result.err
    assert _titles(target, ALICE) == ["old"]
    assert (_site_folder(target, ALICE, "originals") / "photo.jpg").read_bytes() == b"old photo"
    assert (_site_folder(target, ALICE, "storage") / "sidecar/photo.yml").read_text() == "Title: old\n"


def test_restoring_one_site_refuses_a_photo_that_differs_and_changes_nothing(stack: Path, tmp_path: Path) -> None:
    archive = _backup(stack, tmp_path / "all.tar.gz")
    (_site_folder(stack, BOB, "originals") / "photo.jpg").write_bytes(b"edited since the backup")
    before = hash_tree(stack)
    engine = FakeEngine(stack)
    result = run_cli("--dir", str(stack), "restore", str(archive), "--site", BOB, edges=fake_edges(engine))
    assert_refused(result, 2, "photo.jpg differs from the archive's copy, and a restore never replaces a photo", [])
    assert hash_tree(stack) == before and engine.applied == [] and engine.ran == []


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        (["--site", APP], f"--site {APP}: {APP} is an upstream site"),
        (["--site", BOB, "--no-up"], "--site restores into the running stack's own folders; --no-up does not apply"),
        (["--site", BOB, "--originals-to", "/tmp"], "--originals-to does not apply"),
    ],
)
def test_restoring_one_site_refuses_what_does_not_apply(
    stack: Path, tmp_path: Path, extra: list[str], fragment: str
) -> None:
    archive = _backup(stack, tmp_path / "all.tar.gz")
    before = hash_tree(stack)
    result = run_cli("--dir", str(stack), "restore", str(archive), *extra, edges=fake_edges(FakeEngine(stack)))
    assert_refused(result, 2, fragment, [])
    assert hash_tree(stack) == before


def test_restoring_one_site_needs_an_archive_that_holds_it(stack: Path, tmp_path: Path) -> None:
    alone = tmp_path / "alone"
    assert run_cli("--dir", str(alone), "init", "--domain", "carol.example.com").code == 0
    spec = alone / "stack.yaml"
    spec.write_text(spec.read_text().replace("kind: mariadb", "kind: sqlite"))
    archive = _backup(alone, tmp_path / "carol.tar.gz")
    result = run_cli("--dir", str(stack), "restore", str(archive), "--site", BOB, edges=fake_edges(FakeEngine(stack)))
    assert_refused(result, 2, f"the archive holds no data of {BOB} (its PhotoPrism sites: carol.example.com)", [])


def test_a_stack_without_a_photoprism_site_backs_up_its_own_files(tmp_path: Path) -> None:
    root = tmp_path / "apps"
    assert run_cli("--dir", str(root), "init", "--domain", ALICE).code == 0
    spec = root / "stack.yaml"
    text = spec.read_text()
    start = text.index("  - domain: ")
    spec.write_text(text[:start] + f"  - domain: {APP}\n    upstream: {{url: 'http://host.docker.internal:5000'}}\n")
    archive = _backup(root, tmp_path / "apps.tar.gz")  # no MariaDB running, and none needed
    manifest = _manifest(archive)
    assert manifest["sites"] == [] and {f["site"] for f in manifest["files"]} == {None}  # type: ignore[attr-defined]
