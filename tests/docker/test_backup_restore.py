"""The backup round trip with real containers: data written through the PhotoPrism stand-in into
MariaDB, a sidecar, originals; backup; down --volumes and the folder removed; restore into a new
folder: the same certificate serial served, the same data, verified over HTTPS."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

from stackctl.health.probe import served_serial
from tests.crash import crashes_under_load
from tests.docker.conftest import Stack, remove_project
from tests.helpers import first_site_target, https_json, run_cli

DOMAIN = "photos.example.com"


def _api(stack_root: Path, https: int, method: str, path: str) -> dict[str, object]:
    status, body = https_json(https, DOMAIN, str(stack_root / "certs/ca/ca.crt"), method, path)
    assert status in (200, 201), (method, path, status)
    return body


def _tree_digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.rglob("*")
            if p.is_file()}  # fmt: skip


def test_backup_then_restore_into_a_new_folder_serves_the_same_certificate_and_data(
    stack: Stack, tmp_path: Path
) -> None:
    stack.up()
    _api(stack.root, stack.https, "POST", "/api/v1/photos?title=lighthouse")
    (stack.root / "storage/sidecar/2024").mkdir(parents=True)
    (stack.root / "storage/sidecar/2024/lighthouse.yml").write_text("Title: Lighthouse\n")
    (stack.root / "originals/lighthouse.jpg").write_bytes(bytes(range(256)) * 4000)
    originals = _tree_digest(stack.root / "originals")
    serial = served_serial(first_site_target(stack.root))
    secret = tmp_path / "passphrase"
    secret.write_text("a long passphrase for the drill\n")
    archive = tmp_path / "drill.stackctl-backup"

    code, out, err = stack.cli("backup", "--with-originals", "--passphrase-file", str(secret), "--to", str(archive))
    assert code == 0, err
    assert "encrypted" in out
    code, out, err = stack.cli("down", "--volumes")
    assert code == 0, err
    shutil.rmtree(stack.root)

    target = tmp_path / "restored"
    result = run_cli("restore", str(archive), "--dir", str(target), "--passphrase-file", str(secret))
    assert result.code == 0, result.err
    assert "every SHA-256 matches" in result.out and "Ready:" in result.out
    try:
        restored_serial = served_serial(first_site_target(target))
        assert restored_serial == serial  # the same certificate, not a new one
        assert _api(target, stack.https, "GET", "/api/v1/photos")["photos"] == ["lighthouse"]
        assert (target / "storage/sidecar/2024/lighthouse.yml").read_text() == "Title: Lighthouse\n"
        assert _tree_digest(target / "originals") == originals  # byte-identical
        assert oct((target / "secrets").stat().st_mode & 0o777) == "0o700"
        assert oct((target / "certs/ca/ca.key").stat().st_mode & 0o777) == "0o600"
        assert run_cli("--dir", str(target), "verify").code == 0
        ca = str(target / "certs/ca/ca.crt")
        with crashes_under_load(stack.client, stack.name, stack.https, DOMAIN, ca) as crashes:
            crashes.crash("haproxy", "photoprism", "mariadb")
        assert crashes.failures_outside_haproxy_crashes() == []
        assert _api(target, stack.https, "GET", "/api/v1/photos")["photos"] == ["lighthouse"]
    finally:
        remove_project(stack.client, stack.name)
