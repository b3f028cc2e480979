"""Login throttling as rendered, run by the real haproxy binary in front of the in-process stand-in.
Clients come from their own loopback addresses (127.0.0.3, 127.0.0.4), so HAProxy sees each as a client
of its own."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from stackctl.haproxy.guard_table import banned, forget
from tests.guard_client import https_at
from tests.helpers import NativeSite, native_site, require_tool
from tests.native_versions import HAPROXY_VERSIONS
from tests.standin import SHARE_TOKEN, STANDIN_PASSWORD

PUBLIC = "127.0.0.2"
ATTACKER, NEIGHBOUR = "127.0.0.3", "127.0.0.4"
DOMAIN = "photos.example.com"
FAILURES, BAN_S, MAX_BAN_S = 5, 2, 4


@dataclass
class Guarded:
    site: NativeSite

    @property
    def sock(self) -> Path:
        sock: Path = self.site.sock
        return sock

    @property
    def table(self) -> str:
        table: str = self.site.spec.first_site.guard_table
        return table

    def request(
        self, source: str, method: str, path: str, body: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        return https_at(self.site.public, self.site.https, source, DOMAIN, str(self.site.cafile), method, path, body)

    def login(self, source: str, password: str, route: str = "/api/v1/session") -> tuple[int, dict[str, str], bytes]:
        return self.request(source, "POST", route, {"username": "admin", "password": password})


@pytest.fixture(params=HAPROXY_VERSIONS)
def guarded(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Guarded]:
    guard = {"guard": {"login": {"failures": FAILURES, "window": "10m", "ban": BAN_S, "max_ban": MAX_BAN_S}}}
    with native_site(tmp_path, [DOMAIN], guard, image=request.param) as site:
        yield Guarded(site)


def _fail_until_banned(guarded: Guarded, source: str) -> list[int]:
    return [guarded.login(source, "wrong")[0] for _ in range(FAILURES + 1)]


def test_failed_logins_past_the_threshold_get_429_with_retry_after(guarded: Guarded) -> None:
    assert _fail_until_banned(guarded, ATTACKER) == [401] * FAILURES + [429]
    status, headers, body = guarded.login(ATTACKER, STANDIN_PASSWORD)
    assert status == 429, "the right password must not get through a ban either"
    assert 1 <= int(headers["retry-after"]) <= BAN_S
    assert "Too many failed logins" in json.loads(body)["error"]
    # The other login routes share the count; the rest of the site is not touched.
    assert guarded.login(ATTACKER, "wrong", "/api/v1/sessions")[0] == 429
    assert guarded.request(ATTACKER, "GET", "/library/browse")[0] == 200
    assert guarded.request(ATTACKER, "GET", "/api/v1/session")[0] == 200
    # A share link still opens: its page redeems the link's token at the login route.
    assert guarded.request(ATTACKER, "POST", "/api/v1/session", {"token": SHARE_TOKEN})[0] == 200
    assert guarded.request(ATTACKER, "POST", "/api/v1/session", {"token": SHARE_TOKEN, "password": "x"})[0] == 429


def test_another_address_logs_in_while_one_is_banned(guarded: Guarded) -> None:
    _fail_until_banned(guarded, ATTACKER)
    assert guarded.login(NEIGHBOUR, STANDIN_PASSWORD)[0] == 200
    assert guarded.login(NEIGHBOUR, "wrong")[0] == 401
    bans = banned(guarded.sock, guarded.table, int(time.time()))
    assert [b.address for b in bans] == [ATTACKER]
    assert bans[0].failures == FAILURES and bans[0].length_s == BAN_S


def _wait_until_let_in(guarded: Guarded, source: str, limit_s: float) -> float:
    """Seconds from now until the right password logs in again (the ban's end is an event to poll for)."""
    start = time.monotonic()
    while time.monotonic() - start < limit_s:
        status = guarded.login(source, STANDIN_PASSWORD)[0]
        if status == 200:
            return time.monotonic() - start
        assert status == 429
        time.sleep(0.1)
    raise AssertionError(f"{source} was still banned after {limit_s}s")


def test_a_ban_ends_after_its_time_and_the_next_one_doubles_up_to_the_ceiling(guarded: Guarded) -> None:
    _fail_until_banned(guarded, ATTACKER)
    assert _wait_until_let_in(guarded, ATTACKER, BAN_S + 2) >= BAN_S - 1.1
    # Still past the threshold within the window: the next failure bans again, twice as long.
    assert guarded.login(ATTACKER, "wrong")[0] == 401
    status, headers, _ = guarded.login(ATTACKER, "wrong")
    assert status == 429 and int(headers["retry-after"]) > BAN_S
    assert banned(guarded.sock, guarded.table, int(time.time()))[0].length_s == 2 * BAN_S
    _wait_until_let_in(guarded, ATTACKER, 2 * BAN_S + 2)
    guarded.login(ATTACKER, "wrong")
    assert banned(guarded.sock, guarded.table, int(time.time()))[0].length_s == MAX_BAN_S, "capped at max_ban"


def test_forgetting_an_address_lifts_its_ban_at_once(guarded: Guarded) -> None:
    _fail_until_banned(guarded, ATTACKER)
    held = forget(guarded.sock, guarded.table, ATTACKER, int(time.time()))
    assert held is not None and held.seconds_left > 0 and held.failures == FAILURES
    assert banned(guarded.sock, guarded.table, int(time.time())) == []
    assert guarded.login(ATTACKER, STANDIN_PASSWORD)[0] == 200
    assert forget(guarded.sock, guarded.table, "203.0.113.9", int(time.time())) is None


def test_a_banned_http2_login_gets_its_429_too(guarded: Guarded) -> None:
    """Browsers log in over HTTP/2: the ban answers there as well (the docker tier runs this on 2.6 too)."""
    _fail_until_banned(guarded, ATTACKER)
    result = subprocess.run(
        [require_tool("curl"), "-sS", "--http2", "--cacert", str(guarded.site.cafile), "--interface", ATTACKER,
         "--resolve", f"{DOMAIN}:{guarded.site.https}:{PUBLIC}", "-o", "/dev/null",
         "-w", "%{http_version} %{http_code}",
         "-H", "Content-Type: application/json", "--data", '{"username":"admin","password":"x"}',
         f"https://{DOMAIN}:{guarded.site.https}/api/v1/session"],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert result.stdout == "2 429", result.stderr


@pytest.mark.parametrize("image", HAPROXY_VERSIONS)
def test_each_site_counts_on_its_own(tmp_path: Path, image: str | None) -> None:
    """Two PhotoPrism sites on one proxy: a ban on one leaves the same address free on the other, and
    each keeps its own thresholds."""
    strict, other = "strict.example.com", "other.example.com"
    sites = {
        "sites": [
            {"domain": strict, "photoprism": {}, "guard": {"login": {"failures": 2, "ban": "1m"}}},
            {"domain": other, "photoprism": {}},
        ]
    }
    with native_site(tmp_path, [strict, other], sites, image=image) as site:

        def login(domain: str, password: str) -> int:
            body = {"username": "admin", "password": password}
            cafile = str(site.cafile)
            return https_at(site.public, site.https, ATTACKER, domain, cafile, "POST", "/api/v1/session", body)[0]

        assert [login(strict, "wrong") for _ in range(3)] == [401, 401, 429]
        assert [login(other, "wrong") for _ in range(3)] == [401, 401, 401], "10 failures before a ban here"
        assert login(other, STANDIN_PASSWORD) == 200
        strict_site, other_site = site.spec.sites
        now = int(time.time())
        assert [b.address for b in banned(site.sock, strict_site.guard_table, now)] == [ATTACKER]
        assert banned(site.sock, other_site.guard_table, now) == []
