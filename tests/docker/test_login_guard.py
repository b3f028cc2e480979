"""The login throttle on a running stack: the real client address counts (a network namespace the test
creates is banned, 127.0.0.1 is not), status lists the ban and `guard unban` lifts it."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest

from tests.docker.conftest import Stack
from tests.guard_client import https_from, login_from
from tests.netns import Namespace, network_namespace

DOMAIN = "photos.example.com"
DEFAULT_FAILURES, DEFAULT_BAN_S = 10, 600


@pytest.fixture
def client_namespace() -> Iterator[Namespace]:
    with network_namespace(f"stkg{time.monotonic_ns() % 100000}", "10.251.93.1", "10.251.93.2") as namespace:
        yield namespace


def test_twenty_failed_logins_ban_the_real_client_address_until_unban(
    stack_each_haproxy: Stack, client_namespace: Namespace
) -> None:
    stack, outside = stack_each_haproxy, client_namespace
    stack.edit("bind: 127.0.0.1", "bind: 0.0.0.0")  # reachable from the namespace's veth address too
    stack.up()
    code, admin_password, _ = stack.cli("secrets", "show", "admin")
    assert code == 0
    admin_password = admin_password.strip()

    statuses = [login_from(outside, stack.https, DOMAIN, stack.ca, "wrong")[0] for _ in range(20)]
    assert statuses == [401] * DEFAULT_FAILURES + [429] * (20 - DEFAULT_FAILURES), "the default: 10 failures"
    status, retry_after = login_from(outside, stack.https, DOMAIN, stack.ca, admin_password)
    assert status == 429 and DEFAULT_BAN_S - 60 <= int(retry_after) <= DEFAULT_BAN_S

    # Another address logs in; the banned one still reaches the rest of the site.
    assert login_from(None, stack.https, DOMAIN, stack.ca, admin_password)[0] == 200
    assert https_from(outside, stack.https, DOMAIN, stack.ca, "/api/v1/status")[0] == 200

    code, out, err = stack.cli("status", "--json")
    guard = json.loads(out)["sites"][0]["login_guard"]
    assert [ban["address"] for ban in guard["banned"]] == [outside.inner_ip], err
    assert guard["banned"][0]["failures"] == DEFAULT_FAILURES
    code, out, _ = stack.cli("status")
    assert f"{outside.inner_ip} for " in out and f"stackctl guard unban {outside.inner_ip}" in out

    code, out, err = stack.cli("guard", "unban", outside.inner_ip)
    assert code == 0, err
    assert f"the ban on {outside.inner_ip} is lifted" in out
    assert login_from(outside, stack.https, DOMAIN, stack.ca, admin_password)[0] == 200
    code, out, _ = stack.cli("status", "--json")
    assert json.loads(out)["sites"][0]["login_guard"] == {"banned": []}
