"""The login throttle on a running stack: the real client address counts (a network namespace the test
creates is banned, 127.0.0.1 is not), a share link still opens from the banned address, status lists
the ban, the ban ends after its time, and `guard unban` lifts the next one."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest

from tests.docker.conftest import Stack
from tests.guard_client import https_from, login_from, open_share_page
from tests.helpers import wait_until
from tests.netns import Namespace, network_namespace

DOMAIN = "photos.example.com"
DEFAULT_FAILURES, BAN_S = 10, 15


@pytest.fixture
def client_namespace() -> Iterator[Namespace]:
    with network_namespace(f"stkg{time.monotonic_ns() % 100000}", "10.251.93.1", "10.251.93.2") as namespace:
        yield namespace


def test_twenty_failed_logins_ban_the_real_client_address_until_it_ends_or_is_lifted(
    stack_each_haproxy: Stack, client_namespace: Namespace
) -> None:
    stack, outside = stack_each_haproxy, client_namespace
    stack.edit("bind: 127.0.0.1", "bind: 0.0.0.0")  # reachable from the namespace's veth address too
    with (stack.root / "stack.yaml").open("a") as spec:
        spec.write(f"guard: {{login: {{ban: {BAN_S}s}}}}\n")  # short, to see it end; the rest default
    stack.up()
    code, admin_password, _ = stack.cli("secrets", "show", "admin")
    assert code == 0
    admin_password = admin_password.strip()

    statuses, sent = [], []
    for _ in range(20):
        sent.append(time.monotonic())
        statuses.append(login_from(outside, stack.https, DOMAIN, stack.ca, "wrong")[0])
    banned_at = sent[DEFAULT_FAILURES - 1]  # at the latest: the ban starts with the answer to this one
    assert statuses == [401] * DEFAULT_FAILURES + [429] * (20 - DEFAULT_FAILURES), "the default: 10 failures"
    status, retry_after = login_from(outside, stack.https, DOMAIN, stack.ca, admin_password)
    assert status == 429 and 1 <= int(retry_after) <= BAN_S

    # Another address logs in; the banned one still opens a share link and reaches the rest of the site.
    assert login_from(None, stack.https, DOMAIN, stack.ca, admin_password)[0] == 200
    assert len(open_share_page(stack.https, stack.ca, outside)) >= 8
    assert https_from(outside, stack.https, DOMAIN, stack.ca, "/api/v1/status")[0] == 200

    code, out, err = stack.cli("status", "--json")
    guard = json.loads(out)["sites"][0]["login_guard"]
    assert [ban["address"] for ban in guard["banned"]] == [outside.inner_ip], err
    assert guard["banned"][0]["failures"] == DEFAULT_FAILURES
    code, out, _ = stack.cli("status")
    assert f"{outside.inner_ip} for " in out and f"stackctl guard unban {outside.inner_ip}" in out

    # The ban ends after its time by itself: the right password logs in again.
    wait_until(lambda: login_from(outside, stack.https, DOMAIN, stack.ca, admin_password)[0] == 200,
               BAN_S + 10, "the ban to end", every=0.25)  # fmt: skip
    assert time.monotonic() - banned_at >= BAN_S - 1  # HAProxy counts whole seconds

    # A repeat offender is banned again at once (for twice as long), and guard unban lifts that.
    assert login_from(outside, stack.https, DOMAIN, stack.ca, "wrong")[0] == 401
    status, retry_after = login_from(outside, stack.https, DOMAIN, stack.ca, admin_password)
    assert status == 429 and BAN_S < int(retry_after) <= 2 * BAN_S
    code, out, err = stack.cli("guard", "unban", outside.inner_ip)
    assert code == 0, err
    assert f"the ban on {outside.inner_ip} is lifted" in out
    assert login_from(outside, stack.https, DOMAIN, stack.ca, admin_password)[0] == 200
    code, out, _ = stack.cli("status", "--json")
    assert json.loads(out)["sites"][0]["login_guard"] == {"banned": []}
