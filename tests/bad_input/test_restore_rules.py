"""What restore may write: it names every folder outside the target it will write into, never replaces a
file already there (unless --originals-to / --storage-to send the files elsewhere), never restores a
setuid, setgid or world-writable mode, and refuses every damaged archive, plain or encrypted, with one
line and exit 2."""

from __future__ import annotations

import gzip
import os
import random
import shutil
import stat
import zlib
from pathlib import Path

import pytest

from tests.bad_input.conftest import assert_refused
from tests.fakes import FakeEngine, fake_edges
from tests.helpers import hash_tree, run_cli
from tests.test_backup import PASSPHRASE, _stack


def _stack_with_photos_outside(tmp_path: Path) -> tuple[Path, Path]:
    root = _stack(tmp_path / "stack")
    photos = tmp_path / "photos"
    shutil.move(root / "originals", photos)
    spec = root / "stack.yaml"
    spec.write_text(spec.read_text().replace("originals: ./originals ", f"originals: {photos} "))
    (root / "storage/sidecar/2024/beach.yml").chmod(0o4777)  # setuid and world-writable: never restored
    return root, photos


def _backup(root: Path, to: Path, *extra: str) -> Path:
    result = run_cli("--dir", str(root), "backup", "--with-originals", *extra, "--to", str(to),
                     edges=fake_edges(FakeEngine(root)))  # fmt: skip
    assert result.code == 0, result.err
    return to


def _restore(archive: Path, target: Path, *extra: str) -> tuple[int, str, str]:
    result = run_cli("restore", str(archive), "--dir", str(target), "--no-up", *extra,
                     edges=fake_edges(FakeEngine(target)))  # fmt: skip
    return result.code, result.out, result.err


@pytest.fixture
def plain(tmp_path: Path) -> tuple[Path, Path, Path]:
    root, photos = _stack_with_photos_outside(tmp_path)
    return root, photos, _backup(root, tmp_path / "plain.tar.gz", "--no-encrypt")


def test_an_existing_photo_outside_the_target_is_never_replaced(plain: tuple[Path, Path, Path], tmp_path: Path) -> None:
    _, photos, archive = plain
    (photos / "sunset.jpg").write_bytes(b"edited since the backup")
    before = hash_tree(photos)
    code, _, err = _restore(archive, tmp_path / "new")
    assert_refused(type("R", (), {"code": code, "err": err, "out": ""})(), 2,  # type: ignore[arg-type]
                   f"{photos} already holds sunset.jpg", [])  # fmt: skip
    assert "--originals-to DIR" in err
    assert hash_tree(photos) == before and not (tmp_path / "new").exists()


def test_originals_to_sends_the_photos_elsewhere_and_stack_yaml_follows(
    plain: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    _, photos, archive = plain
    before = hash_tree(photos)
    elsewhere = tmp_path / "restored-photos"
    code, out, err = _restore(archive, tmp_path / "new", "--originals-to", str(elsewhere))
    assert code == 0, err
    assert f"will write 1 originals files of photos.example.com into {elsewhere} (outside {tmp_path / 'new'}" in out
    assert (elsewhere / "sunset.jpg").read_bytes() == (photos / "sunset.jpg").read_bytes()
    assert hash_tree(photos) == before
    assert f"originals: {elsewhere}" in (tmp_path / "new/stack.yaml").read_text()
    assert "# your photos; never deleted by stackctl" in (tmp_path / "new/stack.yaml").read_text()  # comments kept


def test_a_free_folder_outside_the_target_is_named_before_it_is_written(tmp_path: Path) -> None:
    root, photos = _stack_with_photos_outside(tmp_path)
    archive = _backup(root, tmp_path / "plain.tar.gz", "--no-encrypt")
    shutil.rmtree(photos)  # lost with the machine: the restore puts them back where they were
    code, out, err = _restore(archive, tmp_path / "new")
    assert code == 0, err
    assert out.index(f"will write 1 originals files of photos.example.com into {photos}") < out.index("Restored stack")
    assert (photos / "sunset.jpg").exists()


def test_no_restored_file_is_setuid_setgid_or_world_writable(plain: tuple[Path, Path, Path], tmp_path: Path) -> None:
    _, _, archive = plain
    code, _, err = _restore(archive, tmp_path / "new", "--originals-to", str(tmp_path / "elsewhere"))
    assert code == 0, err
    for folder in (tmp_path / "new", tmp_path / "elsewhere"):
        for path in folder.rglob("*"):
            mode = path.lstat().st_mode
            assert not mode & (stat.S_ISUID | stat.S_ISGID | stat.S_IWOTH), f"{path}: {stat.filemode(mode)}"
    assert stat.S_IMODE((tmp_path / "new/storage/sidecar/2024/beach.yml").stat().st_mode) == 0o775


def _same_tar(gzipped: bytes, original: bytes) -> bool:
    try:
        return gzip.decompress(gzipped) == gzip.decompress(original)
    except (OSError, EOFError, zlib.error):
        return False


@pytest.mark.parametrize("sealed", [False, True], ids=["plain", "encrypted"])
def test_every_damaged_archive_is_one_line_and_exit_2(tmp_path: Path, sealed: bool) -> None:
    root = _stack(tmp_path / "stack")
    secret = tmp_path / "passphrase"
    secret.write_text(PASSPHRASE + "\n")
    extra = ["--passphrase-file", str(secret)] if sealed else ["--no-encrypt"]
    data = _backup(root, tmp_path / "archive", *extra).read_bytes()
    rng = random.Random(2026)
    cases = [b""] + [data[:n] for n in rng.sample(range(1, len(data)), 8)]
    for offset in rng.sample(range(len(data)), 8):
        flipped = bytearray(data)
        flipped[offset] ^= 1 << rng.randrange(8)
        cases.append(bytes(flipped))
    damaged, target = tmp_path / "damaged", tmp_path / "never"
    for case in cases:
        damaged.write_bytes(case)
        code, out, err = _restore(damaged, target, *(["--passphrase-file", str(secret)] if sealed else []))
        if not sealed and code == 0 and _same_tar(case, data):
            # Some bits of a plain archive's gzip stream no checksum covers and nothing reads back (the
            # header's time and OS bytes, the last byte's padding): flipped, the same files come back.
            shutil.rmtree(target)
            continue
        assert code == 2 and len(err.strip().splitlines()) == 1, (len(case), err)
        assert err.startswith("error: ") and "unexpected failure" not in err and "Traceback" not in err + out
        assert not target.exists(), "nothing may be written"


def test_originals_to_a_file_or_a_fifo_is_refused_writing_nothing(
    plain: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    _, _, archive = plain
    (tmp_path / "a-file").write_text("mine")
    os.mkfifo(tmp_path / "a-fifo")
    for where in ("a-file", "a-fifo"):
        code, _, err = _restore(archive, tmp_path / "new", "--originals-to", str(tmp_path / where))
        assert code == 2 and err.startswith(f"error: --originals-to {tmp_path / where}: is not a folder — "), err
        assert not (tmp_path / "new").exists()
    assert (tmp_path / "a-file").read_text() == "mine"
