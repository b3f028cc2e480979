"""Many sites behind one HAProxy, on the real engine: two PhotoPrism stand-ins sharing MariaDB and one
upstream app. Each site answers with its own certificate and content, each PhotoPrism reaches only its
own database, a fourth site joins under load without a failed request, and one stopped site leaves
the others serving while `status` names it."""

from __future__ import annotations

import contextlib
import json
import socket
import ssl
import time
from collections.abc import Iterator
from pathlib import Path

import docker
import docker.errors
import pytest
from cryptography import x509

from tests.crash import crashes_under_load, ok_or_maintenance
from tests.docker.conftest import UPSTREAM_IMAGE, Stack, make_stack
from tests.h2client import H2Load
from tests.helpers import wait_until
from tests.load import FreshConnections, haproxy_log_problems

ALICE, BOB, BOB_ALIAS, APP, CAROL = (
    "photos.example.com", "bob.example.com", "b.example.com", "app.example.com", "carol.example.com",
)  # fmt: skip


def _request(
    stack: Stack, host: str, method: str, path: str, body: bytes = b"", sni: str | None = None
) -> tuple[int, bytes, x509.Certificate]:
    """One request with SNI (`sni`, else `host`) and Host `host`, verified against the stack CA:
    (status, body, certificate)."""
    ctx = ssl.create_default_context(cafile=stack.ca)
    head = f"{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: {len(body)}\r\n"
    head += "Content-Type: application/json\r\nConnection: close\r\n\r\n"
    with (
        socket.create_connection(("127.0.0.1", stack.https), timeout=10) as raw,
        ctx.wrap_socket(raw, server_hostname=sni or host) as tls,
    ):
        tls.sendall(head.encode() + body)
        reply = b""
        while chunk := tls.recv(65536):
            reply += chunk
        der = tls.getpeercert(binary_form=True)
    assert der is not None
    status_line, _, rest = reply.partition(b"\r\n")
    return int(status_line[9:12]), rest.partition(b"\r\n\r\n")[2], x509.load_der_x509_certificate(der)


def _names(cert: x509.Certificate) -> list[str]:
    return cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName)


