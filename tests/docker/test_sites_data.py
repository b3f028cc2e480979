"""backup, restore and upgrade of a stack with several PhotoPrism sites, on the real engine: two
PhotoPrism stand-ins sharing MariaDB next to an upstream app.
- One site is put back from an archive into the running stack while the others serve without a failed
  request; what it held before is kept.
- The whole stack restores into a new folder with each site's data, certificate and serial.
- An upgrade dumps, replaces and health-checks each site on its own: the site whose instance breaks on
  the new release is rolled back with its database, while the other stays upgraded."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import docker

from stackctl.certs.store import CertStore
from stackctl.config.spec import load_spec
from stackctl.health.probe import served_serial
from stackctl.health.target import probe_target
from tests.crash import crashes_under_load
from tests.docker.conftest import UPSTREAM_IMAGE, Stack, make_stack, remove_project
from tests.docker.releases import released, remove_release
from tests.helpers import https_json, run_cli, wait_until
from tests.load import FreshConnections

ALICE, BOB, APP = "photos.example.com", "bob.example.com", "app.example.com"
NAMES = {ALICE: "alice", BOB: "bob"}
PASSPHRASE = "a long passphrase for the drill"


def _add_sites(stack: Stack, *extra: tuple[str, ...]) -> None:
    for argv in (("sites", "add", BOB), *extra):
        code, _, err = stack.cli(*argv)
        assert code == 0, err


def _photos(root: Path, https: int, domain: str) -> dict[str, object]:
    status, body = https_json(https, domain, str(root / "certs/ca/ca.crt"), "GET", "/api/v1/photos")
    assert status == 200, (domain, status)
    return body


def _add_photo(stack: Stack, domain: str, title: str) -> None:
    status, _ = https_json(stack.https, domain, stack.ca, "POST", f"/api/v1/photos?title={title}")
    assert status == 201, (domain, status)


def _folder(root: Path, domain: str, folder: str) -> Path:
    pp = load_spec(root / "stack.yaml").site(domain).photoprism
    assert pp is not None
    return root / (pp.originals if folder == "originals" else pp.storage)


def _serials(root: Path, domains: tuple[str, ...]) -> dict[str, str | None]:
    spec, store = load_spec(root / "stack.yaml"), CertStore(root / "certs")
    return {d: served_serial(probe_target(spec, spec.site(d), store, root / "certs/ca/ca.crt")) for d in domains}


def test_one_site_restores_into_the_running_stack_and_the_whole_stack_into_a_new_folder(
    docker_client: docker.DockerClient, tmp_path: Path
) -> None:
    with make_stack(docker_client, tmp_path / "stack", sites_form=True) as stack:
        _add_sites(stack, ("sites", "add", APP, "--image", UPSTREAM_IMAGE, "--port", "8080", "--health", "/health"))
        stack.up()
        for domain in (ALICE, BOB):
            _add_photo(stack, domain, f"{NAMES[domain]}-before")
            (_folder(stack.root, domain, "storage") / "sidecar").mkdir(parents=True, exist_ok=True)
            (_folder(stack.root, domain, "storage") / "sidecar/photo.yml").write_text(f"Title: {domain}\n")
            (_folder(stack.root, domain, "originals") / "photo.jpg").write_bytes(domain.encode() * 5000)
        serials = _serials(stack.root, (ALICE, BOB, APP))
        secret = tmp_path / "passphrase"
        secret.write_text(PASSPHRASE + "\n")
        archive = tmp_path / "family.stackctl-backup"
        code, out, err = stack.cli("backup", "--with-originals", "--passphrase-file", str(secret), "--to", str(archive))
        assert code == 0, err

        # Since the backup: a photo in each library, and Bob's sidecar changed.
        _add_photo(stack, ALICE, "alice-after")
        _add_photo(stack, BOB, "bob-after")
        (_folder(stack.root, BOB, "storage") / "sidecar/photo.yml").write_text("Title: changed\n")
        loads = [FreshConnections(stack.https, host, stack.ca, path=path) for host, path in
                 ((ALICE, "/api/v1/status"), (APP, "/health"))]  # fmt: skip
        with loads[0], loads[1]:
            wait_until(lambda: all(f.ok > 5 for f in loads), 30, "load before the restore")
            started = time.monotonic()
            code, out, err = stack.cli("restore", str(archive), "--site", BOB, "--passphrase-file", str(secret))
            wait_until(lambda: all(f.ok_after(started) > 5 for f in loads), 30, "load after the restore")
        assert code == 0, err
        assert f"Restored {BOB} from {archive.name}" in out and f"{BOB} serves again; HTTPS verified" in out
        for load in loads:
            assert load.failures == [], load.failures[:5]  # the other sites never noticed
        assert _photos(stack.root, stack.https, BOB)["photos"] == ["bob-before"]
        assert _photos(stack.root, stack.https, ALICE)["photos"] == ["alice-before", "alice-after"]
        assert (_folder(stack.root, BOB, "storage") / "sidecar/photo.yml").read_text() == f"Title: {BOB}\n"
        kept = [p for p in _folder(stack.root, BOB, "storage").parent.iterdir() if ".before-restore-" in p.name]
        assert len(kept) == 1 and (kept[0] / "sidecar/photo.yml").read_text() == "Title: changed\n"
        kept_dump = next((stack.root / "backups").glob("*-bob-example-com-*-mariadb.sql"))
        assert b"bob-after" in kept_dump.read_bytes()  # what Bob's library held before the restore
        assert "1 originals already in place" in out  # the photo was identical: not written again
        # The container the restore started comes back by itself after a crash, as any other.
        with crashes_under_load(stack.client, stack.name, stack.https, BOB, stack.ca) as crashes:
            crashes.crash("photoprism-bob-example-com")
        assert crashes.failures_outside_haproxy_crashes() == []
        assert _photos(stack.root, stack.https, BOB)["photos"] == ["bob-before"]

        code, _, err = stack.cli("down", "--volumes")
        assert code == 0, err
        shutil.rmtree(stack.root)
        target = tmp_path / "restored"
        result = run_cli("restore", str(archive), "--dir", str(target), "--passphrase-file", str(secret))
        assert result.code == 0, result.err
        try:
            assert _serials(target, (ALICE, BOB, APP)) == serials  # each site's own certificate, not new ones
            assert _photos(target, stack.https, ALICE)["photos"] == ["alice-before"]
            assert _photos(target, stack.https, BOB)["photos"] == ["bob-before"]
            for domain in (ALICE, BOB):
                assert (_folder(target, domain, "originals") / "photo.jpg").read_bytes() == domain.encode() * 5000
                assert (_folder(target, domain, "storage") / "sidecar/photo.yml").read_text() == f"Title: {domain}\n"
            assert run_cli("--dir", str(target), "verify").code == 0
        finally:
            remove_project(stack.client, stack.name)


def test_each_site_is_upgraded_on_its_own_and_a_site_that_breaks_is_rolled_back_alone(
    registry: str,
    docker_client: docker.DockerClient,
    tmp_path: Path,
) -> None:
    with make_stack(docker_client, tmp_path / "stack", sites_form=True) as stack:
        release = released(stack, registry)
        _add_sites(stack)
        # Bob's instance breaks from release 2 on (the stand-in's STANDIN_BROKEN_FROM): a release that breaks
        # one library only.
        stack.edit(f"- domain: {BOB}\n    photoprism: {{}}",
                   f'- domain: {BOB}\n    photoprism: {{env: {{STANDIN_BROKEN_FROM: "2"}}}}')  # fmt: skip
        stack.up()
        for domain in (ALICE, BOB):
            _add_photo(stack, domain, NAMES[domain])
        release.publish(2)
        code, out, _ = stack.cli("upgrade", "--check")
        assert code == 100, out
        assert f"for {ALICE}" in out and f"for {BOB}" in out
        code, out, _ = stack.cli("upgrade", "--check", "--site", BOB)
        assert code == 100 and f"for {BOB}" in out and f"for {ALICE}" not in out, out

        code, out, err = stack.cli("upgrade", "--timeout", "30")
        assert code == 1, out
        assert f"{ALICE}: upgraded" in out and f"{BOB}: rolled back" in out, out
        assert "upgrading photoprism-bob-example-com" in err and "rolled back to" in err, err
        assert _photos(stack.root, stack.https, ALICE) == {"version": 2, "schema": 2, "photos": ["alice"]}
        # Bob's database went back with his image: the schema release 2 migrated is undone.
        assert _photos(stack.root, stack.https, BOB) == {"version": 1, "schema": 1, "photos": ["bob"]}
        log = [json.loads(line) for line in (stack.root / "upgrades.jsonl").read_text().splitlines()]
        outcomes = {entry.get("site"): entry["result"] for entry in log if entry["event"] in ("upgrade", "rollback")}
        assert outcomes == {ALICE: "upgraded", BOB: "rolled-back"}, outcomes
        code, out, _ = stack.cli("verify")
        assert code == 0, out
    remove_release(release)
