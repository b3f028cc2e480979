"""The stack on a single-node Swarm: deployed, verified over HTTPS, its secrets out of every service spec,
the client's address reaching PhotoPrism, a certificate renewal rolled, a broken upgrade rolled back by
Swarm, and `down` leaving nothing but the data."""

from __future__ import annotations

import http.client
import json
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import jsonschema
import pytest
import yaml

from stackctl.certs.localca import DEFAULT_CERT_NAME
from tests.crash import crash
from tests.default_cert import answer_without_a_known_name, names_of, served_certificate
from tests.helpers import https_to, wait_until
from tests.netns import network_namespace
from tests.swarm.conftest import NAMESPACE, SwarmStack, make_swarm_stack
from tests.test_compose import _schema

DOMAIN = "photos.example.com"
SERVICES = ("haproxy", "mariadb", "photoprism")
STANDIN = "stackctl-test/photoprism:standin"
RESULTS = Path("/tmp/stackctl-swarm-measurements.json")  # read back for the closing note's figures


def _https(stack: SwarmStack, address: str = "127.0.0.1") -> http.client.HTTPSConnection:
    return https_to(address, stack.https, DOMAIN, stack.ca, timeout=5)


@pytest.fixture(scope="module")
def running(swarm_stack: SwarmStack) -> SwarmStack:
    code, out, err = swarm_stack.cli("up", "--timeout", "240")
    assert code == 0, f"up failed ({code}): {err}\n{out}"
    assert "Ready: https://photos.example.com" in out
    return swarm_stack


def test_up_deploys_named_services_verified_over_https(running: SwarmStack) -> None:
    services = running.client.services.list(filters={"label": f"{NAMESPACE}={running.name}"})
    assert sorted(s.name for s in services) == sorted(
        f"{running.name}_{n}" for n in ("haproxy", "mariadb", "photoprism")
    )
    code, out, _ = running.cli("verify")
    assert code == 0 and "verified" in out
    code, out, _ = running.cli("up", "--timeout", "120")  # a second up changes nothing
    assert code == 0 and "created" not in out and "updated" not in out


def test_a_client_naming_no_site_gets_the_stacks_own_certificate(running: SwarmStack) -> None:
    for servername in (None, "unknown.example.net"):
        assert names_of(served_certificate(running.https, servername)) == {DEFAULT_CERT_NAME}
        status, body = answer_without_a_known_name(running.https, servername, servername or "127.0.0.1")
        assert status == 404 and b"unknown host" in body
    assert DOMAIN in names_of(served_certificate(running.https, DOMAIN))


def test_status_shows_tasks_per_node_and_each_edge_nodes_https(running: SwarmStack) -> None:
    code, out, err = running.cli("status", "--json")
    assert code == 0, err + out
    status = json.loads(out)
    assert status["healthy"], status["verdict"]
    tasks = {c["service"]: c for c in status["containers"]}
    assert set(tasks) == set(SERVICES)
    assert all(t["state"] == "running" and t["node"] for t in tasks.values())
    assert list(status["edges"]) == ["127.0.0.1"] and status["edges"]["127.0.0.1"]["ok"]
    assert any(b["proxy"] == "photoprism" for b in status["backends"])  # stats from this node's HAProxy task


def test_compose_file_is_a_stack_deploy_file(running: SwarmStack) -> None:
    document = yaml.safe_load((running.root / "compose/compose.yaml").read_text())
    jsonschema.Draft7Validator(_schema()).validate(document)
    for name, service in document["services"].items():
        assert "depends_on" not in service and "container_name" not in service, name
        assert service["deploy"]["update_config"]["failure_action"] == "rollback"
    assert document["services"]["haproxy"]["deploy"]["mode"] == "global"
    assert all(p["mode"] == "host" for p in document["services"]["haproxy"]["ports"])


