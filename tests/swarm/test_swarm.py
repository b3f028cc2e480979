"""The stack on a single-node Swarm: deployed, verified over HTTPS, its secrets out of every service spec,
the client's address reaching PhotoPrism, a certificate renewal rolled, a broken upgrade rolled back by
Swarm, and `down` leaving nothing but the data."""

from __future__ import annotations

import contextlib
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
from stackctl.health.h3 import h3_get
from tests.certfactory import make_cert
from tests.crash import crash
from tests.default_cert import answer_without_a_known_name, names_of, served_certificate
from tests.docker.conftest import UPSTREAM_IMAGE
from tests.guard_client import login_from, request_from
from tests.helpers import https_json, https_to, run_cli, wait_until
from tests.netns import Namespace, network_namespace
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


def test_http3_is_published_on_the_edge_node_and_announced(running: SwarmStack) -> None:
    compose = yaml.safe_load((running.root / "compose/compose.yaml").read_text())
    published = {(p["published"], p["protocol"], p["mode"]) for p in compose["services"]["haproxy"]["ports"]}
    assert (running.https, "udp", "host") in published  # the image has QUIC: ports.http3 auto turns it on
    answer = h3_get("127.0.0.1", running.https, DOMAIN, running.ca, 5.0)
    assert answer.status == 200 and answer.alt_svc == f'h3=":{running.https}"; ma=86400'
    conn = _https(running)
    try:
        conn.request("GET", "/api/v1/status", headers={"Host": DOMAIN})
        assert conn.getresponse().getheader("alt-svc") == answer.alt_svc
    finally:
        conn.close()
    code, out, _ = running.cli("verify", "--json")
    checks = {c["name"]: c for c in json.loads(out)["checks"]}
    assert code == 0 and checks["http3"]["ok"], checks.get("http3")


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
def client_namespace() -> Iterator[Namespace]:
    """A network namespace with a veth pair to the host on a /30 the test owns."""
    with network_namespace(f"stk{time.monotonic_ns() % 100000}", "10.251.77.1", "10.251.77.2") as namespace:
        yield namespace


def test_photoprism_sees_the_clients_address(running: SwarmStack, client_namespace: Namespace) -> None:
    """Host-mode publishing keeps the client's address (ingress would replace it: moby#25526)."""
    namespace, host = client_namespace.name, client_namespace.host_ip
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


def test_the_login_throttle_bans_the_real_client_address_on_the_edge_node(
    running: SwarmStack, client_namespace: Namespace
) -> None:
    code, password, _ = running.cli("secrets", "show", "admin")
    assert code == 0
    outside, admin = client_namespace, password.strip()
    statuses = [login_from(outside, running.https, DOMAIN, running.ca, "wrong")[0] for _ in range(20)]
    assert statuses == [401] * 10 + [429] * 10
    assert login_from(outside, running.https, DOMAIN, running.ca, admin)[0] == 429
    assert login_from(None, running.https, DOMAIN, running.ca, admin)[0] == 200, "127.0.0.1 is another client"
    code, out, _ = running.cli("status", "--json")
    assert [b["address"] for b in json.loads(out)["sites"][0]["login_guard"]["banned"]] == [outside.inner_ip]
    code, out, err = running.cli("guard", "unban", outside.inner_ip)
    assert code == 0, err
    assert login_from(outside, running.https, DOMAIN, running.ca, admin)[0] == 200


def test_the_doctor_passes_on_swarm_and_leaves_no_ban_and_no_upload(running: SwarmStack) -> None:
    code, out, err = running.cli("doctor", "--json", "--upload-size", "256MiB")
    (site,) = json.loads(out)["sites"]
    assert code == 0, (err, site)
    assert {c["check"]: c["outcome"] for c in site["checks"]} == dict.fromkeys(
        ["login", "websocket", "range", "site_url", "webdav", "upload", "client_address", "throttle"], "pass"
    ), site
    code, out, _ = running.cli("status", "--json")
    assert json.loads(out)["sites"][0]["login_guard"]["banned"] == []


