"""Exposure on a running stack. The client outside `allow:` is this host (127.0.0.1 reaches the stack
through Docker's proxy, so HAProxy sees the stack network's gateway); the allowed client is a network
namespace the test creates."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator

import pytest

from tests.docker.conftest import Stack
from tests.guard_client import SHARE, SHARED_ALBUM, Answer, login_from, open_share_page, request_from
from tests.netns import Namespace, network_namespace

DOMAIN = "photos.example.com"


@pytest.fixture
def inside() -> Iterator[Namespace]:
    with network_namespace(f"stke{time.monotonic_ns() % 100000}", "10.251.94.1", "10.251.94.2") as namespace:
        yield namespace


def _expose(stack: Stack, exposure: str, inside: Namespace) -> str:
    """Bring the stack up with `exposure`, allowing the namespace; returns the admin password."""
    stack.edit("bind: 127.0.0.1", "bind: 0.0.0.0")
    with (stack.root / "stack.yaml").open("a") as spec:
        spec.write(f"exposure: {exposure}\nallow: [{inside.inner_ip}/32]\n")
    stack.up()
    code, password, _ = stack.cli("secrets", "show", "admin")
    assert code == 0
    return password.strip()


def _get(stack: Stack, who: Namespace | None, path: str, *headers: str) -> Answer:
    return request_from(who, stack.https, DOMAIN, stack.ca, "GET", path, headers)


def _propfind(stack: Stack, who: Namespace | None, password: str) -> int:
    basic = base64.b64encode(f"admin:{password}".encode()).decode()
    headers = (f"Authorization: Basic {basic}", "Depth: 1")
    return request_from(who, stack.https, DOMAIN, stack.ca, "PROPFIND", "/originals/", headers).status


def test_shares_publish_a_share_page_and_keep_the_library_private(stack_each_haproxy: Stack, inside: Namespace) -> None:
    stack = stack_each_haproxy
    password = _expose(stack, "shares", inside)

    loaded = open_share_page(stack.https, stack.ca, None)
    assert len(loaded) >= 8, loaded
    refused = _get(stack, None, "/api/v1/photos")
    assert refused.status == 403 and "is private" in refused.body and "Your address, " in refused.body
    assert login_from(None, stack.https, DOMAIN, stack.ca, password)[0] == 403
    assert _get(stack, None, "/library/browse").status == 403
    assert _propfind(stack, None, password) == 403
    forged = "X-Auth-Token: " + "0" * 48
    assert _get(stack, None, f"/api/v1/albums/{SHARED_ALBUM}", forged).status == 403

    assert login_from(inside, stack.https, DOMAIN, stack.ca, password)[0] == 200
    assert _get(stack, inside, "/api/v1/photos").status == 200
    assert _propfind(stack, inside, password) == 207
    open_share_page(stack.https, stack.ca, inside)
    _doctor_passes_as_an_allowed_address(stack, inside.inner_ip)


def test_private_lets_only_the_allowed_addresses_in(stack: Stack, inside: Namespace) -> None:
    password = _expose(stack, "private", inside)
    for path in (SHARE, "/", "/static/build/share.js"):
        answer = _get(stack, None, path)
        assert answer.status == 403 and f"{DOMAIN} is private" in answer.body
    assert login_from(inside, stack.https, DOMAIN, stack.ca, password)[0] == 200
    assert _get(stack, inside, SHARE).status == 200


def _doctor_passes_as_an_allowed_address(stack: Stack, allowed: str) -> None:
    """The host is not in allow:, so the doctor comes in as an allowed address, over its own listener."""
    code, out, err = stack.cli("doctor", "--json", "--upload-size", "8MiB")
    (site,) = json.loads(out)["sites"]
    assert code == 0 and site["caller"] == f"test address {allowed}", (err, site)
    assert {c["outcome"] for c in site["checks"]} == {"pass"}, site
    code, status, _ = stack.cli("status", "--json")
    assert json.loads(status)["sites"][0]["login_guard"]["banned"] == []


def test_the_doctor_checks_a_private_site_as_an_allowed_address(stack: Stack, inside: Namespace) -> None:
    _expose(stack, "private", inside)
    _doctor_passes_as_an_allowed_address(stack, inside.inner_ip)
