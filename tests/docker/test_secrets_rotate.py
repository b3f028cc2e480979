"""Passwords of a stack that has run are never lost: `init --force` keeps every secret (and `up` is
healthy after it), and `secrets rotate database` and `admin` change a site's passwords under load without
a failed request, on HAProxy 3.0 and 2.6 and in both forms of stack.yaml where they apply; a rotation
MariaDB cannot take changes nothing."""

from __future__ import annotations

import base64
import http.client
import json
import time
from pathlib import Path

import docker
import pytest

from stackctl.config.layout import StackPaths
from stackctl.config.secrets import read_env_file
from stackctl.config.spec import load_spec
from stackctl.core.clock import Deadline
from stackctl.engines.docker.engine import connect_engine
from stackctl.engines.model import services
from tests.crash import crash, wait_back
from tests.docker.conftest import HAPROXY_IMAGES, Stack, make_stack
from tests.helpers import https_json, https_to, wait_until
from tests.load import FreshConnections

DOMAIN = "photos.example.com"
SERVICE = "photoprism-photos-example-com"
SECRET = "secrets/sites/photos-example-com.env"


def _password(stack: Stack) -> str:
    return read_env_file(stack.root / SECRET)["PHOTOPRISM_DATABASE_PASSWORD"]


def _rotate_under_load(stack: Stack, *argv: str) -> tuple[str, str]:
    """`secrets rotate ARGV` while fresh TLS connections ask for /api/v1/photos (a query each): it must
    succeed with no failed request. Returns its output and error text."""
    load = FreshConnections(stack.https, DOMAIN, stack.ca, path="/api/v1/photos")
    with load:
        wait_until(lambda: load.ok > 20, 30, "load before the rotation")
        code, out, err = stack.cli("secrets", "rotate", *argv, "--timeout", "120")
        done = time.monotonic()
        wait_until(lambda: load.ok_after(done) > 20, 30, "load after the rotation")
    assert code == 0, err + out
    assert load.failures == [], load.failures[:5]
    return out, err


def _admin_login(stack: Stack, password: str) -> int:
    """The status of PhotoPrism's login API for `admin`, through the stack's HTTPS."""
    conn = https_to("127.0.0.1", stack.https, DOMAIN, stack.ca)
    body = json.dumps({"username": "admin", "password": password})
    conn.request("POST", "/api/v1/session", body=body, headers={"Host": DOMAIN, "Content-Type": "application/json"})
    return conn.getresponse().status


def _rotate_admin_under_load(stack: Stack, secret: str) -> None:
    old = read_env_file(stack.root / secret)["PHOTOPRISM_ADMIN_PASSWORD"]
    assert _admin_login(stack, old) == 200
    out, err = _rotate_under_load(stack, "admin")
    new = read_env_file(stack.root / secret)["PHOTOPRISM_ADMIN_PASSWORD"]
    assert new != old and new not in out + err
    assert _admin_login(stack, new) == 200 and _admin_login(stack, old) == 401
    code, out, _ = stack.cli("up", "--timeout", "120")
    assert code == 0 and "recreating" not in out  # the container's environment matches the file


def _stats_status(stack: Stack, password: str) -> int:
    token = base64.b64encode(f"admin:{password}".encode()).decode()
    conn = http.client.HTTPConnection("127.0.0.1", stack.stats, timeout=10)
    conn.request("GET", "/metrics", headers={"Authorization": f"Basic {token}"})
    return conn.getresponse().status


def _rotate_stats_under_load(stack: Stack) -> None:
    old = read_env_file(stack.root / "secrets/haproxy.env")["STATS_PASSWORD"]
    assert _stats_status(stack, old) == 200
    haproxy = stack.container("haproxy").id
    out, err = _rotate_under_load(stack, "stats")
    new = read_env_file(stack.root / "secrets/haproxy.env")["STATS_PASSWORD"]
    assert new != old and new not in out + err and new not in (stack.root / "compose/haproxy/haproxy.cfg").read_text()
    assert _stats_status(stack, new) == 200 and _stats_status(stack, old) == 401
    assert stack.container("haproxy").id == haproxy  # a reload, not a new container
    code, out, _ = stack.cli("up", "--timeout", "120")
    assert code == 0 and "recreating" not in out


