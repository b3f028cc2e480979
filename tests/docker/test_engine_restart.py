"""After a hitless reload, the Docker engine dies with everything it ran, as in a power cut, and starts
again: every service of the stack runs again by itself. The engine is a second dockerd in a network
namespace this test creates (its own data root), so the tier's engine is never disturbed; stackctl
runs inside that namespace, where the stack's ports are, and traffic stays there."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from tests.docker.conftest import TEST_IMAGES, Stack, make_stack
from tests.helpers import IN_CI, wait_until
from tests.netns import NamespacedEngine, network_namespace

REPO = Path(__file__).resolve().parents[2]
SERVICES = ("mariadb", "photoprism", "haproxy")


def _require_root() -> None:
    if os.geteuid() != 0:
        if IN_CI:
            pytest.fail("the engine-restart test needs root (a network namespace and a second dockerd)")
        pytest.skip("needs root: a network namespace and a second dockerd")


@pytest.fixture
def second_engine(docker_client: docker.DockerClient) -> Iterator[tuple[NamespacedEngine, docker.DockerClient]]:
    _require_root()
    with network_namespace("stkboot", "10.251.91.1", "10.251.91.2") as namespace:
        engine = NamespacedEngine(namespace, Path(tempfile.mkdtemp(prefix="stk-boot-", dir="/tmp")))
        try:
            client = engine.start()
            # The test images, copied over in one archive (their layers once each): nothing is pulled.
            save = subprocess.Popen(["docker", "save", *TEST_IMAGES.values()], stdout=subprocess.PIPE)
            load = subprocess.run(["docker", "-H", engine.socket, "load", "-q"], stdin=save.stdout, timeout=300)
            assert save.wait(timeout=60) == 0 and load.returncode == 0
            yield engine, client
        finally:
            engine.remove()


def _stackctl(engine: NamespacedEngine, stack: Stack, *argv: str) -> subprocess.CompletedProcess[str]:
    """This checkout's stackctl inside the namespace, talking to the namespace's engine."""
    return subprocess.run(
        [*engine.namespace.enter, sys.executable, "-m", "stackctl", "--dir", str(stack.root), *argv],
        capture_output=True, text=True, timeout=300, cwd=REPO, check=False,
        env={**os.environ, "DOCKER_HOST": engine.socket},
    )  # fmt: skip


def _all_running(client: docker.DockerClient, stack: Stack) -> bool:
    for service in SERVICES:
        state = client.containers.get(f"{stack.name}-{service}-1").attrs["State"]
        if state["Status"] != "running" or (state.get("Health") or {}).get("Status") not in (None, "healthy"):
            return False
    return True


def test_after_a_reload_every_service_runs_again_after_the_engine_restarts(
    second_engine: tuple[NamespacedEngine, docker.DockerClient], tmp_path: Path
) -> None:
    engine, client = second_engine
    with make_stack(client, tmp_path / "stack") as stack:
        up = _stackctl(engine, stack, "up", "--timeout", "180")
        assert up.returncode == 0, up.stderr + up.stdout
        stack.edit("aliases: []", "aliases: [photo.example.com]")
        reload = _stackctl(engine, stack, "up", "--timeout", "180")
        assert reload.returncode == 0 and "reloaded haproxy (config changed)" in reload.stdout, reload.stderr
        ids = {s: client.containers.get(f"{stack.name}-{s}-1").id for s in SERVICES}

        engine.power_cut()  # every process at once (dockerd, containerd, shims, containers), as a reboot
        client = engine.start()
        wait_until(lambda: _all_running(client, stack), 120, "every service to run again", every=0.5)
        assert {s: client.containers.get(f"{stack.name}-{s}-1").id for s in SERVICES} == ids

        seen: dict[str, str] = {}

        def healthy() -> bool:
            status = _stackctl(engine, stack, "status", "--json")
            seen["verdict"] = json.loads(status.stdout)["verdict"]
            return status.returncode == 0

        wait_until(healthy, 60, "status to be healthy after the engine restart", every=1.0)
        verify = _stackctl(engine, stack, "verify")
        assert verify.returncode == 0, verify.stdout + verify.stderr
