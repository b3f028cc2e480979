"""init -> up -> verify -> up (nothing recreated) -> env change (only photoprism recreated) -> down."""

from __future__ import annotations

import json
import time

from tests.docker.conftest import Stack
from tests.helpers import https_json, wait_until


def test_up_cycle(stack_each_haproxy: Stack) -> None:
    stack = stack_each_haproxy
    out = stack.up()
    assert "Ready: https://photos.example.com:" in out
    ids = stack.containers()
    assert set(ids) == {"mariadb", "photoprism", "haproxy"}

    code, out, _ = stack.cli("verify", "--json")
    report = json.loads(out)
    assert code == 0 and report["ok"] and report["alpn"] == "h2"
    assert {c["name"] for c in report["checks"]} >= {
        "certificate",
        "status",
        "redirect",
        "websocket",
        "served_certificate",
    }

    # Compose's labels, so `docker compose -p <name> ps/logs` sees the containers.
    labels = stack.container("photoprism").labels
    assert labels["com.docker.compose.project"] == stack.name
    assert labels["com.docker.compose.service"] == "photoprism"
    assert labels["com.docker.compose.container-number"] == "1"
    assert labels["com.docker.compose.oneoff"] == "False"
    assert len(labels["com.docker.compose.config-hash"]) == 64

    # HAProxy runs as a non-root user; photoprism publishes nothing.
    assert stack.container("haproxy").attrs["Config"]["User"] not in ("", "0", "root", "0:0")
    assert not stack.container("photoprism").attrs["HostConfig"]["PortBindings"]

    stack.up()
    assert stack.containers() == ids, "a second up must keep every container"

    stack.edit("env: {}", "env: {PHOTOPRISM_READONLY: true}")
    out = stack.up()
    after = stack.containers()
    assert after["photoprism"] != ids["photoprism"]
    assert after["mariadb"] == ids["mariadb"] and after["haproxy"] == ids["haproxy"]
    assert "recreating" in out and "photoprism" in out
    assert stack.container("photoprism").attrs["Config"]["Env"].count("PHOTOPRISM_READONLY=true") == 1

    code, out, err = stack.cli("down")
    assert code == 0, err
    assert stack.containers() == {}
    assert not stack.client.networks.list(names=[f"{stack.name}_photoprism"])
    # Bind-mounted data is never deleted.
    assert (stack.root / "database").is_dir() and (stack.root / "originals").is_dir()


def test_removed_service_loses_its_container_and_sqlite_runs_without_mariadb(stack: Stack) -> None:
    stack.up()
    assert "mariadb" in stack.containers()
    stack.edit("kind: mariadb", "kind: sqlite")
    stack.up()
    assert set(stack.containers()) == {"photoprism", "haproxy"}
    code, out, _ = stack.cli("verify", "--json")
    assert code == 0 and json.loads(out)["ok"]


def test_stopped_photoprism_gives_503_and_up_restores_it(stack: Stack) -> None:

    stack.up()

    def status() -> int:
        try:
            return https_json(stack.https, "photos.example.com", stack.ca, "GET", "/api/v1/status")[0]
        except OSError:
            return -1  # while HAProxy has not yet noticed, a request may time out

    assert status() == 200
    stack.container("photoprism").stop(timeout=2)
    stopped = time.monotonic()
    wait_until(lambda: status() == 503, 15, "HAProxy to answer 503 for a stopped backend", every=0.2)
    # inter 2s, fall 2: HAProxy notices within a few seconds plus one request's time.
    assert time.monotonic() - stopped < 15
    stack.up()
    assert status() == 200
