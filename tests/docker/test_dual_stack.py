"""ports.bind as a list of an IPv4 and an IPv6 address, with one site and with two PhotoPrism sites: the
stack answers HTTPS on 127.0.0.1 and on [::1] with the same certificate, and `up`, `verify` and `status`
check each address. An IPv6 client routed to the host (from a network namespace the test creates) keeps
its own address: HAProxy passes it to PhotoPrism, which trusts HAProxy's network, and the login throttle
bans that address alone."""

from __future__ import annotations

import http.client
import ipaddress
import json
import socket
import ssl
import time
from pathlib import Path

import docker
import pytest
from cryptography import x509

from stackctl.engines.docker.engine import IP6TABLES_BY_DEFAULT
from tests.docker.conftest import Stack, make_stack
from tests.guard_client import login_from, request_from
from tests.netns import network_namespace

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
    # Docker before 27 routes IPv6 to containers only when dockerd was told to, which its API does not say.
    assert ("IPv6 clients keep their own address only if" in err) == (_major(stack.client) < IP6TABLES_BY_DEFAULT)
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


@pytest.mark.parametrize("sites", [[DOMAIN], [DOMAIN, BOB]], ids=["one-site", "two-photoprism-sites"])
def test_an_ipv6_client_keeps_its_own_address_through_haproxy_to_photoprism_and_the_throttle(
    docker_client: docker.DockerClient, tmp_path: Path, sites: list[str]
) -> None:
    name = f"stk6{time.monotonic_ns() % 100000}"
    with (
        network_namespace(name, "fd00:7e57::1", "fd00:7e57::2") as outside,
        make_stack(docker_client, tmp_path / "stack", sites_form=len(sites) > 1) as stack,
    ):
        for domain in sites[1:]:
            code, out, err = stack.cli("sites", "add", domain)
            assert code == 0, err + out
        stack.edit("bind: 127.0.0.1", f'bind: [127.0.0.1, "{outside.host_ip}"]')
        stack.up()
        compose = (stack.root / "compose/compose.yaml").read_text()
        trusted = [ipaddress.ip_network(r) for r in _env(compose, "PHOTOPRISM_TRUSTED_PROXY").split(",")]

        for domain in sites:
            answer = request_from(outside, stack.https, domain, stack.ca, "GET", "/api/v1/headers")
            seen = json.loads(answer.body)
            assert answer.status == 200, answer
            assert seen["headers"]["x-forwarded-for"] == outside.inner_ip, (
                f"{seen}: an IPv4 address here is Docker's userland proxy; the engine must route IPv6 itself "
                "(dockerd --experimental --ip6tables, as tests/setup-env.sh starts it)"
            )
            # PhotoPrism takes X-Forwarded-For from a peer in its trusted ranges only: HAProxy is one.
            assert any(ipaddress.ip_address(seen["peer"]) in r for r in trusted), (seen["peer"], trusted)

        statuses = [login_from(outside, stack.https, DOMAIN, stack.ca, "wrong")[0] for _ in range(11)]
        assert statuses == [401] * 10 + [429], "the default: 10 failures from the IPv6 client's address"
        assert login_from(None, stack.https, DOMAIN, stack.ca, "wrong")[0] == 401, "127.0.0.1 is not banned"
        code, out, err = stack.cli("status", "--json")
        guard = json.loads(out)["sites"][0]["login_guard"]
        assert [ban["address"] for ban in guard["banned"]] == [outside.inner_ip], err
        code, out, err = stack.cli("guard", "unban", outside.inner_ip)
        assert code == 0, err
        assert login_from(outside, stack.https, DOMAIN, stack.ca, "wrong")[0] == 401


def _env(compose: str, key: str) -> str:
    return next(line.split(":", 1)[1].strip() for line in compose.splitlines() if line.strip().startswith(f"{key}:"))


def _major(client: docker.DockerClient) -> int:
    return int(str(client.version()["Version"]).split(".", 1)[0])


def test_adding_ipv6_to_a_running_stack_is_refused_until_down_and_up_make_its_network_again(
    docker_client: docker.DockerClient, tmp_path: Path
) -> None:
    with make_stack(docker_client, tmp_path / "stack") as stack:
        stack.up()
        stack.edit("bind: 127.0.0.1", 'bind: [127.0.0.1, "::1"]')
        code, out, err = stack.cli("up", "--timeout", "180")
        assert code == 2 and "carries no IPv6" in err and "run stackctl down, then stackctl up" in err, err + out
        assert _answer("127.0.0.1", stack.https, stack.ca, DOMAIN)[0] == 200, "the stack still serves"

        code, out, err = stack.cli("down")
        assert code == 0, err + out
        stack.up()
        stack.up()  # its network, with IPv6 now, is the stack's own: the next up finds it as it should be
        assert _answer("::1", stack.https, stack.ca, DOMAIN) == _answer("127.0.0.1", stack.https, stack.ca, DOMAIN)
