"""Two nodes on this machine: a second dockerd in a network namespace the test creates (a veth pair on
a /30 the test owns, its own data-root, exec-root and socket) joins the Swarm as a worker. Both nodes
are edge nodes; PhotoPrism and MariaDB stay on the manager. The worker pulls the test images from the
loopback registry through a forwarder (socat over a UNIX socket: its 127.0.0.1 is its own). Traffic
goes to 127.0.0.1 and to the namespace's address only. Everything is removed afterwards, on failure too."""

from __future__ import annotations

import contextlib
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import docker
import docker.errors
import pytest

from tests.helpers import IN_CI
from tests.netns import NamespacedEngine, network_namespace, until
from tests.swarm.conftest import NAMESPACE, SwarmSession, SwarmStack, make_swarm_stack
from tests.swarm.test_swarm import DOMAIN, _https, _Load

NETNS = "stkswarm2"
HOST_IP, WORKER_IP = "10.251.90.1", "10.251.90.2"
REGISTRY = "127.0.0.1:5555"
IMAGES = {
    "haproxy": f"{REGISTRY}/stackctl-test/haproxy:3.2",
    "photoprism": f"{REGISTRY}/stackctl-test/photoprism:v1",
    "mariadb": f"{REGISTRY}/stackctl-test/mariadb:11.8",
}
WAIT_S = 120.0


def _until(what: str, done: Callable[[], bool], seconds: float = WAIT_S) -> None:
    until(what, done, seconds)


@dataclass
class Worker:
    engine: NamespacedEngine
    client: docker.DockerClient
    node_id: str = ""

    @property
    def socket(self) -> str:
        return self.engine.socket


@contextlib.contextmanager
def second_node(session: SwarmSession) -> Iterator[Worker]:
    if not session.joined:
        reason = "the engine was in a Swarm before the tier: the two-node test re-creates the Swarm it made"
        if IN_CI:
            pytest.fail(reason)
        pytest.skip(reason)
    manager = session.client
    relays: list[subprocess.Popen[bytes]] = []
    with network_namespace(NETNS, HOST_IP, WORKER_IP) as namespace:
        engine = NamespacedEngine(namespace, Path(tempfile.mkdtemp(prefix="stk-w-", dir="/tmp")))
        try:
            # The manager must advertise an address the worker reaches: the Swarm is made again on the veth.
            manager.swarm.leave(force=True)
            manager.swarm.init(advertise_addr=HOST_IP)
            # The worker's 127.0.0.1:5555 is its own: socat carries it to the registry over a UNIX socket.
            relay = engine.folder / "registry.sock"
            relays.append(subprocess.Popen(["socat", f"UNIX-LISTEN:{relay},fork", f"TCP:{REGISTRY}"]))
            _until("the registry relay", relay.exists, 10)
            inside = ["socat", "TCP-LISTEN:5555,bind=127.0.0.1,fork,reuseaddr", f"UNIX-CONNECT:{relay}"]
            relays.append(subprocess.Popen([*namespace.enter, *inside]))
            client = engine.start()
            worker = Worker(engine, client)
            client.images.pull(IMAGES["haproxy"])  # through the relay, from the loopback registry
            token = manager.swarm.attrs["JoinTokens"]["Worker"]
            client.swarm.join(
                remote_addrs=[f"{HOST_IP}:2377"], join_token=token, listen_addr=f"{WORKER_IP}:2377",
                advertise_addr=WORKER_IP,
            )  # fmt: skip
            worker_id = worker.node_id = client.info()["Swarm"]["NodeID"]
            _until("the worker to be ready", lambda: manager.nodes.get(worker_id).attrs["Status"]["State"] == "ready")
            for node_id in (manager.info()["Swarm"]["NodeID"], worker_id):
                node = manager.nodes.get(node_id)
                spec = dict(node.attrs["Spec"])
                spec["Labels"] = {**(spec.get("Labels") or {}), "stackctl.edge": "true"}
                node.update(spec)
            yield worker
        finally:
            engine.remove()
            for proc in relays:
                proc.kill()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=10)
            with contextlib.suppress(docker.errors.APIError):
                manager.swarm.leave(force=True)
            manager.swarm.init(advertise_addr="127.0.0.1")  # as the tier made it: the session leaves it at the end


