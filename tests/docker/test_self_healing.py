"""Every service comes back by itself after a crash, whatever stackctl did to the stack before: a
hitless reload, a renewal through the runtime API or through a reload. Docker used to count the
reload's signal (sent through its kill endpoint) as a manual stop and leave the next crash down.
Under continuous HTTPS load: only the HAProxy crash window may fail; PhotoPrism's maintenance 503 is
not a failure."""

from __future__ import annotations

import json
import time
from typing import Any

from tests.crash import Crash, crash, wait_back
from tests.docker.conftest import Stack
from tests.helpers import wait_until
from tests.load import FreshConnections

DOMAIN = "photos.example.com"
ALIAS = "photo.example.com"
SERVED_AGAIN_SLACK_S = 1.0  # a connection opened just before HAProxy listened again fails just after


def _ok_or_maintenance(reply: bytes) -> bool:
    head = reply.split(b"\r\n\r\n", 1)[0].lower()
    return reply.startswith(b"HTTP/1.1 200") or (reply.startswith(b"HTTP/1.1 503") and b"\r\nretry-after: " in head)


class Crashes:
    """Crash services of `stack` under `load` and keep the windows in which HAProxy was down."""

    def __init__(self, stack: Stack, load: FreshConnections) -> None:
        self.stack, self.load = stack, load
        self.haproxy_down: list[tuple[float, float]] = []
        self.done: list[Crash] = []

    def crash(self, service: str) -> None:
        crashed = crash(self.stack.client, f"{self.stack.name}-{service}-1", service)
        back = wait_back(self.stack.client, crashed)
        self.done.append(crashed)
        served = self.load.statuses.get(200, 0)
        wait_until(
            lambda: self.load.statuses.get(200, 0) > served + 20, 60, f"PhotoPrism served after {service}'s crash"
        )
        if service == "haproxy":
            first_ok = min((t for t in self.load.ok_times if t > crashed.at), default=back)
            self.haproxy_down.append((crashed.at, first_ok + SERVED_AGAIN_SLACK_S))

    def failures_outside_haproxy_crashes(self) -> list[str]:
        return [
            why
            for at, why in zip(self.load.failed_at, self.load.failures, strict=True)
            if not any(start <= at <= end for start, end in self.haproxy_down)
        ]


def _renew(stack: Stack, expected_path: str) -> None:
    code, _, err = stack.cli("certs", "renew", "--force")
    assert code == 0, err
    last = json.loads((stack.root / "certs/renewals.jsonl").read_text().splitlines()[-1])
    assert last["path"] == expected_path and last["result"] == "ok", last


def test_every_service_comes_back_after_a_crash_after_each_kind_of_change(stack_each_haproxy: Stack) -> None:
    stack = stack_each_haproxy
    stack.up()
    load = FreshConnections(stack.https, DOMAIN, stack.ca, acceptable=_ok_or_maintenance)
    with load:
        crashes = Crashes(stack, load)
        wait_until(lambda: load.ok > 20, 30, "load to be served before the first change")

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
        crashes.crash("haproxy")

        crashes.crash("photoprism")
        crashes.crash("mariadb")
        started = time.monotonic()
        wait_until(lambda: load.ok_after(started) > 20, 60, "load to be served at the end")
    assert load.ok > 100
    assert crashes.failures_outside_haproxy_crashes() == []
    windows = [round(end - start, 2) for start, end in crashes.haproxy_down]
    print(f"HAProxy crash windows (s): {windows}; failed inside them: {len(load.failures)} of {load.ok}")

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
