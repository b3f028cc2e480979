"""`stackctl upgrade` against a real registry (Debian's docker-registry on 127.0.0.1:5555, started by
tests/registry.sh): PhotoPrism stand-in releases v1, v2 (a schema change) and v3 (never healthy) are
published under one tag, as a real release would be, and pulled with `pull: always`."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from tests.crash import crashes_under_load
from tests.docker.conftest import TEST_IMAGES, Stack, make_stack
from tests.docker.releases import Release, released, remove_release
from tests.helpers import default_sigint, https_json

DOMAIN = "photos.example.com"


@pytest.fixture
def release_stack(registry: str, docker_client: docker.DockerClient, tmp_path: Path) -> Iterator[tuple[Stack, Release]]:
    with make_stack(docker_client, tmp_path / "stack") as stack:
        release = released(stack, registry)
        yield stack, release
    remove_release(release)


def _api(stack: Stack, method: str, path: str) -> tuple[int, dict[str, object]]:
    status, body = https_json(stack.https, DOMAIN, stack.ca, method, path)
    return status, body if status < 400 else {}


def _photos(stack: Stack) -> dict[str, object]:
    code, document = _api(stack, "GET", "/api/v1/photos")
    assert code == 200, code
    return document


def _every_service_heals_after_a_crash(stack: Stack) -> None:
    """What an upgrade or a rollback created comes back by itself after a crash, under load."""
    with crashes_under_load(stack.client, stack.name, stack.https, DOMAIN, stack.ca) as crashes:
        crashes.crash("haproxy", "photoprism", "mariadb")
    assert crashes.failures_outside_haproxy_crashes() == []


def _last(stack: Stack, event: str) -> dict[str, object]:
    lines = (stack.root / "upgrades.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines if json.loads(line)["event"] == event][-1]


def test_upgrade_migrates_keeps_the_data_and_rolls_a_broken_release_back(release_stack: tuple[Stack, Release]) -> None:
    stack, release = release_stack
    out = stack.up()
    assert "pulling" in out  # the progress bar drew a real pull
    assert _api(stack, "POST", "/api/v1/photos?title=sunset")[0] == 201
    assert _photos(stack) == {"version": 1, "schema": 1, "photos": ["sunset"]}

    code, out, _ = stack.cli("upgrade", "--check")
    assert code == 0 and "every service runs its newest image" in out
    release.publish(2)
    code, out, _ = stack.cli("upgrade", "--check")
    assert code == 100 and "update waiting: photoprism" in out and "version 2.0.0" in out
    assert _photos(stack)["version"] == 1  # --check changes nothing

    v1_image = stack.container("photoprism").image.id
    code, out, err = stack.cli("upgrade", "--timeout", "120")
    assert code == 0, err
    assert "dumped the database" in out and "Upgraded photoprism; HTTPS verified." in out
    with pytest.raises(docker.errors.ImageNotFound):  # pulled by this stack, unused now: removed after success
        stack.client.images.get(v1_image)
    assert stack.client.images.get(TEST_IMAGES["mariadb"])  # what the stack did not pull stays
    assert _photos(stack) == {"version": 2, "schema": 2, "photos": ["sunset"]}
    dumps = sorted((stack.root / "backups").glob("*-mariadb.sql"))
    assert len(dumps) == 1 and b"INSERT INTO `photos`" in dumps[0].read_bytes()
    assert oct(dumps[0].stat().st_mode & 0o777) == "0o600"
    assert oct((stack.root / "backups").stat().st_mode & 0o777) == "0o700"
    assert _last(stack, "upgrade")["result"] == "upgraded"
    code, out, _ = stack.cli("status", "--json")
    assert json.loads(out)["upgrade"]["last"]["result"] == "upgraded"
    _every_service_heals_after_a_crash(stack)
    assert _photos(stack) == {"version": 2, "schema": 2, "photos": ["sunset"]}

    release.publish(3)
    code, out, err = stack.cli("upgrade", "--timeout", "40")
    assert code == 1 and "rolled back to" in err and "verified over HTTPS" in err, err
    assert len(err.strip().splitlines()) == 1
    # v3 migrated the schema to 3 before it failed; the dump put v2's database back.
    assert _photos(stack) == {"version": 2, "schema": 2, "photos": ["sunset"]}
    assert _last(stack, "rollback")["result"] == "rolled-back"
    # The tag points at the image that works again; the failed one is not removed (only a success removes).
    assert stack.client.images.get(release.reference).id == stack.container("photoprism").image.id
    assert stack.client.images.get(str(_last(stack, "rollback")["to"]["id"]))
    code, out, _ = stack.cli("verify")
    assert code == 0
    _every_service_heals_after_a_crash(stack)
    assert _photos(stack) == {"version": 2, "schema": 2, "photos": ["sunset"]}
    ids = stack.containers()
    stack.edit("pull: always", "pull: missing")
    stack.up()
    assert stack.containers() == ids and _photos(stack)["version"] == 2  # `up` keeps the version that works
    code, out, _ = stack.cli("status", "--json")
    assert json.loads(out)["upgrade"]["last"]["result"] == "rolled-back"


def test_an_interrupted_upgrade_ends_healthy_on_one_version_with_its_data(release_stack: tuple[Stack, Release]) -> None:
    stack, release = release_stack
    stack.up()
    assert _api(stack, "POST", "/api/v1/photos?title=harbour")[0] == 201
    release.publish(2)
    delay = random.uniform(0.3, 6.0)
    print(f"killing the upgrade after {delay:.2f}s")
    upgrade = subprocess.Popen(
        [sys.executable, "-m", "stackctl", "--dir", str(stack.root), "upgrade", "--timeout", "120"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=default_sigint,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])},
    )  # fmt: skip
    try:
        upgrade.wait(timeout=delay)
    except subprocess.TimeoutExpired:
        upgrade.send_signal(signal.SIGKILL)
        upgrade.wait()
    stack.up()  # repairs whatever state the kill left
    document = _photos(stack)
    assert document["version"] in (1, 2) and document["photos"] == ["harbour"]
    assert document["schema"] == document["version"]
    code, _, err = stack.cli("upgrade", "--timeout", "120")
    assert code == 0, err
    assert _photos(stack) == {"version": 2, "schema": 2, "photos": ["harbour"]}
    started = time.monotonic()
    assert stack.cli("verify")[0] == 0 and time.monotonic() - started < 60