def _logs_in(stack: Stack, password: str, user: str = "pp_photos_example_com") -> bool:
    """Whether MariaDB lets the site's user in with `password` (over TCP, as PhotoPrism connects)."""
    code, _ = stack.container("mariadb").exec_run(
        ["mariadb", "-h127.0.0.1", f"-u{user}", f"-p{password}", "-e", "SELECT 1"]
    )
    return code == 0


@pytest.mark.parametrize("haproxy", HAPROXY_IMAGES, ids=lambda image: image.rsplit(":", 1)[1])
def test_init_force_keeps_secrets_and_rotation_under_load_fails_no_request(
    docker_client: docker.DockerClient, tmp_path: Path, haproxy: str
) -> None:
    with make_stack(docker_client, tmp_path / "stack", sites_form=True, haproxy=haproxy) as stack:
        stack.up()
        secrets = {p: p.read_bytes() for p in (stack.root / "secrets").rglob("*.env")}
        tuned = (stack.root / "stack.yaml").read_text()
        code, out, err = stack.cli("init", "--domain", DOMAIN, "--force")
        assert code == 0 and "Kept the existing passwords" in out, err
        assert {p: p.read_bytes() for p in secrets} == secrets
        (stack.root / "stack.yaml").write_text(tuned)  # the test's ports and images again
        stack.up()  # MariaDB and PhotoPrism still agree on the kept password

        old = _password(stack)
        old_id = stack.container(SERVICE).id
        out, err = _rotate_under_load(stack, "database")
        new = _password(stack)
        assert new != old and f"Rotated the database password of {DOMAIN}" in out
        assert (stack.root / SECRET).stat().st_mode & 0o777 == 0o600
        assert stack.container(SERVICE).id != old_id  # PhotoPrism runs anew with the new password...
        assert sorted(stack.containers()) == ["haproxy", "mariadb", SERVICE]  # ...under its own name, once
        assert _logs_in(stack, new) and not _logs_in(stack, old)
        assert new not in out + err
        code, out, _ = stack.cli("up", "--timeout", "120")
        assert code == 0 and "recreating" not in out  # nothing drifted
        _rotate_admin_under_load(stack, SECRET)
        _rotate_stats_under_load(stack)


def test_the_single_site_form_rotates_both_passwords_under_load(
    docker_client: docker.DockerClient, tmp_path: Path
) -> None:
    with make_stack(docker_client, tmp_path / "stack") as stack:
        stack.up()
        secrets = {p: p.read_bytes() for p in (stack.root / "secrets").rglob("*.env")}
        code, out, err = stack.cli("init", "--force")  # the single-site stack.yaml stays; so does every password
        assert code == 0 and "Kept the existing passwords" in out, err
        assert {p: p.read_bytes() for p in secrets} == secrets
        stack.up()
        _rotate_admin_under_load(stack, "secrets/photoprism.env")
        mariadb = stack.container("mariadb").id
        old = read_env_file(stack.root / "secrets/mariadb.env")["MARIADB_PASSWORD"]
        _rotate_under_load(stack, "database")
        new = read_env_file(stack.root / "secrets/photoprism.env")["PHOTOPRISM_DATABASE_PASSWORD"]
        assert new != old and read_env_file(stack.root / "secrets/mariadb.env")["MARIADB_PASSWORD"] == new
        assert _logs_in(stack, new, "photoprism") and not _logs_in(stack, old, "photoprism")
        code, out, _ = stack.cli("up", "--timeout", "120")
        assert code == 0 and "recreating" not in out and stack.container("mariadb").id == mariadb


