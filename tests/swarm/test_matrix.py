"""Every command on every stack shape: one sequence run on one site on one host, three sites (two
PhotoPrism, one upstream) on one host, and two PhotoPrism sites on a single-node Swarm:
init, up, status, verify, `certs renew` under load, `upgrade` to stand-in release 2 and a forced rollback
from release 3 (a broken one) with its database, backup, down, restore into a new folder (the same
serials, the same data), down. The releases come from the loopback registry, as a real release would."""

from __future__ import annotations

import contextlib
import itertools
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import pytest

from stackctl.certs.store import CertStore
from stackctl.config.spec import load_spec
from stackctl.health.probe import served_serial
from stackctl.health.target import probe_target
from tests.docker.conftest import UPSTREAM_IMAGE, Stack, make_stack
from tests.docker.releases import Release, pushed, released, remove_release
from tests.helpers import https_json, run_cli, wait_until
from tests.load import FreshConnections
from tests.swarm.conftest import SwarmStack, make_swarm_stack

ALICE, BOB, APP = "photos.example.com", "bob.example.com", "app.example.com"
PASSPHRASE = "a long passphrase for the matrix"
MAX_RENEWAL_GAP_S = 0.1  # the longest a client may wait for an answer while the certificate changes
GAPS = Path("/tmp/stackctl-matrix-gaps.json")  # the longest stretch without an answer per shape, for the notes


@dataclass(frozen=True)
class Shape:
    name: str
    swarm: bool
    sites: tuple[str, ...]  # the first is the one the stack was made with
    photoprism: tuple[str, ...]


SHAPES = [
    Shape("one-site", False, (ALICE,), (ALICE,)),
    Shape("three-sites", False, (ALICE, BOB, APP), (ALICE, BOB)),
    Shape("swarm-two-photoprism", True, (ALICE, BOB), (ALICE, BOB)),
]


@contextlib.contextmanager
def _stack(shape: Shape, client: docker.DockerClient, folder: Path, registry: str) -> Iterator[Stack | SwarmStack]:
    made = make_swarm_stack(client, folder) if shape.swarm else make_stack(client, folder, sites_form=True)
    with made as stack:
        for domain in shape.sites[1:]:
            app = ["--image", pushed(client, registry, UPSTREAM_IMAGE), "--port", "8080", "--health", "/health"]
            extra = app if domain == APP else []
            code, _, err = stack.cli("sites", "add", domain, *extra)
            assert code == 0, err
        yield stack


def _photos(root: Path, https: int, domain: str) -> dict[str, Any]:
    status, body = https_json(https, domain, str(root / "certs/ca/ca.crt"), "GET", "/api/v1/photos")
    assert status == 200, (domain, status)
    return body


def _serials(root: Path, domains: tuple[str, ...]) -> dict[str, str | None]:
    spec, store = load_spec(root / "stack.yaml"), CertStore(root / "certs")
    return {d: served_serial(probe_target(spec, spec.site(d), store, root / "certs/ca/ca.crt")) for d in domains}


def _longest_gap(load: FreshConnections, since: float) -> float:
    times = [since, *(t for t in load.ok_times if t >= since)]
    return max(b - a for a, b in itertools.pairwise(times)) if len(times) > 1 else float("inf")


def _record_gap(shape: Shape, gap_s: float, failed: int) -> None:
    found = json.loads(GAPS.read_text()) if GAPS.exists() else {}
    found[shape.name] = {"renewal_gap_s": round(gap_s, 3), "failed": failed}
    GAPS.write_text(json.dumps(found, indent=1))


