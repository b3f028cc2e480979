"""A single-site stack folder from before sites existed keeps working: the previous release of
stackctl (from this repository's history) creates and starts it, then this one runs `up` on it under
load. The containers, their data, the certificate and the secrets are kept, the only change is a
HAProxy reload for the new routing, and not one request fails."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tarfile
import time
from io import BytesIO
from pathlib import Path

import pytest

from tests.docker.conftest import Stack
from tests.h2client import H2Load
from tests.helpers import IN_CI, wait_until
from tests.load import FreshConnections, haproxy_log_problems

# The last commit before sites: stackctl as single-site users run it today.
BEFORE_SITES = "74d7c72"
REPO = Path(__file__).resolve().parents[2]
DOMAIN = "photos.example.com"


def _previous_release(target: Path) -> Path:
    try:
        archive = subprocess.run(
            ["git", "-C", str(REPO), "archive", BEFORE_SITES, "stackctl"], capture_output=True, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError) as e:
        if IN_CI:
            pytest.fail(f"the previous release {BEFORE_SITES} is not in this clone's history: {e}")
        pytest.skip(f"no git history with {BEFORE_SITES}")
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
    assert {k: v for k, v in _digests(stack.root / "certs").items() if k != "renewals.jsonl"} == {
        k: v for k, v in certs.items() if k != "renewals.jsonl"
    }
    # Only HAProxy's folder changes (the new routing); compose.yaml is byte for byte what it was.
    assert (stack.root / "compose/compose.yaml").read_text() == compose_before
    assert (stack.root / "compose/haproxy/hosts.map").read_text().splitlines()[1:] == [f"{DOMAIN} photoprism"]
    code, _, err = stack.cli("verify")
    assert code == 0, err