@pytest.fixture(scope="module")
def sites(docker_client: docker.DockerClient, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The sites form: PhotoPrism at photos.example.com (from init), PhotoPrism at bob (with an alias)
    and the upstream app, all up."""
    with make_stack(docker_client, tmp_path_factory.mktemp("sites") / "stack", sites_form=True) as stack:
        for argv in (
            ["sites", "add", BOB, "--alias", BOB_ALIAS],
            ["sites", "add", APP, "--image", UPSTREAM_IMAGE, "--port", "8080", "--health", "/health"],
        ):
            code, _, err = stack.cli(*argv)
            assert code == 0, err
        stack.up()
        yield stack


def test_each_site_answers_with_its_own_certificate_and_its_own_app(sites: Stack) -> None:
    serials = set()
    for host, expected in ((ALICE, ALICE), (BOB, BOB), (BOB_ALIAS, BOB), (APP, APP)):
        status, _, cert = _request(sites, host, "GET", "/")
        assert status == 200 and host in _names(cert) and expected in _names(cert), (host, _names(cert))
        serials.add(cert.serial_number)
    assert len(serials) == 3  # one certificate per site, picked by SNI
    status, body, _ = _request(sites, APP, "GET", "/anything")
    answer = json.loads(body)
    assert answer["upstream"] == "upstream" and answer["path"] == "/anything"
    assert answer["headers"].get("x-forwarded-proto") == "https"
    # Each PhotoPrism keeps its own library: a photo added through one is not in the other.
    title = f"sunset-{time.monotonic_ns()}"
    assert _request(sites, ALICE, "POST", f"/api/v1/photos?title={title}")[0] == 201
    assert title in _request(sites, ALICE, "GET", "/api/v1/photos")[1].decode()
    assert title not in _request(sites, BOB, "GET", "/api/v1/photos")[1].decode()
    assert _request(sites, "nobody.example.com", "GET", "/", sni=ALICE)[0] == 404  # unknown host
    code, out, _ = sites.cli("verify", "--json", "--site", BOB_ALIAS)  # a site named by an alias
    report = json.loads(out)
    assert code == 0 and list(report["sites"]) == [BOB] and report["ok"], report
    code, out, _ = sites.cli("verify", "--json")
    report = json.loads(out)
    assert code == 0 and list(report["sites"]) == [ALICE, BOB, APP]
    assert [c["name"] for c in report["sites"][APP]["checks"]].count("websocket") == 0  # not PhotoPrism


CONNECT = """
import os, sys, pymysql
try:
    pymysql.connect(host="mariadb", user=os.environ["PHOTOPRISM_DATABASE_USER"],
                    password=os.environ["PHOTOPRISM_DATABASE_PASSWORD"], database=sys.argv[1]).close()
    print("connected")
except pymysql.err.OperationalError as e:
    print("refused", e.args[0])
"""


def test_each_photoprism_reaches_only_its_own_database(sites: Stack) -> None:
    alice = sites.container("photoprism-photos-example-com")
    bob = sites.container("photoprism-bob-example-com")
    own = alice.exec_run(["python3", "-c", CONNECT, "pp_photos_example_com"]).output.decode()
    other = alice.exec_run(["python3", "-c", CONNECT, "pp_bob_example_com"]).output.decode()
    assert own.strip() == "connected" and other.startswith("refused 1044"), (own, other)  # 1044: access denied
    assert bob.exec_run(["python3", "-c", CONNECT, "pp_photos_example_com"]).output.decode().startswith("refused")
    env = {k for k in alice.attrs["Config"]["Env"] if k.startswith("PHOTOPRISM_DATABASE_PASSWORD=")}
    assert env and env.isdisjoint(bob.attrs["Config"]["Env"])  # a password of its own


def test_the_doctor_checks_each_photoprism_site_and_refuses_the_upstream_one(sites: Stack) -> None:
    code, out, err = sites.cli("doctor", "--json", "--upload-size", "16MiB")
    result = json.loads(out)
    assert code == 0 and result["ok"], (err, result)
    assert [site["site"] for site in result["sites"]] == [ALICE, BOB]
    for site in result["sites"]:  # each site's own login, site URL, table and upload
        details = {check["check"]: check["detail"] for check in site["checks"]}
        assert details["site_url"] == f"PhotoPrism's site URL is https://{site['site']}:{sites.https}/", details
        assert details["upload"].startswith("16 MiB in "), details
    code, out, err = sites.cli("doctor", "--site", BOB, "--upload-size", "1MiB")
    assert code == 0 and BOB in out and ALICE not in out, err
    code, _, err = sites.cli("doctor", "--site", APP)
    assert code == 2 and err.startswith(f"error: --site {APP}: {APP} is an upstream site") and err.count("\n") == 1


def test_a_fourth_site_joins_under_load_without_a_failed_request(sites: Stack) -> None:
    haproxy_id = sites.containers()["haproxy"]
    ids = sites.containers()
    code, _, err = sites.cli("sites", "add", CAROL)
    assert code == 0, err
    log_since = int(time.time()) - 1
    loads = [FreshConnections(sites.https, host, sites.ca, path="/") for host in (ALICE, BOB, APP)]
    with H2Load(sites.https, ALICE, sites.ca) as h2, loads[0], loads[1], loads[2]:
        wait_until(lambda: h2.stats.ok > 100 and all(f.ok > 5 for f in loads), 30, "load before the change")
        started = time.monotonic()
        out = sites.up()
        wait_until(lambda: all(f.ok_after(started) > 5 for f in loads), 30, "load after the change")
    assert "reloaded haproxy (config changed)" in out and "recreating" not in out, out
    assert f"creating {sites.name}-photoprism-carol-example-com-1" in out
    after = sites.containers()
    assert after["haproxy"] == haproxy_id and all(after[s] == i for s, i in ids.items())  # only the new one
    assert h2.stats.failures == [], h2.stats.failures[:5]
    for load in loads:
        assert load.failures == [], load.failures[:5]
    assert haproxy_log_problems(sites.container("haproxy"), log_since) == []
    assert _request(sites, CAROL, "GET", "/api/v1/status")[0] == 200


def test_a_crashed_site_container_comes_back_by_itself_and_the_others_never_notice(sites: Stack) -> None:
    services = [s for s in sites.containers() if s.endswith(("bob-example-com", "app-example-com"))]
    assert len(services) == 2, services
    app, bob = (FreshConnections(sites.https, host, sites.ca, path="/", acceptable=ok_or_maintenance)
                for host in (APP, BOB))  # fmt: skip
    with app, bob, crashes_under_load(sites.client, sites.name, sites.https, ALICE, sites.ca) as crashes:
        for service in services:
            crashes.crash(service)  # the upstream app, then bob's PhotoPrism
        started = time.monotonic()
        wait_until(lambda: app.statuses.get(200, 0) > 5 and bob.ok_after(started) > 5, 60, "app and bob served")
    assert crashes.load.failures == []  # alice's PhotoPrism never noticed
    assert app.failures == [] and bob.failures == []  # at worst the maintenance answer
    code, out, _ = sites.cli("status", "--json")
    restarts = {c["service"]: c["restarts"] for c in json.loads(out)["containers"]}
    assert all(restarts[s] == 1 for s in services) and code == 0, out


def test_a_stopped_site_leaves_the_others_serving_and_status_names_it(sites: Stack) -> None:
    sites.container("photoprism-bob-example-com").stop(timeout=5)
    try:
        for host in (ALICE, APP):
            assert _request(sites, host, "GET", "/")[0] == 200
        code, out, _ = sites.cli("status", "--json")
        report = json.loads(out)
        assert code == 1 and "site bob.example.com" in report["verdict"], report["verdict"]
        rows = {s["domain"]: s for s in report["sites"]}
        assert not rows[BOB]["healthy"] and rows[ALICE]["healthy"] and rows[APP]["healthy"]
        assert report["domain"] == ALICE  # the old keys keep their meaning for the first site
        assert _request(sites, BOB, "GET", "/api/v1/status")[0] == 503  # the maintenance answer
    finally:
        sites.up()


def test_removing_a_site_removes_its_container_and_keeps_its_data(sites: Stack) -> None:
    code, out, _ = sites.cli("sites", "rm", BOB)
    assert code == 0 and "./sites/bob-example-com/originals" in out and "pp_bob_example_com" in out
    out = sites.up()
    assert f"removing {sites.name}-photoprism-bob-example-com-1" in out and "reloaded haproxy" in out
    assert "photoprism-bob-example-com" not in sites.containers()
    assert Path(sites.root / "sites/bob-example-com/storage").is_dir()
    assert (sites.root / "secrets/sites/bob-example-com.env").exists()
    assert _request(sites, BOB, "GET", "/")[0] == 404 and _request(sites, ALICE, "GET", "/")[0] == 200


def test_an_upstream_on_a_network_of_the_users_is_joined_live(sites: Stack) -> None:
    """A container HAProxy reaches by name on the user's own network: HAProxy joins that network
    without being recreated, and the new site answers from that container."""
    network = sites.client.networks.create(f"{sites.name}-media", driver="bridge")
    app = sites.client.containers.run(
        UPSTREAM_IMAGE, name=f"{sites.name}-jelly", network=network.name, environment={"UPSTREAM_NAME": "jelly"},
        detach=True,
    )  # fmt: skip
    try:
        haproxy_id = sites.containers()["haproxy"]
        url = f"http://{sites.name}-jelly:8080"
        code, _, err = sites.cli("sites", "add", "media.example.com", "--upstream", url, "--network", network.name)
        assert code == 0, err
        out = sites.up()
        assert f"connecting {sites.name}-haproxy-1 to network {network.name}" in out and "recreating" not in out
        assert sites.containers()["haproxy"] == haproxy_id
        status, body, _ = _request(sites, "media.example.com", "GET", "/from-haproxy")
        assert status == 200 and json.loads(body)["upstream"] == "jelly"
        assert sites.cli("up")[0] == 0  # a second up finds it joined already
    finally:
        with contextlib.suppress(docker.errors.APIError):
            sites.cli("sites", "rm", "media.example.com")
            sites.up()
        app.remove(force=True)
        with contextlib.suppress(docker.errors.APIError):
            sites.container("haproxy").reload()
            network.disconnect(sites.container("haproxy"), force=True)
        network.remove()


def test_with_sqlite_each_photoprism_site_has_its_own_database_file(
    docker_client: docker.DockerClient, tmp_path: Path
) -> None:
    with make_stack(docker_client, tmp_path / "stack", database="sqlite", sites_form=True) as stack:
        code, _, err = stack.cli("sites", "add", BOB)
        assert code == 0, err
        out = stack.up()
        assert "mariadb" not in stack.containers() and "database and user ready" not in out
        title = f"only-alice-{time.monotonic_ns()}"
        assert _request(stack, ALICE, "POST", f"/api/v1/photos?title={title}")[0] == 201
        assert title not in _request(stack, BOB, "GET", "/api/v1/photos")[1].decode()
        for slug in ("photos-example-com", "bob-example-com"):
            assert (stack.root / f"sites/{slug}/storage/index.db").is_file()