def _renew_under_load(shape: Shape, stack: Stack | SwarmStack) -> None:
    before = _serials(stack.root, shape.sites)
    load = FreshConnections(stack.https, shape.sites[0], stack.ca)
    with load:
        wait_until(lambda: load.ok > 5, 30, "load before the renewal")
        started = time.monotonic()
        code, _, err = stack.cli("certs", "renew", "--force")
        done = time.monotonic()
        wait_until(lambda: load.ok_after(done) > 5, 60, "load after the renewal")
    assert code == 0, err
    after = _serials(stack.root, shape.sites)
    assert all(after[d] != before[d] for d in shape.sites), (before, after)  # every site's new certificate
    gap = _longest_gap(load, started)
    _record_gap(shape, gap, len(load.failures))
    assert load.failures == [], load.failures[:5]
    assert gap < MAX_RENEWAL_GAP_S, gap


def _upgrade_then_roll_back(shape: Shape, stack: Stack | SwarmStack, release: Release) -> None:
    for domain in shape.photoprism:
        status, _ = https_json(stack.https, domain, stack.ca, "POST", f"/api/v1/photos?title={domain}")
        assert status == 201, (domain, status)
    release.publish(2)
    code, out, _ = stack.cli("upgrade", "--check")
    assert code == 100, out
    code, out, err = stack.cli("upgrade", "--timeout", "180")
    assert code == 0, err + out
    for domain in shape.photoprism:
        assert _photos(stack.root, stack.https, domain) == {"version": 2, "schema": 2, "photos": [domain]}
    release.publish(3)  # migrates the schema, then never becomes healthy
    code, out, err = stack.cli("upgrade", "--timeout", "240" if shape.swarm else "30")
    assert code == 1, out
    assert ("Swarm rolled back" if shape.swarm else "rolled back to") in err, err
    for domain in shape.photoprism:  # release 2 serves again, on its own schema: the database went back too
        assert _photos(stack.root, stack.https, domain) == {"version": 2, "schema": 2, "photos": [domain]}
    release.publish(2)  # release 3 withdrawn: what a restore pulls later is release 2 again


def _backup_down_restore(shape: Shape, stack: Stack | SwarmStack, folder: Path) -> None:
    secret = folder / "passphrase"
    secret.write_text(PASSPHRASE + "\n")
    code, _, err = stack.cli("backup", "--passphrase-file", str(secret), "--to", str(folder))
    assert code == 0, err
    archive = next(folder.glob("*.stackctl-backup"))
    serials = _serials(stack.root, shape.sites)
    photos = {d: _photos(stack.root, stack.https, d) for d in shape.photoprism}
    code, _, err = stack.cli("down")
    assert code == 0, err
    target = folder / "restored"
    result = run_cli("restore", str(archive), "--dir", str(target), "--passphrase-file", str(secret), "--timeout",
                     "240")  # fmt: skip
    try:
        assert result.code == 0, result.err + result.out
        assert _serials(target, shape.sites) == serials  # the same certificates
        assert {d: _photos(target, stack.https, d) for d in shape.photoprism} == photos  # the same data
        assert run_cli("--dir", str(target), "verify").code == 0
    finally:
        down = run_cli("--dir", str(target), "down")
    assert down.code == 0, down.err


@pytest.mark.parametrize("shape", SHAPES, ids=[s.name for s in SHAPES])
def test_every_command_on_every_stack_shape(
    shape: Shape, registry: str, swarm: docker.DockerClient, tmp_path: Path
) -> None:
    with _stack(shape, swarm, tmp_path / "stack", registry) as stack:
        release = released(stack, registry)
        try:
            code, out, err = stack.cli("up", "--timeout", "240")
            assert code == 0, err + out
            code, out, _ = stack.cli("status", "--json")
            report = json.loads(out)
            assert code == 0 and [s["domain"] for s in report["sites"]] == list(shape.sites), report["verdict"]
            code, out, _ = stack.cli("verify")
            assert code == 0, out
            _renew_under_load(shape, stack)
            _upgrade_then_roll_back(shape, stack, release)
            _backup_down_restore(shape, stack, tmp_path)
        finally:
            stack.cli("down")
    remove_release(release)
