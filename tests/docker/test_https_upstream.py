"""An https:// upstream on the real images: a container of the user's serving HTTPS only, with a
certificate from its own CA. `up` refuses it while its certificate cannot be verified (one line, the
running stack untouched), serves it with its ca_file, and with verify: false."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import docker
import pytest

from tests.certfactory import make_cert
from tests.docker.conftest import UPSTREAM_IMAGE, Stack, make_stack
from tests.helpers import hash_tree, https_to, wait_until

APP = "app.example.com"


@dataclass
class Secure:
    stack: Stack
    host: str  # the container's name on the user's network, which its certificate is for
    network: str
    ca: Path


@pytest.fixture()
def secure(docker_client: docker.DockerClient, tmp_path: Path) -> Iterator[Secure]:
    tag = secrets.token_hex(3)
    host = f"secure-app-{tag}"
    ca = make_cert("secure-app test CA", ca=True)
    leaf = make_cert(host, ca, [host])
    tls = tmp_path / "tls"
    tls.mkdir()
    (tls / "ca.pem").write_bytes(ca.cert_pem)
    (tls / "app.pem").write_bytes(leaf.cert_pem)
    (tls / "app.key").write_bytes(leaf.key_pem())
    (tls / "app.key").chmod(0o644)  # read by the app's user in its container
    network = docker_client.networks.create(f"stkhttps-{tag}", driver="bridge")
    app = docker_client.containers.run(
        UPSTREAM_IMAGE, name=host, network=network.name, detach=True,
        volumes={str(tls): {"bind": "/tls", "mode": "ro"}},
        environment={"UPSTREAM_NAME": "secure", "UPSTREAM_PORT": "8443", "UPSTREAM_TLS_CERT": "/tls/app.pem",
                     "UPSTREAM_TLS_KEY": "/tls/app.key"},
    )  # fmt: skip
    try:
        with make_stack(docker_client, tmp_path / "stack", sites_form=True) as stack:
            stack.up()
            yield Secure(stack, host, network.name, tls / "ca.pem")
            stack.cli("down")
    finally:
        app.remove(force=True)
        network.reload()
        for container in network.containers:
            network.disconnect(container, force=True)
        network.remove()


def _get(stack: Stack) -> dict[str, object]:
    conn = https_to("127.0.0.1", stack.https, APP, stack.ca)
    conn.request("GET", "/from-haproxy", headers={"Host": APP})
    response = conn.getresponse()
    body = response.read()
    assert response.status == 200, body
    return dict(json.loads(body))


def test_an_unverifiable_upstream_is_refused_then_served_with_its_ca_file(secure: Secure) -> None:
    stack = secure.stack
    url = f"https://{secure.host}:8443"
    code, _, err = stack.cli("sites", "add", APP, "--upstream", url, "--network", secure.network, "--health", "/health")
    assert code == 0, err
    haproxy, compose = stack.containers()["haproxy"], hash_tree(stack.root / "compose")
    code, out, err = stack.cli("up", "--timeout", "120")
    assert code != 0, out
    (line,) = err.strip().splitlines()
    assert line.startswith(f"error: {APP}: the certificate of {url} does not verify against this host's trust store")
    assert "set upstream.ca_file to the CA that signed it, or upstream.verify: false" in line
    assert hash_tree(stack.root / "compose") == compose and stack.containers()["haproxy"] == haproxy

    stack.edit("      health: /health", f"      health: /health\n      ca_file: {secure.ca}")
    stack.up()
    answer = _get(stack)
    assert (answer["upstream"], answer["sni"], answer["path"]) == ("secure", secure.host, "/from-haproxy")

    def checked() -> dict[str, str]:
        _, out, _ = stack.cli("status", "--json")
        rows = json.loads(out)["backends"] or []
        return next(b for b in rows if b["proxy"] == "upstream-app-example-com" and b["kind"] == "server")

    # After the reload the server keeps its state until its first check: then /health answers, over TLS.
    wait_until(lambda: checked()["check"] != "INI", 10, "the first health check after the reload")
    assert (checked()["status"], checked()["check"]) == ("UP", "L7OK")


def test_verify_false_serves_it_without_its_ca(secure: Secure) -> None:
    stack = secure.stack
    url = f"https://{secure.host}:8443"
    code, _, err = stack.cli("sites", "add", APP, "--upstream", url, "--network", secure.network, "--no-verify")
    assert code == 0, err
    stack.up()
    assert _get(stack)["sni"] == secure.host