@pytest.fixture(scope="module")
def two_nodes(
    swarm_session: SwarmSession, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[SwarmStack, Worker]]:
    with second_node(swarm_session) as worker:
        folder = tmp_path_factory.mktemp("two-nodes") / "stack"
        with make_swarm_stack(swarm_session.client, folder, IMAGES, pull="missing") as stack:
            code, out, err = stack.cli("up", "--timeout", "300")
            assert code == 0, f"up failed ({code}): {err}\n{out}"
            assert f"{DOMAIN} @ 127.0.0.1" in out and f"{DOMAIN} @ {WORKER_IP}" in out
            yield stack, worker


def _status(stack: SwarmStack, address: str) -> int:
    conn = _https(stack, address)
    conn.request("GET", "/api/v1/status", headers={"Host": DOMAIN})
    return conn.getresponse().status


def test_https_answers_on_both_nodes(two_nodes: tuple[SwarmStack, Worker]) -> None:
    stack, _ = two_nodes
    assert _status(stack, "127.0.0.1") == 200
    assert _status(stack, WORKER_IP) == 200  # the worker's HAProxy reaches PhotoPrism over the overlay
    code, out, _ = stack.cli("verify")
    assert code == 0 and WORKER_IP in out


def test_photoprism_and_mariadb_stay_on_the_manager(two_nodes: tuple[SwarmStack, Worker]) -> None:
    stack, worker = two_nodes
    manager_id = stack.client.info()["Swarm"]["NodeID"]
    for service in ("photoprism", "mariadb"):
        tasks = stack.client.services.get(f"{stack.name}_{service}").tasks(filters={"desired-state": "running"})
        assert [t["NodeID"] for t in tasks] == [manager_id], service
    haproxy = stack.client.services.get(f"{stack.name}_haproxy").tasks(filters={"desired-state": "running"})
    assert sorted(t["NodeID"] for t in haproxy) == sorted([manager_id, worker.node_id])


def test_a_worker_engine_is_refused_with_the_command_to_run(
    two_nodes: tuple[SwarmStack, Worker], monkeypatch: pytest.MonkeyPatch
) -> None:
    stack, worker = two_nodes
    monkeypatch.setenv("DOCKER_HOST", worker.socket)
    code, _, err = stack.cli("up", "--timeout", "30")
    assert code != 0
    assert "a Swarm worker, not a manager" in err and "docker swarm init" in err


def _running_on(stack: SwarmStack, node_id: str) -> bool:
    tasks = stack.client.services.get(f"{stack.name}_haproxy").tasks(filters={"node": node_id})
    return any(t["Status"]["State"] == "running" for t in tasks)


def test_a_renewal_rolls_haproxy_when_the_workers_runtime_api_is_out_of_reach(
    two_nodes: tuple[SwarmStack, Worker],
) -> None:
    stack, _ = two_nodes
    code, out, err = stack.cli("certs", "renew", "--force")
    assert code == 0, err
    assert "cannot be reached from this node, so HAProxy's tasks rolled onto the new certificate" in err, err
    assert "via a rolling update of HAProxy's tasks" in out, out
    code, out, _ = stack.cli("verify")  # both nodes serve the certificate on disk
    assert code == 0 and WORKER_IP in out, out


def test_draining_the_worker_leaves_the_manager_serving(two_nodes: tuple[SwarmStack, Worker]) -> None:
    stack, worker = two_nodes
    node = stack.client.nodes.get(worker.node_id)
    with _Load(stack) as load:
        spec = dict(node.attrs["Spec"], Availability="drain")
        node.update(spec)
        _until("the worker's HAProxy task to stop", lambda: not _running_on(stack, worker.node_id))
    assert load.failed == 0 and load.ok > 0
    node.reload()
    node.update(dict(node.attrs["Spec"], Availability="active"))
    _until("the worker's HAProxy task to return", lambda: _running_on(stack, worker.node_id))


def test_killing_the_worker_leaves_the_manager_serving(two_nodes: tuple[SwarmStack, Worker]) -> None:
    stack, worker = two_nodes
    with _Load(stack) as load:
        worker.engine.kill()  # the node dies at once; the manager notices when its heartbeats stop
        _until(
            "the manager to see the worker down",
            lambda: stack.client.nodes.get(worker.node_id).attrs["Status"]["State"] == "down",
        )
    assert load.failed == 0 and load.ok > 0
    assert _status(stack, "127.0.0.1") == 200
    labels = {"label": f"{NAMESPACE}={stack.name}"}
    assert len(stack.client.services.list(filters=labels)) == 3
