"""ports.bind as a list of an IPv4 and an IPv6 address, with one site and with two PhotoPrism sites: the
stack answers HTTPS on 127.0.0.1 and on [::1] with the same certificate, and `up`, `verify` and `status`
check each address. `up` warns that IPv6 clients reach HAProxy through Docker's proxy."""

from __future__ import annotations

import http.client
import json
import socket
import ssl
from pathlib import Path

import docker
import pytest
from cryptography import x509

from tests.docker.conftest import Stack, make_stack

DOMAIN, BOB = "photos.example.com", "bob.example.com"


def _answer(address: str, port: int, ca: str, domain: str) -> tuple[int, int]:
    """(HTTP status of /api/v1/status, serial of the certificate served) at address:port."""
    ctx = ssl.create_default_context(cafile=ca)
    with (
        socket.create_connection((address, port), timeout=10) as raw,
        ctx.wrap_socket(raw, server_hostname=domain) as tls,
    ):
        der = tls.getpeercert(binary_form=True)
        assert der is not None
        conn = http.client.HTTPConnection(address, port, timeout=10)
        conn.sock = tls
        conn.request("GET", "/api/v1/status", headers={"Host": domain})
        return conn.getresponse().status, x509.load_der_x509_certificate(der).serial_number


@pytest.mark.parametrize("sites", [[DOMAIN], [DOMAIN, BOB]], ids=["one-site", "two-photoprism-sites"])
def test_a_dual_stack_answers_on_both_families_with_one_certificate_and_each_is_checked(
    docker_client: docker.DockerClient, tmp_path: Path, sites: list[str]
) -> None:
    with make_stack(docker_client, tmp_path / "stack", sites_form=len(sites) > 1) as stack:
        for domain in sites[1:]:
            code, out, err = stack.cli("sites", "add", domain)
            assert code == 0, err + out
        stack.edit("bind: 127.0.0.1", 'bind: [127.0.0.1, "::1"]')
        _check(stack, sites)


def _check(stack: Stack, sites: list[str]) -> None:
    code, out, err = stack.cli("up", "--timeout", "180")
    assert code == 0, err + out
    assert "IPv6 client as one address" in err
    assert f"[::1]:{stack.https}" in (stack.root / "compose/compose.yaml").read_text()
    for domain in sites:
        ipv4 = _answer("127.0.0.1", stack.https, stack.ca, domain)
        ipv6 = _answer("::1", stack.https, stack.ca, domain)
        assert ipv4[0] == 200 and ipv4 == ipv6, domain

    code, out, err = stack.cli("verify", "--json")
    assert code == 0, err + out
    checked = json.loads(out)["sites"]
    assert set(checked) == {f"{domain} @ {address}" for domain in sites for address in ("127.0.0.1", "::1")}
    assert all(result["ok"] for result in checked.values()), checked

    code, out, err = stack.cli("status", "--json")
    assert code == 0, err + out
    status = json.loads(out)
    assert status["healthy"], status["verdict"]
    assert sorted(status["edges"]) == ["127.0.0.1", "::1"] and all(r["ok"] for r in status["edges"].values())
