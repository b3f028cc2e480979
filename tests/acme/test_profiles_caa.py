"""ACME profiles and CAA against pebble 2.10 (Debian sid) and BIND (tests/acme/bind.py).

pebble resolves every name through BIND, where caa.test's names are 127.0.0.1. stackctl looks CAA up
as it would on any machine, through the system's resolver (or tls.acme.dns.resolver with DNS-01): so
its commands run here in a mount namespace whose /etc/resolv.conf names BIND, the way a machine whose
resolver serves caa.test would."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from stackctl.certs.acme.caa import lookup
from stackctl.certs.acme.dns.lookup import make_resolver
from tests.acme.bind import KEY_NAME, PRIMARY, Bind, run_bind
from tests.acme.conftest import CAA_IDENTITY, Pebble, run_pebble
from tests.docker.conftest import Stack, make_stack
from tests.helpers import require_tool


@pytest.fixture(scope="module")
def bind(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bind]:
    with run_bind(tmp_path_factory.mktemp("bind")) as server:
        yield server


@pytest.fixture(scope="module")
def resolv_conf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("resolver") / "resolv.conf"
    path.write_text(f"nameserver {PRIMARY}\n")
    return path


def _cli(stack: Stack, resolv_conf: Path, *argv: str) -> tuple[int, str, str]:
    """stackctl in a process of its own whose system resolver is BIND (a private mount namespace)."""
    unshare = require_tool("unshare")
    script = 'mount --bind "$1" /etc/resolv.conf && shift && exec "$@"'
    done = subprocess.run(
        [unshare, "--mount", "--propagation", "private", "sh", "-c", script, "sh", str(resolv_conf),
         sys.executable, "-m", "stackctl", "--dir", str(stack.root), *argv],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    return done.returncode, done.stdout, done.stderr


@pytest.fixture()
def stack_and_pebble(
    docker_client: docker.DockerClient, bind: Bind, pebble_tls: tuple[Path, Path, Path], tmp_path: Path
) -> Iterator[tuple[Stack, Pebble]]:
    with (
        make_stack(docker_client, tmp_path / "stack") as stack,
        run_pebble(tmp_path / "pebble", stack.http, f"{PRIMARY}:53", pebble_tls) as pebble,
    ):
        pebble.serve(stack)
        yield stack, pebble


def _use(stack: Stack, pebble: Pebble, domain: str, acme_lines: str = "") -> None:
    stack.edit("domain: photos.example.com", f"domain: {domain}")
    if acme_lines:
        stack.edit(f"ca_bundle: {pebble.tls_ca}", f"ca_bundle: {pebble.tls_ca}\n{acme_lines}")


def _refused(stack: Stack, pebble: Pebble, resolv_conf: Path) -> str:
    """`up` refused with one line before any order: pebble logs no order, and no certificate of its is
    stored (up's temporary one, which HAProxy starts with, is)."""
    orders = pebble.orders()
    code, out, err = _cli(stack, resolv_conf, "up", "--timeout", "120", "--ca-file", str(pebble.root))
    assert code != 0, out
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and " — " in lines[0], err
    assert pebble.orders() == orders
    _, shown, _ = stack.cli("certs", "show", "--json")
    assert not any(c.get("issuer", "").startswith("Pebble") for c in json.loads(shown)["certificates"]), shown
    return lines[0]


def test_shortlived_gives_a_six_day_certificate_renewed_from_its_lifetime(
    stack_and_pebble: tuple[Stack, Pebble], resolv_conf: Path
) -> None:
    """open.caa.test has no CAA record, nor have caa.test and test: the order goes ahead."""
    stack, pebble = stack_and_pebble
    _use(stack, pebble, "open.caa.test", "    profile: shortlived")
    code, out, err = _cli(stack, resolv_conf, "up", "--timeout", "180", "--ca-file", str(pebble.root))
    assert code == 0, err + out
    assert pebble.orders() == 1
    _, out, _ = stack.cli("certs", "show", "--json")
    cert = json.loads(out)["certificates"][0]
    not_before, not_after, renew_after = (dt.datetime.fromisoformat(cert[k]) for k in
                                          ("not_before", "not_after", "renew_after"))  # fmt: skip
    assert abs((not_after - not_before) - dt.timedelta(days=6)) < dt.timedelta(hours=2), cert
    # 4 days in, 2 days before the end (the JSON's times are to the second)
    assert abs(renew_after - (not_after - (not_after - not_before) / 3)) <= dt.timedelta(seconds=2), cert
    assert not cert["due"]
    # A scheduled check: not due, so the CA's renewal information is asked, and nothing is ordered.
    asked = pebble.log.read_text().count("renewalInfo")
    code, out, err = _cli(stack, resolv_conf, "certs", "renew", "--if-due")
    assert code == 0, err
    assert pebble.log.read_text().count("renewalInfo") > asked and pebble.orders() == 1


def test_a_profile_the_ca_does_not_offer_is_refused_before_any_order(
    stack_and_pebble: tuple[Stack, Pebble], resolv_conf: Path
) -> None:
    stack, pebble = stack_and_pebble
    _use(stack, pebble, "open.caa.test", "    profile: tlsserver")
    line = _refused(stack, pebble, resolv_conf)
    assert "does not offer the profile tlsserver; it offers classic" in line and "shortlived" in line, line


def test_a_caa_record_for_another_ca_refuses_before_any_order(
    stack_and_pebble: tuple[Stack, Pebble], resolv_conf: Path
) -> None:
    stack, pebble = stack_and_pebble
    _use(stack, pebble, "other.caa.test")
    line = _refused(stack, pebble, resolv_conf)
    assert '0 issue "other-ca.example"' in line and f"not {CAA_IDENTITY}" in line, line
    assert f'add the record issue "{CAA_IDENTITY}"' in line, line


def test_a_caa_record_for_dns01_only_refuses_http01_and_lets_dns01_issue(
    stack_and_pebble: tuple[Stack, Pebble], bind: Bind, resolv_conf: Path
) -> None:
    stack, pebble = stack_and_pebble
    _use(stack, pebble, "dnsonly.caa.test")
    line = _refused(stack, pebble, resolv_conf)
    assert "only by dns-01, not http-01" in line and "set tls.acme.challenge: dns-01" in line, line

    dns01 = (f"    challenge: dns-01\n    dns: {{provider: rfc2136, server: {PRIMARY}, key_name: {KEY_NAME}, "
             f"resolver: {PRIMARY}, propagation_timeout: 30}}")  # fmt: skip
    stack.edit(f"ca_bundle: {pebble.tls_ca}", f"ca_bundle: {pebble.tls_ca}\n{dns01}")
    env = stack.root / "secrets/dns.env"
    env.write_text(f"TSIG_SECRET={bind.tsig_secret}\n")
    env.chmod(0o600)
    code, out, err = _cli(stack, resolv_conf, "up", "--timeout", "180", "--ca-file", str(pebble.root))
    assert code == 0, err + out
    assert pebble.orders() == 1


def test_the_relevant_caa_set_is_the_first_found_climbing_to_the_parents(bind: Bind) -> None:
    resolver = make_resolver(f"{PRIMARY}:53")
    found = lookup(resolver, "photos.other.caa.test")
    assert found is not None and found.owner == "other.caa.test."
    assert [str(r) for r in found.records] == ['0 issue "other-ca.example"']
    assert lookup(resolver, "*.dnsonly.caa.test") is not None  # a wildcard's set is its base name's
    assert lookup(resolver, "open.caa.test") is None