def test_a_private_site_on_swarm_lets_in_only_its_allow_network(
    running: SwarmStack, client_namespace: Namespace
) -> None:
    spec = running.root / "stack.yaml"
    original = spec.read_text()
    spec.write_text(f"{original}exposure: private\nallow: [{client_namespace.inner_ip}/32]\n")
    try:
        code, _, err = running.cli("up", "--timeout", "180")  # rolls HAProxy onto the new config
        assert code == 0, err
        outside = request_from(None, running.https, DOMAIN, running.ca, "GET", "/library/browse")
        assert outside.status == 403 and f"{DOMAIN} is private" in outside.body
        assert request_from(client_namespace, running.https, DOMAIN, running.ca, "GET", "/library/browse").status == 200
        code, out, err = running.cli("doctor", "--json", "--upload-size", "8MiB")  # as an address in allow:
        assert code == 0 and json.loads(out)["sites"][0]["caller"] == f"test address {client_namespace.inner_ip}", err
    finally:
        spec.write_text(original)
        code, _, err = running.cli("up", "--timeout", "180")
        assert code == 0, err


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


def _site_bundle_secrets(stack: SwarmStack) -> list[str]:
    names = [s.name for s in stack.client.secrets.list(filters={"label": f"{NAMESPACE}={stack.name}"})]
    return sorted(n for n in names if "_tls-" in n and "_tls-default-certificate-" not in n)


def _served_serial(stack: SwarmStack) -> str | None:
    _, out, _ = stack.cli("verify", "--json")
    serial: str | None = json.loads(out)["served_serial"]
    return serial


def _restart_haproxy_task(stack: SwarmStack) -> str:
    """SIGKILL HAProxy's task; returns the container of the task Swarm starts in its place."""
    before = _task_container_id(stack, "haproxy")
    assert before is not None
    crash(stack.client, before, "haproxy")
    wait_until(lambda: _task_container_id(stack, "haproxy") not in (None, before), 90, "HAProxy's new task")
    after = _task_container_id(stack, "haproxy")
    assert after is not None
    return after


def test_renewal_hands_the_certificate_to_haproxy_live_with_no_failed_request(running: SwarmStack) -> None:
    old_serial = _served_serial(running)
    task = _task_container_id(running, "haproxy")
    with _Load(running) as load:
        wait_until(lambda: load.ok > 5, 30, "load before the renewal")
        started = time.monotonic()
        code, out, err = running.cli("certs", "renew", "--force")
        took = time.monotonic() - started
        answered = load.ok
        wait_until(lambda: load.ok > answered + 5, 30, "load after the renewal")
    assert code == 0, err
    assert "via the runtime API" in out and "warning" not in err, out + err
    new_serial = _served_serial(running)
    assert new_serial not in (None, old_serial)
    _record("renewal", {"seconds": round(took, 2), "gap_s": round(load.gap_s, 3), "failed": load.failed, "ok": load.ok})
    assert load.failed == 0 and load.gap_s < 0.1, (load.failed, load.gap_s)
    assert _task_container_id(running, "haproxy") == task  # the same task serves it: nothing restarted
    assert len(_site_bundle_secrets(running)) == 2  # the new secret waits for the next roll; the old is in use

    code, out, err = running.cli("up", "--timeout", "120")  # every node serves what is on disk: no roll
    assert code == 0 and "kept HAProxy's tasks" in out, err + out
    assert _task_container_id(running, "haproxy") == task


def test_a_haproxy_task_restarted_after_a_live_renewal_gets_the_certificate_back(running: SwarmStack) -> None:
    code, _, err = running.cli("certs", "renew", "--force")
    assert code == 0, err
    renewed = _served_serial(running)
    _restart_haproxy_task(running)  # it reads its secret: still the previous certificate
    wait_until(lambda: _served_serial(running) not in (None, renewed), 30, "the restarted task to serve")
    code, out, err = running.cli("certs", "renew", "--if-due")
    assert code == 0, err
    assert f"an edge node served an older certificate; serial {renewed} is served again via the runtime API" in out
    assert _served_serial(running) == renewed

    _restart_haproxy_task(running)
    wait_until(lambda: _served_serial(running) not in (None, renewed), 30, "the restarted task to serve")
    code, out, err = running.cli("up", "--timeout", "120")  # not served everywhere: HAProxy rolls
    assert code == 0 and f"updated {running.name}_haproxy" in out, err + out
    assert _served_serial(running) == renewed
    assert len(_site_bundle_secrets(running)) == 1  # the previous certificate's secret is gone


