"""Failures a user meets: a port taken, no engine, a config the image rejects, images not to be had."""

from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path

import pytest

from tests.docker.conftest import TEST_IMAGES, Stack
from tests.helpers import default_sigint, free_port, hash_tree, run_cli


def _one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def test_host_port_already_taken_names_the_port_and_starts_nothing(stack: Stack) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", stack.https))
        squatter.listen()
        code, _, err = stack.cli("up", "--timeout", "60")
    line = _one_line(err)
    assert code == 1
    assert f"port {stack.https}" in line and "already in use" in line and f"(pid {os.getpid()})" in line
    assert stack.containers() == {}


def test_dead_docker_host_is_one_line(stack: Stack, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")
    before = hash_tree(stack.root)
    code, _, err = stack.cli("up")
    line = _one_line(err)
    assert code == 1
    assert "failed to connect to the Docker engine" in line and "no-engine.sock" in line
    assert hash_tree(stack.root) == before  # nothing written when the engine is not there


def test_config_rejected_by_the_image_changes_no_container(stack: Stack) -> None:
    stack.up()
    ids = stack.containers()
    cfg = (stack.root / "compose/haproxy/haproxy.cfg").read_text()
    stack.edit("aliases: []", "aliases: [photo.example.com]")
    stack.cli("certs", "create", "--force")
    broken = stack.root / "certs/haproxy/broken.pem"
    broken.write_text("-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n")
    code, _, err = stack.cli("up", "--timeout", "60")
    line = _one_line(err)
    assert code == 1 and "rejects the HAProxy configuration" in line
    assert stack.containers() == ids
    assert all(stack.client.containers.get(i).status == "running" for i in ids.values())
    assert (stack.root / "compose/haproxy/haproxy.cfg").read_text() == cfg  # the running config stays


def test_unreachable_registry_is_one_line(stack: Stack) -> None:
    closed = free_port()
    stack.edit("pull: never", "pull: missing")
    stack.edit('"stackctl-test/photoprism:standin"', f'"127.0.0.1:{closed}/photoprism/photoprism:none"')
    code, _, err = stack.cli("up", "--timeout", "60")
    line = _one_line(err)
    assert code == 1 and f"failed to pull 127.0.0.1:{closed}/photoprism/photoprism:none" in line
    assert stack.containers() == {}


def test_missing_image_with_pull_never_names_it(stack: Stack) -> None:
    stack.edit(f'"{TEST_IMAGES["mariadb"]}"', '"stackctl-test/mariadb:does-not-exist"')
    code, _, err = stack.cli("up", "--timeout", "60")
    line = _one_line(err)
    assert code == 1 and "stackctl-test/mariadb:does-not-exist is not present and pull is never" in line


def test_docker_host_error_without_a_stack_folder_is_still_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKER_HOST", "tcp://127.0.0.1:1")
    assert run_cli("--dir", str(tmp_path), "init", "--domain", "photos.example.com").code == 0
    result = run_cli("--dir", str(tmp_path), "down")
    assert result.code == 1 and "failed to connect to the Docker engine at tcp://127.0.0.1:1" in _one_line(result.err)


def test_ctrl_c_during_up_exits_130_and_the_next_up_repairs(stack: Stack) -> None:
    import signal
    import subprocess
    import sys

    proc = subprocess.Popen(
        [sys.executable, "-m", "stackctl", "--dir", str(stack.root), "up", "--timeout", "120"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=default_sigint,
    )  # fmt: skip
    assert proc.stdout is not None
    for line in proc.stdout:
        if "waiting for mariadb" in line:
            break
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    stack.up()
    assert set(stack.containers()) == {"mariadb", "photoprism", "haproxy"}


def test_a_container_exiting_during_start_shows_its_last_log_lines(stack: Stack) -> None:
    # The HAProxy image run as "photoprism" exits at once (no config): a real crash at start.
    stack.edit(f'"{TEST_IMAGES["photoprism"]}"', f'"{TEST_IMAGES["haproxy"]}"')
    code, _, err = stack.cli("up", "--timeout", "60")
    line = _one_line(err)
    assert code == 1
    assert "photoprism exited during start" in line and "haproxy" in line.lower()


def test_timeout_names_the_step_that_is_not_ready(stack: Stack) -> None:
    code, _, err = stack.cli("up", "--timeout", "2")
    line = _one_line(err)
    assert code == 1
    assert "timed out after 2s waiting for mariadb to become healthy" in line


def test_a_second_folder_with_the_same_name_is_refused_and_names_the_first(stack: Stack, tmp_path: Path) -> None:
    stack.up()
    ids = stack.containers()
    twin = tmp_path / "twin"
    shutil.copytree(stack.root, twin, ignore=shutil.ignore_patterns("run", "compose"))
    before = hash_tree(twin)
    for command in (["up", "--timeout", "60"], ["down"], ["certs", "renew", "--force"]):
        result = run_cli("--dir", str(twin), *command)
        line = _one_line(result.err)
        assert result.code == 2, line
        assert f"already used by the stack in {stack.root}" in line and " — " in line
    assert hash_tree(twin) == before
    assert stack.containers() == ids  # nothing of the first stack was touched
    assert all(stack.client.containers.get(i).status == "running" for i in ids.values())
