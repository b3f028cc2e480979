"""Every service comes back by itself after a crash, whatever stackctl did to the stack before: a
hitless reload, a renewal through the runtime API or through a reload. Docker used to count the
reload's signal (sent through its kill endpoint) as a manual stop and leave the next crash down.
Under continuous HTTPS load: only the HAProxy crash window may fail; PhotoPrism's maintenance 503 is
not a failure."""

from __future__ import annotations

import json
from typing import Any

from tests.crash import crashes_under_load
from tests.docker.conftest import Stack
from tests.helpers import wait_until

DOMAIN = "photos.example.com"
ALIAS = "photo.example.com"


def _renew(stack: Stack, expected_path: str) -> None:
    code, _, err = stack.cli("certs", "renew", "--force")
    assert code == 0, err
    last = json.loads((stack.root / "certs/renewals.jsonl").read_text().splitlines()[-1])
    assert last["path"] == expected_path and last["result"] == "ok", last


def test_every_service_comes_back_after_a_crash_after_each_kind_of_change(stack_each_haproxy: Stack) -> None:
    stack = stack_each_haproxy
    stack.up()
    with crashes_under_load(stack.client, stack.name, stack.https, DOMAIN, stack.ca) as crashes:
        stack.edit("aliases: []", f"aliases: [{ALIAS}]")
        assert "reloaded haproxy (config changed)" in stack.up()
        crashes.crash("haproxy")

        _renew(stack, "runtime-api")
        crashes.crash("haproxy")

        sock = stack.root / "run/haproxy/admin.sock"
        hidden = sock.with_name("hidden.sock")
        sock.rename(hidden)  # the runtime API cannot be reached: the renewal reloads HAProxy
        try:
            _renew(stack, "reload")
        finally:
            hidden.rename(sock)
        crashes.crash("haproxy", "photoprism", "mariadb")
    assert crashes.failures_outside_haproxy_crashes() == []
    windows = [round(end - start, 2) for start, end in crashes.haproxy_down]
    print(f"back after (s): {crashes.back_after_s}; HAProxy windows with slack (s): {windows}")

    seen: dict[str, object] = {}

    def healthy() -> bool:
        code, out, _ = stack.cli("status", "--json")
        seen.update(json.loads(out))
        return code == 0

    wait_until(healthy, 30, "status to be healthy", every=0.5)
    status: dict[str, Any] = dict(seen)
    restarts = {c["service"]: c["restarts"] for c in status["containers"]}
    assert restarts == {"haproxy": 3, "photoprism": 1, "mariadb": 1}, restarts
    last_exits = {c["service"]: c["last_exit"] for c in status["containers"]}
    assert all(e is not None and e["code"] == 137 and e["age_s"] < 600 for e in last_exits.values()), last_exits
    assert "haproxy restarted 3 times" in status["verdict"] and "mariadb restarted" in status["verdict"]
    code, _, err = stack.cli("verify")
    assert code == 0, err
