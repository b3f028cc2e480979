"""ACME DNS-01 against real servers: BIND (tests/acme/bind.py) takes TSIG-signed updates and pebble
validates through it. A wildcard and a plain name issued, served and renewed live on a running stack;
CNAME delegation; a refused TSIG key; a secondary that never gets the update; lexicon's localzone
provider (a provider that edits a zone file, so it needs no internet)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import dns.message
import dns.query
import docker
import pytest

from stackctl.certs.acme.dns.challenge import DnsChallenges
from stackctl.certs.acme.dns.writers import LexiconWriter
from stackctl.certs.store import CertStore
from stackctl.config.dns_spec import DnsSettings
from stackctl.health.probe import served_serial
from tests.acme.bind import KEY_NAME, PRIMARY, Bind, run_bind
from tests.acme.conftest import Pebble, run_pebble
from tests.docker.conftest import Stack, make_stack
from tests.helpers import first_site_target, free_port, hash_tree, run_cli
from tests.load import renew_under_load


@pytest.fixture(scope="module")
def bind(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bind]:
    with run_bind(tmp_path_factory.mktemp("bind")) as server:
        yield server


@pytest.fixture(scope="module")
def pebble_dns(
    bind: Bind, pebble_tls: tuple[Path, Path, Path], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Pebble]:
    with run_pebble(tmp_path_factory.mktemp("pebble-dns"), free_port(), f"{PRIMARY}:53", pebble_tls) as pebble:
        yield pebble


def _dns01(folder: Path, pebble: Pebble, bind: Bind, domain: str, aliases: str = "[]", timeout: int = 30) -> None:
    """Point a stack folder at pebble over DNS-01 with RFC 2136 updates to the test BIND."""
    spec = folder / "stack.yaml"
    text = spec.read_text()
    for old, new in (
        ("domain: photos.example.com", f"domain: {domain}"),
        ("aliases: []", f"aliases: {aliases}"),
        ("source: local-ca", "source: acme"),
        ("email: null", "email: photos-admin@example.com"),
        ("directory: letsencrypt-staging", f'directory: "{pebble.directory}"'),
        ("ca_bundle: null", f"ca_bundle: {pebble.tls_ca}"),
    ):
        assert old in text, old
        text = text.replace(old, new, 1)
    text = text.replace(
        f"ca_bundle: {pebble.tls_ca}",
        f"ca_bundle: {pebble.tls_ca}\n    challenge: dns-01\n    dns: {{provider: rfc2136, server: {PRIMARY}, "
        f"key_name: {KEY_NAME}, resolver: {PRIMARY}, propagation_timeout: {timeout}}}",
        1,
    )
    spec.write_text(text)
    env = folder / "secrets/dns.env"
    env.write_text(f"TSIG_SECRET={bind.tsig_secret}\n")
    env.chmod(0o600)


def _txt(name: str) -> list[str]:
    response = dns.query.udp(dns.message.make_query(name, "TXT"), PRIMARY, timeout=2)
    return [b"".join(r.strings).decode() for rrset in response.answer for r in rrset]


@pytest.fixture(scope="module")
def dns_stack(docker_client: docker.DockerClient, bind: Bind, pebble_dns: Pebble,
              tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:  # fmt: skip
    with make_stack(docker_client, tmp_path_factory.mktemp("dns01") / "stack") as stack:
        _dns01(stack.root, pebble_dns, bind, "photos.example.test", '["*.example.test"]')
        yield stack


def _served(stack: Stack) -> str | None:
    return served_serial(first_site_target(stack.root))


def test_a_wildcard_and_a_name_are_issued_over_dns01_served_and_the_records_removed(
    dns_stack: Stack, pebble_dns: Pebble
) -> None:
    out = dns_stack.up("--ca-file", str(pebble_dns.root))
    assert "Serving the ACME certificate" in out
    _, out, _ = dns_stack.cli("certs", "show", "--json")
    cert = json.loads(out)["certificates"][0]
    assert set(cert["names"]) == {"photos.example.test", "*.example.test"} and cert["source"] == "acme"
    assert dns_stack.cli("verify", "--ca-file", str(pebble_dns.root))[0] == 0
    assert _txt("_acme-challenge.photos.example.test") == [] and _txt("_acme-challenge.example.test") == []
    assert not (dns_stack.root / "certs/acme/dns-pending.json").exists()
    _, out, _ = dns_stack.cli("status", "--json")
    assert json.loads(out)["certificates"][0]["challenge"] == "dns-01"


def test_a_dns01_certificate_renews_live_with_zero_failed_requests(dns_stack: Stack, pebble_dns: Pebble) -> None:
    renew_under_load(dns_stack, str(pebble_dns.root), domain="photos.example.test")
    assert _txt("_acme-challenge.photos.example.test") == [] and _txt("_acme-challenge.example.test") == []


def test_a_refused_tsig_key_is_one_line_changes_nothing_and_keeps_serving(dns_stack: Stack, bind: Bind) -> None:
    served, before = _served(dns_stack), _certs_state(dns_stack)
    env = dns_stack.root / "secrets/dns.env"
    env.write_text("TSIG_SECRET=" + "A" * 43 + "=\n")  # valid base64, not the server's key
    try:
        code, _, err = dns_stack.cli("certs", "renew", "--force")
    finally:
        env.write_text(f"TSIG_SECRET={bind.tsig_secret}\n")
    assert code == 1 and len(err.strip().splitlines()) == 1, err
    assert f"TSIG key {KEY_NAME} was not accepted" in err and bind.tsig_secret not in err
    assert _certs_state(dns_stack) == before and _served(dns_stack) == served  # the attempt is in renewals.jsonl


def _certs_state(stack: Stack) -> dict[str, str]:
    return {k: v for k, v in hash_tree(stack.root / "certs").items() if k != "renewals.jsonl"}


def _folder(tmp_path: Path, pebble: Pebble, bind: Bind, domain: str, timeout: int = 30) -> Path:
    folder = tmp_path / "stack"
    assert run_cli("--dir", str(folder), "init", "--domain", "photos.example.com").code == 0
    _dns01(folder, pebble, bind, domain, timeout=timeout)
    return folder


def test_cname_delegation_writes_into_the_zone_the_cname_points_to(
    tmp_path: Path, pebble_dns: Pebble, bind: Bind
) -> None:
    folder = _folder(tmp_path, pebble_dns, bind, "photos.cname.test")
    result = run_cli("--dir", str(folder), "certs", "create")
    assert result.code == 0, result.err
    log = (bind.folder / "named.log").read_text()
    assert "updating zone 'delegated.test/IN': adding an RR at 'photos.delegated.test' TXT" in log
    assert "updating zone 'cname.test" not in log  # the main zone is never written: its keys stay elsewhere
    assert _txt("photos.delegated.test") == []


def test_a_secondary_that_never_gets_the_update_is_named_at_the_deadline(
    tmp_path: Path, pebble_dns: Pebble, bind: Bind
) -> None:
    folder = _folder(tmp_path, pebble_dns, bind, "photos.lag.test", timeout=5)
    result = run_cli("--dir", str(folder), "certs", "create")
    assert result.code == 1 and len(result.err.strip().splitlines()) == 1, result.err
    assert "name server ns2.lag.test (127.0.0.3) still answers" in result.err and "after 5s" in result.err
    assert _txt("_acme-challenge.photos.lag.test") == []  # removed after the failure too
    assert CertStore(folder / "certs").read_site("photos.lag.test") is None


def test_lexicon_localzone_provider_writes_and_removes_the_record(tmp_path: Path) -> None:
    zone = tmp_path / "example.test.zone"
    zone.write_text(
        "$ORIGIN example.test.\n$TTL 60\n@ IN SOA ns1 hostmaster 1 60 60 3600 60\n@ IN NS ns1\nns1 IN A 127.0.0.2\n"
    )
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "dns.env").write_text(f"LEXICON_LOCALZONE_FILENAME={zone}\n")
    settings = DnsSettings(provider="lexicon", lexicon_provider="localzone")
    writer = LexiconWriter(settings, secrets)
    writer.add("example.test.", "_acme-challenge.photos.example.test.", "value-from-the-ca", 60)
    assert "value-from-the-ca" in zone.read_text()
    writer.remove("example.test.", "_acme-challenge.photos.example.test.", "value-from-the-ca")
    assert "value-from-the-ca" not in zone.read_text()


def test_records_a_cut_short_run_left_are_removed_by_the_next(tmp_path: Path, bind: Bind) -> None:
    secrets, acme = tmp_path / "secrets", tmp_path / "acme"
    secrets.mkdir()
    (secrets / "dns.env").write_text(f"TSIG_SECRET={bind.tsig_secret}\n")
    settings = DnsSettings(server=PRIMARY, key_name=KEY_NAME, resolver=PRIMARY)
    cut_short = DnsChallenges(settings, secrets, acme)
    cut_short.publish("_acme-challenge.left.example.test.", "left-behind")  # as if Ctrl-C came now
    assert _txt("_acme-challenge.left.example.test") == ["left-behind"]
    assert (acme / "dns-pending.json").exists()
    with DnsChallenges(settings, secrets, acme):
        assert _txt("_acme-challenge.left.example.test") == []
    assert not (acme / "dns-pending.json").exists()