def _photos(stack: SwarmStack, method: str = "GET", path: str = "/api/v1/photos") -> dict[str, Any]:
    status, body = https_json(stack.https, DOMAIN, stack.ca, method, path)
    assert status in (200, 201), (method, path, status)
    return body


def test_broken_upgrade_is_rolled_back_by_swarm_with_its_database(running: SwarmStack) -> None:
    _photos(running, "POST", "/api/v1/photos?title=harbour")
    before = _photos(running)
    running.edit(f'photoprism: "{STANDIN}"', 'photoprism: "stackctl-test/photoprism:v3"')
    try:
        code, out, _ = running.cli("upgrade", "--check")
        assert code == 100 and "photoprism: update waiting (stackctl-test/photoprism:v3)" in out, out
        assert running.client.services.get(f"{running.name}_photoprism").attrs["Spec"]["TaskTemplate"][
            "ContainerSpec"]["Image"].startswith(STANDIN)  # --check rolls nothing  # fmt: skip
        started = time.monotonic()
        code, out, err = running.cli("upgrade", "photoprism", "--timeout", "240")
        _record("rollback_s", round(time.monotonic() - started, 1))
        assert code == 1, out
        assert "Swarm rolled back" in err and "photoprism" in err and "HTTPS verified" in err
        assert f"dumped the database of {DOMAIN} to" in out
        assert f"the database of {DOMAIN} is back as it was before" in err, err
        # Release 3 migrated the schema before it failed; the dump put it back, with the data.
        assert _photos(running) == before and before["schema"] == 1, before
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


def test_an_upstream_on_an_overlay_network_of_the_users_is_reached_by_name(running: SwarmStack) -> None:
    client, app = running.client, f"{running.name}-app"
    overlay = client.networks.create(f"{running.name}-apps", driver="overlay", attachable=True)
    bridge = client.networks.create(f"{running.name}-bridge", driver="bridge")
    container = client.containers.run(UPSTREAM_IMAGE, name=app, network=overlay.name, detach=True)
    try:
        code, _, err = running.cli("sites", "add", "bad.example.com", "--upstream", f"http://{app}:8080",
                                   "--network", bridge.name)  # fmt: skip
        assert code == 0, err
        before = sorted(s.id for s in client.services.list(filters={"label": f"{NAMESPACE}={running.name}"}))
        code, _, err = running.cli("up", "--timeout", "120")
        assert code == 2 and "a Swarm service can join only an overlay network" in err, err
        assert sorted(s.id for s in client.services.list(filters={"label": f"{NAMESPACE}={running.name}"})) == before
        for argv in (("sites", "rm", "bad.example.com"),
                     ("sites", "add", "app.example.com", "--upstream", f"http://{app}:8080", "--network", overlay.name,
                      "--health", "/health")):  # fmt: skip
            code, _, err = running.cli(*argv)
            assert code == 0, err
        code, out, err = running.cli("up", "--timeout", "180")
        assert code == 0, err + out
        status, body = https_json(running.https, "app.example.com", running.ca, "GET", "/anything")
        assert status == 200 and body.get("upstream") == "upstream", body  # the app's echo, reached by name
        compose = yaml.safe_load((running.root / "compose/compose.yaml").read_text())
        assert compose["networks"][overlay.name] == {"external": True}
        jsonschema.validate(compose, _schema())
    finally:
        running.cli("sites", "rm", "app.example.com")
        running.cli("up", "--timeout", "180")
        container.remove(force=True)
        for network in (overlay, bridge):
            with contextlib.suppress(docker.errors.APIError):
                network.remove()