def test_no_secret_in_service_specs_or_compose(running: SwarmStack) -> None:
    values = []
    for env in (running.root / "secrets").glob("*.env"):
        values += [line.split("=", 1)[1] for line in env.read_text().splitlines() if "=" in line]
    assert len(values) >= 4
    specs = json.dumps(
        [s.attrs for s in running.client.services.list(filters={"label": f"{NAMESPACE}={running.name}"})]
    )
    inspected = subprocess.run(
        ["docker", "service", "inspect", *(f"{running.name}_{n}" for n in SERVICES)],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    compose = (running.root / "compose/compose.yaml").read_text()
    for value in values:
        assert value not in specs and value not in inspected and value not in compose
    assert "PRIVATE KEY" not in specs + inspected + compose
    assert "MARIADB_PASSWORD_FILE=/run/secrets/mariadb-password" in inspected


@pytest.fixture
def client_namespace() -> Iterator[tuple[str, str]]:
    """A network namespace with a veth pair to the host on a /30 the test owns: (name, host side)."""
    with network_namespace(f"stk{time.monotonic_ns() % 100000}", "10.251.77.1", "10.251.77.2") as namespace:
        yield namespace.name, namespace.host_ip


def test_photoprism_sees_the_clients_address(running: SwarmStack, client_namespace: tuple[str, str]) -> None:
    """Host-mode publishing keeps the client's address (ingress would replace it: moby#25526)."""
    namespace, host = client_namespace
    script = (
        "import http.client,ssl,json;"
        f"c=http.client.HTTPSConnection('{host}',{running.https},timeout=10,"
        "context=ssl._create_unverified_context());"
        f"c.request('GET','/api/v1/headers',headers={{'Host':'{DOMAIN}'}});"
        "print(c.getresponse().read().decode())"
    )
    out = subprocess.run(
        ["ip", "netns", "exec", namespace, "python3", "-c", script], capture_output=True, text=True, timeout=30
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["headers"]["x-forwarded-for"] == "10.251.77.2"


class _Load:
    """HTTPS requests one after another on loopback; counts failures and the longest stretch without an answer."""

    def __init__(self, stack: SwarmStack) -> None:
        self.stack, self.ok, self.failed, self.gap_s = stack, 0, 0, 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        last_ok = time.monotonic()
        while not self._stop.is_set():
            try:
                conn = _https(self.stack)
                conn.request("GET", "/api/v1/status", headers={"Host": DOMAIN})
                status = conn.getresponse().status
                conn.close()
            except OSError:
                status = 0
            now = time.monotonic()
            if status == 200:
                self.ok += 1
                self.gap_s = max(self.gap_s, now - last_ok)
                last_ok = now
            else:
                self.failed += 1

    def __enter__(self) -> _Load:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


def _record(key: str, value: object) -> None:
    found = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    found[key] = value
    RESULTS.write_text(json.dumps(found, indent=1))


def test_renewal_rolls_haproxy_onto_a_new_secret(running: SwarmStack) -> None:
    code, before, _ = running.cli("verify", "--json")
    old_serial = json.loads(before)["served_serial"]
    with _Load(running) as load:
        started = time.monotonic()
        code, _, err = running.cli("certs", "renew", "--force")
        took = time.monotonic() - started
    assert code == 0, err
    code, after, _ = running.cli("verify", "--json")
    assert code == 0
    new_serial = json.loads(after)["served_serial"]
    assert new_serial != old_serial
    names = [s.name for s in running.client.secrets.list(filters={"label": f"{NAMESPACE}={running.name}"})]
    site_bundles = [n for n in names if "_tls-" in n and "_tls-default-certificate-" not in n]
    assert len(site_bundles) == 1  # the old bundle's secret is gone
    # One edge node: stop-first leaves a gap while the new HAProxy task starts. Measured, not bounded here.
    _record("renewal", {"seconds": round(took, 2), "gap_s": round(load.gap_s, 2), "failed": load.failed, "ok": load.ok})
    assert load.ok > 0


def test_broken_upgrade_is_rolled_back_by_swarm(running: SwarmStack) -> None:
    running.edit(f'photoprism: "{STANDIN}"', 'photoprism: "stackctl-test/photoprism:v3"')
    try:
        started = time.monotonic()
        code, out, err = running.cli("upgrade", "photoprism", "--timeout", "240")
        _record("rollback_s", round(time.monotonic() - started, 1))
        assert code == 1, out
        assert "Swarm rolled back" in err and "photoprism" in err and "HTTPS verified" in err
        assert "dumped the database to" in out and "the database as it was before is in" in err
        dump = next((running.root / "backups").glob("*-mariadb.sql"))
        assert dump.stat().st_mode & 0o777 == 0o600 and b"CREATE DATABASE" in dump.read_bytes()
        service = running.client.services.get(f"{running.name}_photoprism")
        assert service.attrs["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"].startswith(
            "stackctl-test/photoprism:standin"
        )
        assert service.attrs["UpdateStatus"]["State"] == "rollback_completed"
        code, out, _ = running.cli("verify")
        assert code == 0, out
    finally:
        running.edit('photoprism: "stackctl-test/photoprism:v3"', f'photoprism: "{STANDIN}"')


def _task_container_id(stack: SwarmStack, service: str) -> str | None:
    """The running container of the service's task on this node, if any."""
    label = f"com.docker.swarm.service.name={stack.name}_{service}"
    found = stack.client.containers.list(filters={"label": label, "status": "running"})
    return found[0].id if len(found) == 1 else None


def test_after_a_renewal_and_a_rollback_every_service_comes_back_after_a_crash(running: SwarmStack) -> None:
    code, out, err = running.cli("up", "--timeout", "240")  # compose.yaml still names the rolled-back image
    assert code == 0, err + out
    for service in ("haproxy", "photoprism", "mariadb"):
        before = _task_container_id(running, service)
        assert before is not None, service
        crash(running.client, before, service)
        wait_until(lambda: _task_container_id(running, service) not in (None, before), 90, f"{service}'s new task")  # noqa: B023
    seen: dict[str, Any] = {}

    def healthy() -> bool:
        code, out, _ = running.cli("status", "--json")
        seen.update(json.loads(out))
        return code == 0

    try:
        wait_until(healthy, 90, "status to be healthy after the crashes", every=1.0)
    except AssertionError as e:
        raise AssertionError(f"{e}: {seen.get('verdict')}") from e
    crashed = {row["service"]: row["last_exit"] for row in seen["containers"]}
    assert all(e is not None and e["code"] == 137 and e["age_s"] < 600 for e in crashed.values()), crashed
    assert "photoprism restarted" in seen["verdict"] and "mariadb restarted" in seen["verdict"], seen["verdict"]
    code, out, _ = running.cli("verify")
    assert code == 0, out


def test_down_leaves_nothing_but_data(running: SwarmStack) -> None:
    code, out, err = running.cli("down")
    assert code == 0, err + out
    label = {"label": f"{NAMESPACE}={running.name}"}
    client: docker.DockerClient = running.client
    assert client.services.list(filters=label) == []
    assert client.secrets.list(filters=label) == [] and client.configs.list(filters=label) == []
    assert client.networks.list(names=[f"{running.name}_photoprism"]) == []
    assert any((running.root / "database").iterdir())  # MariaDB's files stay
    assert (running.root / "storage").is_dir() and (running.root / "originals").is_dir()


def test_a_taken_port_is_refused_before_anything_is_deployed(swarm: docker.DockerClient, tmp_path: Path) -> None:
    with make_swarm_stack(swarm, tmp_path / "stack") as stack, socket.socket() as holder:
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        holder.bind(("0.0.0.0", stack.https))
        holder.listen()
        code, _, err = stack.cli("up", "--timeout", "60")
        assert code == 1
        assert f"port {stack.https} on 0.0.0.0 is already in use by process" in err
        assert swarm.services.list(filters={"label": f"{NAMESPACE}={stack.name}"}) == []
        assert not (stack.root / "compose").exists()