def test_a_rotation_mariadb_cannot_take_changes_nothing(docker_client: docker.DockerClient, tmp_path: Path) -> None:
    with make_stack(docker_client, tmp_path / "stack", sites_form=True) as stack:
        stack.up()
        before = (stack.root / SECRET).read_bytes()
        photoprism = stack.container(SERVICE).id
        stack.container("mariadb").stop(timeout=10)
        code, out, err = stack.cli("secrets", "rotate", "database", "--timeout", "60")
        assert code == 1, err + out
        assert err.startswith("error: mariadb is not running") and "nothing was changed" in err
        assert (stack.root / SECRET).read_bytes() == before
        assert stack.container(SERVICE).id == photoprism


def test_up_and_down_remove_what_an_interrupted_replacement_left(
    docker_client: docker.DockerClient, tmp_path: Path
) -> None:
    with make_stack(docker_client, tmp_path / "stack", sites_form=True) as stack:
        stack.up()
        own = stack.container(SERVICE).id
        paths = StackPaths(stack.root)
        spec = load_spec(paths.spec)
        service = services(spec, paths, only=SERVICE)[0]
        # A rotation stopped right after its new container started (the process was killed there).
        connect_engine().start_beside(spec, paths, service, Deadline(120), lambda line: None)
        assert len(docker_client.containers.list(filters={"name": f"{stack.name}-{SERVICE}"})) == 2
        out = stack.up()
        assert f"removing {stack.name}-{SERVICE}-1-next: left over by an interrupted replacement" in out
        assert stack.container(SERVICE).id == own and sorted(stack.containers()) == ["haproxy", "mariadb", SERVICE]
        connect_engine().start_beside(spec, paths, service, Deadline(120), lambda line: None)
        code, out, err = stack.cli("down")
        assert code == 0, err
        assert stack.containers() == {}


def test_with_two_photoprism_sites_one_rotates_alone_and_its_new_container_comes_back_after_a_crash(
    docker_client: docker.DockerClient, tmp_path: Path
) -> None:
    bob, bob_service, bob_secret = "bob.example.com", "photoprism-bob-example-com", "secrets/sites/bob-example-com.env"
    with make_stack(docker_client, tmp_path / "stack", sites_form=True) as stack:
        code, _, err = stack.cli("sites", "add", bob)
        assert code == 0, err
        stack.up()
        alice_before = (stack.root / SECRET).read_bytes()
        alice_id = stack.container(SERVICE).id
        old = read_env_file(stack.root / bob_secret)["PHOTOPRISM_DATABASE_PASSWORD"]
        out, _ = _rotate_under_load(stack, "database", "--site", bob)  # the load is on the other site
        assert f"Rotated the database password of {bob}" in out and DOMAIN not in out
        assert (stack.root / SECRET).read_bytes() == alice_before and stack.container(SERVICE).id == alice_id
        new = read_env_file(stack.root / bob_secret)["PHOTOPRISM_DATABASE_PASSWORD"]
        assert _logs_in(stack, new, "pp_bob_example_com") and not _logs_in(stack, old, "pp_bob_example_com")
        # The container that took over is managed like any other: Docker restarts it after a crash.
        crashed = crash(docker_client, f"{stack.name}-{bob_service}-1", bob_service)
        back = wait_back(docker_client, crashed)
        # HAProxy's health checks (inter 2s, rise 2) then see it up again, at the address it now has.
        wait_until(lambda: _bob_status(stack, bob) == 200, 30, f"HAProxy to serve {bob} again")
        assert time.monotonic() - back < 15
        code, out, err = stack.cli("verify")
        assert code == 0, err + out


def _bob_status(stack: Stack, bob: str) -> int:
    try:
        return https_json(stack.https, bob, stack.ca, "GET", "/api/v1/status")[0]
    except OSError:
        return -1