def test_an_https_upstream_on_an_overlay_network_is_verified_against_its_ca_file(
    running: SwarmStack, tmp_path: Path
) -> None:
    """Its CA file reaches HAProxy as a Swarm config; this host does not reach the overlay, so `up` says
    the certificate is left to HAProxy's check, which passes (the site answers, with the name as SNI)."""
    client, app = running.client, f"{running.name}-secure"
    ca = make_cert("swarm upstream CA", ca=True)
    leaf = make_cert(app, ca, [app])
    for name, data in (("ca.pem", ca.cert_pem), ("app.pem", leaf.cert_pem), ("app.key", leaf.key_pem())):
        (tmp_path / name).write_bytes(data)
        (tmp_path / name).chmod(0o644)
    overlay = client.networks.create(f"{running.name}-tls", driver="overlay", attachable=True)
    container = client.containers.run(
        UPSTREAM_IMAGE, name=app, network=overlay.name, detach=True,
        volumes={str(tmp_path): {"bind": "/tls", "mode": "ro"}},
        environment={"UPSTREAM_PORT": "8443", "UPSTREAM_TLS_CERT": "/tls/app.pem", "UPSTREAM_TLS_KEY": "/tls/app.key"},
    )  # fmt: skip
    try:
        code, _, err = running.cli("sites", "add", "secure.example.com", "--upstream", f"https://{app}:8443",
                                   "--network", overlay.name, "--health", "/health",
                                   "--ca-file", str(tmp_path / "ca.pem"))  # fmt: skip
        assert code == 0, err
        code, out, err = running.cli("up", "--timeout", "180")
        assert code == 0, err + out
        assert f"https://{app}:8443 cannot be reached from this host" in out, out
        status, body = https_json(running.https, "secure.example.com", running.ca, "GET", "/anything")
        assert status == 200 and body.get("sni") == app, body
    finally:
        running.cli("sites", "rm", "secure.example.com")
        running.cli("up", "--timeout", "180")
        container.remove(force=True)
        with contextlib.suppress(docker.errors.APIError):
            overlay.remove()


ARCHIVE: dict[str, Any] = {}  # what the backup test leaves for the restore test


def test_backup_on_swarm_dumps_through_the_database_task(
    running: SwarmStack, tmp_path_factory: pytest.TempPathFactory
) -> None:
    folder = tmp_path_factory.mktemp("swarm-backup")
    secret = folder / "passphrase"
    secret.write_text("a long passphrase for the swarm drill\n")
    (running.root / "originals/harbour.jpg").write_bytes(b"harbour" * 5000)
    code, out, err = running.cli("backup", "--with-originals", "--passphrase-file", str(secret), "--to", str(folder))
    assert code == 0, err
    archive = next(folder.glob("*.stackctl-backup"))
    code, out, _ = running.cli("backup", "--list", str(archive), "--passphrase-file", str(secret))
    assert (
        code == 0 and f"sites/{DOMAIN}/database/mariadb.sql" in out and f"sites/{DOMAIN}/originals/harbour.jpg" in out
    )
    code, out, _ = running.cli("verify", "--json")
    ARCHIVE.update(archive=archive, passphrase=secret, photos=_photos(running), serial=json.loads(out)["served_serial"])


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


def test_the_backup_restores_into_a_new_folder_on_swarm(running: SwarmStack, tmp_path: Path) -> None:
    target = tmp_path / "restored"
    result = run_cli("restore", str(ARCHIVE["archive"]), "--dir", str(target), "--passphrase-file",
                     str(ARCHIVE["passphrase"]), "--timeout", "240")  # fmt: skip
    try:
        assert result.code == 0, result.err + result.out
        assert "starting a fresh MariaDB to load the dumps into" in result.out and "Ready:" in result.out
        verified = run_cli("--dir", str(target), "verify", "--json")
        assert verified.code == 0, verified.out
        assert json.loads(verified.out)["served_serial"] == ARCHIVE["serial"]  # the same certificate
        assert _photos(running) == ARCHIVE["photos"]  # the same data
        assert (target / "originals/harbour.jpg").read_bytes() == b"harbour" * 5000
    finally:
        run_cli("--dir", str(target), "down")


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
