"""Stacks that earlier versions of stackctl (from this repository's history) started keep working
under this one. A single-site stack folder from before sites existed: this one runs `up` on it under
load; the containers, their data, the certificate and the secrets are kept, the only change is a
HAProxy reload for the new routing, and not one request fails. A stack whose HAProxy an earlier
version reloaded through Docker's kill endpoint (which Docker counts as a manual stop): `status` says
it may not come back after a crash, `up` repairs that live, and the next crash heals by itself."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tarfile
import time
from io import BytesIO
from pathlib import Path

import pytest

from tests.crash import crash, wait_back
from tests.docker.conftest import Stack
from tests.h2client import H2Load
from tests.helpers import IN_CI, wait_until
from tests.load import FreshConnections, haproxy_log_problems

# The last commit before sites: stackctl as single-site users run it today.
BEFORE_SITES = "74d7c72"
# The last commit that reloaded HAProxy through Docker's kill endpoint, with restart: unless-stopped.
BEFORE_SELF_HEALING = "7464a62"
REPO = Path(__file__).resolve().parents[2]
DOMAIN = "photos.example.com"


def _previous_release(target: Path, commit: str = BEFORE_SITES) -> Path:
    try:
        archive = subprocess.run(
            ["git", "-C", str(REPO), "archive", commit, "stackctl"], capture_output=True, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError) as e:
        if IN_CI:
            pytest.fail(f"the previous release {commit} is not in this clone's history: {e}")
        pytest.skip(f"no git history with {commit}")
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(target, filter="data")
    return target


def _old_stackctl(code: Path, stack: Stack, *argv: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(code)}
    result = subprocess.run(
        [sys.executable, "-m", "stackctl", "--dir", str(stack.root), *argv],
        capture_output=True, text=True, env=env, check=False, timeout=300, cwd=code,  # not this checkout's
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result.stdout


def _digests(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.rglob("*") if p.is_file()
    }


def test_a_single_site_stack_from_before_sites_keeps_working_without_a_failed_request(
    stack: Stack, tmp_path: Path
) -> None:
    old = _previous_release(tmp_path / "previous")
    version = subprocess.run(
        [sys.executable, "-c", "import stackctl; print(stackctl.__file__)"], capture_output=True, text=True,
        env={**os.environ, "PYTHONPATH": str(old)}, check=True, cwd=old,
    ).stdout  # fmt: skip
    assert version.startswith(str(old)), version  # the old code runs, not this checkout's
    assert "Ready:" in _old_stackctl(old, stack, "up", "--timeout", "180")
    compose_before = (stack.root / "compose/compose.yaml").read_text()
    ids = stack.containers()
    secrets, certs = _digests(stack.root / "secrets"), _digests(stack.root / "certs")
    photoprism = stack.container("photoprism")
    assert photoprism.exec_run(["python3", "-c", "print(1)"]).exit_code == 0

    log_since = int(time.time()) - 1
    with H2Load(stack.https, DOMAIN, stack.ca) as h2, FreshConnections(stack.https, DOMAIN, stack.ca) as fresh:
        wait_until(lambda: h2.stats.ok > 100 and fresh.ok > 10, 30, "load before the new stackctl's up")
        started = time.monotonic()
        out = stack.up()
        wait_until(lambda: h2.stats.ok_after(started) > 100 and fresh.ok_after(started) > 10, 30, "load after")
    assert "reloaded haproxy (config changed)" in out and "recreating" not in out and "creating" not in out, out
    assert stack.containers() == ids  # every container kept, with its data
    assert h2.stats.failures == [] and fresh.failures == [], (h2.stats.failures[:3], fresh.failures[:3])
    assert haproxy_log_problems(stack.container("haproxy"), log_since) == []
    assert _digests(stack.root / "secrets") == secrets
    new = ("renewals.jsonl", "haproxy/_default.pem")  # the default certificate for unknown names is new
    assert {k: v for k, v in _digests(stack.root / "certs").items() if k not in new} == {
        k: v for k, v in certs.items() if k != "renewals.jsonl"
    }
    # Only HAProxy's folder changes (the new routing); compose.yaml only in its restart policies and in
    # HAProxy's env_file (the stats password is a hash in haproxy.cfg now): HAProxy's container is kept.
    restart_always = compose_before.replace("restart: unless-stopped", "restart: always")
    without_env = restart_always.replace("    env_file:\n    - ../secrets/haproxy.env\n", "", 1)
    assert (stack.root / "compose/compose.yaml").read_text() == without_env
    assert (stack.root / "compose/haproxy/hosts.map").read_text().splitlines()[1:] == [f"{DOMAIN} photoprism"]
    code, _, err = stack.cli("verify")
    assert code == 0, err


def test_a_stack_an_earlier_version_reloaded_is_repaired_live_and_then_heals_itself(
    stack: Stack, tmp_path: Path
) -> None:
    old = _previous_release(tmp_path / "previous", BEFORE_SELF_HEALING)
    _old_stackctl(old, stack, "up", "--timeout", "180")
    stack.edit("aliases: []", "aliases: [photo.example.com]")
    assert "reloaded haproxy (config changed)" in _old_stackctl(old, stack, "up", "--timeout", "180")
    ids = stack.containers()
    policies = {s: stack.container(s).attrs["HostConfig"]["RestartPolicy"]["Name"] for s in ids}
    assert set(policies.values()) == {"unless-stopped"}, policies

    code, out, _ = stack.cli("status", "--json")
    verdict = json.loads(out)["verdict"]
    assert code == 1 and "haproxy may not be restarted after a crash or reboot" in verdict, verdict
    assert "run stackctl up" in verdict

    with FreshConnections(stack.https, DOMAIN, stack.ca) as fresh:
        wait_until(lambda: fresh.ok > 10, 30, "load before the repair")
        started = time.monotonic()
        out = stack.up()
        wait_until(lambda: fresh.ok_after(started) > 10, 30, "load after the repair")
    assert fresh.failures == [], fresh.failures[:3]
    assert "restart policy unless-stopped -> always" in out and "recreating" not in out, out
    assert stack.containers() == ids  # repaired in place
    assert {s: stack.container(s).attrs["HostConfig"]["RestartPolicy"]["Name"] for s in ids} == dict.fromkeys(
        ids, "always"
    )
    code, out, _ = stack.cli("status", "--json")
    assert code == 0, json.loads(out)["verdict"]

    with FreshConnections(stack.https, DOMAIN, stack.ca) as fresh:
        wait_back(stack.client, crash(stack.client, f"{stack.name}-haproxy-1", "haproxy"))
        started = time.monotonic()
        wait_until(lambda: fresh.ok_after(started) > 10, 30, "HTTPS after the crash")
    code, out, err = stack.cli("verify")
    assert code == 0, out + err
