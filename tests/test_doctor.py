"""`stackctl doctor`'s choices and refusals, without a stack: which test address it claims, the PROXY
line it sends, how it reads PhotoPrism's session list, and the one-line refusals (the docker and swarm
tiers run it against real stacks)."""

from __future__ import annotations

import dataclasses
import ipaddress
import json
import secrets
from pathlib import Path

import pytest

from stackctl.core.errors import InvalidInput
from stackctl.flows.doctor import doctor_address, doctor_sites
from stackctl.health.doctor import Login, site_url_check
from stackctl.health.doctor_edge import _client_ip, throttle_check
from stackctl.health.doctor_route import Route, proxy_header
from stackctl.health.probe import Target
from tests.fakes import FakeEngine, fake_edges
from tests.helpers import run_cli, single_site_yaml
from tests.specs import example

CHOOSE = secrets.SystemRandom()
DOMAIN = "photos.example.com"


def test_a_public_site_is_tested_from_a_documentation_address_and_a_private_one_from_inside_allow() -> None:
    spec = example("guarded")
    shares, bob = spec.site("photos.example.com"), spec.site("bob.example.com")
    for _ in range(200):
        public = ipaddress.ip_address(doctor_address(bob, CHOOSE))
        assert public in ipaddress.ip_network("192.0.2.0/24") and str(public) not in ("192.0.2.0", "192.0.2.255")
        inside = ipaddress.ip_address(doctor_address(shares, CHOOSE))
        assert inside in ipaddress.ip_network("192.168.1.0/24") and str(inside) not in ("192.168.1.0", "192.168.1.255")


def test_a_single_allowed_host_is_the_test_address_itself(tmp_path: Path) -> None:
    spec = example("guarded")
    site = spec.site("photos.example.com")
    one = dataclasses.replace(site, allow=("203.0.113.9/32",))
    assert doctor_address(one, CHOOSE) == "203.0.113.9"


def test_the_proxy_line_claims_the_test_address_in_its_family() -> None:
    assert proxy_header("192.0.2.7", 443) == b"PROXY TCP4 192.0.2.7 127.0.0.1 40000 443\r\n"
    assert proxy_header("2001:db8::7", 8443) == b"PROXY TCP6 2001:db8::7 ::1 40000 8443\r\n"


def test_the_client_address_is_read_from_the_doctors_own_app_password() -> None:
    listed = [
        {"ClientName": "phone", "ClientIP": "198.51.100.4"},
        {"ClientName": "stackctl doctor 1a2b", "ClientIP": "192.0.2.9"},
    ]
    assert _client_ip(json.dumps(listed).encode(), "stackctl doctor 1a2b") == "192.0.2.9"
    assert _client_ip(json.dumps(listed).encode(), "stackctl doctor ffff") is None
    assert _client_ip(b"<html>", "stackctl doctor 1a2b") is None


def test_the_throttle_check_is_skipped_with_the_reason_when_the_guard_is_off(tmp_path: Path) -> None:
    route = Route(Target("127.0.0.1", DOMAIN, 443, 80, None), tmp_path / "doctor.sock", "192.0.2.5")
    finding = throttle_check(route, None, "login-guard-photoprism", tmp_path / "admin.sock", "1a2b")
    assert (finding.outcome, finding.detail) == ("skip", "guard.login is off for this site")


def test_a_site_url_that_differs_says_where_to_look() -> None:
    login = Login("t" * 48, "uqxc08w3d0ej2283", "http://localhost:2342/")
    finding = site_url_check(login, "https://photos.example.com/")
    assert finding.outcome == "fail" and "not https://photos.example.com/" in finding.detail
    assert "SiteUrl" in finding.fix
    same = Login("t", "u", "https://photos.example.com/")
    assert site_url_check(same, "https://photos.example.com").outcome == "pass"


def test_an_upstream_site_is_refused_with_the_reason_and_every_photoprism_site_is_checked() -> None:
    spec = example("guarded")
    with pytest.raises(InvalidInput, match=r"nas\.example\.com is an upstream site"):
        doctor_sites(spec, "nas.example.com")
    assert [s.domain for s in doctor_sites(spec, None)] == ["photos.example.com", "bob.example.com"]
    with_a_host_app = example("single-plus-host-app")
    assert [s.domain for s in doctor_sites(with_a_host_app, None)] == ["photos.example.com"]


@pytest.mark.parametrize("size", ["0", "1TB", "1.5GiB", "65GiB", "1GiB ", "-1", "1gib"])
def test_a_bad_upload_size_is_refused_in_one_line(tmp_path: Path, size: str) -> None:
    result = run_cli("--dir", str(tmp_path), "doctor", "--upload-size", size)
    assert result.code == 2 and result.err.startswith("error: ") and result.err.count("\n") == 1, result.err
    assert "--upload-size" in result.err and "see" in result.err


def test_a_stack_that_is_not_running_is_refused(tmp_path: Path) -> None:
    (tmp_path / "stack.yaml").write_text(single_site_yaml("photos.example.com"))
    assert run_cli("--dir", str(tmp_path), "init").code == 0
    result = run_cli("--dir", str(tmp_path), "doctor", edges=fake_edges(FakeEngine(tmp_path)))
    assert result.code == 1
    assert result.err == "error: the stack is not running, so there is no proxy to check — start it with stackctl up\n"
