"""Real ACME issuance and renewal through the real HAProxy container, against Debian's pebble."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from stackctl.health.probe import served_serial
from tests.acme.conftest import Pebble, run_pebble
from tests.docker.conftest import Stack, make_stack
from tests.helpers import first_site_target, free_port, hash_tree
from tests.load import renew_under_load


@pytest.fixture(scope="module")
def acme(
    docker_client: docker.DockerClient,
    challtestsrv: int,
    pebble_tls: tuple[Path, Path, Path],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Stack, Pebble]]:
    folder = tmp_path_factory.mktemp("acme")
    with (
        make_stack(docker_client, folder / "stack") as stack,
        run_pebble(folder / "pebble", stack.http, challtestsrv, pebble_tls) as pebble,
    ):
        pebble.serve(stack)
        yield stack, pebble


def _served(stack: Stack) -> str | None:
    return served_serial(first_site_target(stack.root))


def test_up_obtains_serves_and_verifies_a_pebble_certificate(acme: tuple[Stack, Pebble]) -> None:
    stack, pebble = acme
    out = stack.up("--ca-file", str(pebble.root))
    assert "Serving the ACME certificate" in out and "Ready:" in out
    code, out, _ = stack.cli("verify", "--json", "--ca-file", str(pebble.root))
    report = json.loads(out)
    assert code == 0 and report["ok"], report
    _, out, _ = stack.cli("certs", "show", "--json")
    cert = json.loads(out)["certificates"][0]
    assert cert["source"] == "acme" and cert["issuer"].startswith("Pebble Intermediate CA")
    assert report["served_serial"] == cert["serial"]
    # Without pebble's root the same certificate is not trusted: verify really checks the chain.
    assert stack.cli("verify")[0] == 1
    # The account key is private; haproxy.cfg carries only its public thumbprint.
    key = stack.root / "certs/acme/account.key"
    assert oct(key.stat().st_mode & 0o777) == "0o600"
    assert key.read_text() not in (stack.root / "compose/haproxy/haproxy.cfg").read_text()
    assert pebble.new_account_requests() == 1


def test_renew_gets_a_new_pebble_certificate_live_with_zero_failed_requests(acme: tuple[Stack, Pebble]) -> None:
    stack, pebble = acme
    accounts = {p.name: p.read_text() for p in (stack.root / "certs/acme").glob("account-*.json")}
    renew_under_load(stack, str(pebble.root))
    # The same account served the second order: no second registration.
    assert pebble.new_account_requests() == 1
    assert {p.name: p.read_text() for p in (stack.root / "certs/acme").glob("account-*.json")} == accounts


def test_trial_issuance_stores_and_serves_nothing(acme: tuple[Stack, Pebble]) -> None:
    stack, _ = acme
    before_files, before_served = hash_tree(stack.root / "certs"), _served(stack)
    code, out, err = stack.cli("certs", "create", "--staging")
    assert code == 0, err
    assert "OK: Pebble Intermediate CA" in out
    assert hash_tree(stack.root / "certs") == before_files and _served(stack) == before_served


def test_unreachable_challenge_keeps_the_previous_certificate(
    acme: tuple[Stack, Pebble], challtestsrv: int, pebble_tls: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    stack, pebble = acme
    before_served = _served(stack)
    before_files = {k: v for k, v in hash_tree(stack.root / "certs").items() if not k.startswith("acme/")}
    before_files.pop("renewals.jsonl", None)
    # A CA that validates on a port where nothing listens: the HTTP-01 challenge cannot be reached.
    with run_pebble(tmp_path / "closed", free_port(), challtestsrv, pebble_tls) as unreachable:
        stack.edit(f'directory: "{pebble.directory}"', f'directory: "{unreachable.directory}"')
        try:
            code, _, err = stack.cli("certs", "renew", "--force")
        finally:
            stack.edit(f'directory: "{unreachable.directory}"', f'directory: "{pebble.directory}"')
    assert code == 1
    line = err.strip()
    assert len(line.splitlines()) == 1 and "Traceback" not in line
    assert "could not validate photos.example.com" in line and "connect" in line.lower()
    assert _served(stack) == before_served
    after_files = {k: v for k, v in hash_tree(stack.root / "certs").items() if not k.startswith("acme/")}
    after_files.pop("renewals.jsonl", None)
    assert after_files == before_files


def test_acme_server_down_is_one_line(acme: tuple[Stack, Pebble]) -> None:
    stack, pebble = acme
    dead = f"https://127.0.0.1:{free_port()}/dir"
    stack.edit(f'directory: "{pebble.directory}"', f'directory: "{dead}"')
    try:
        code, _, err = stack.cli("certs", "renew", "--force")
    finally:
        stack.edit(f'directory: "{dead}"', f'directory: "{pebble.directory}"')
    assert code == 1
    assert len(err.strip().splitlines()) == 1
    assert f"failed to reach the ACME server at {dead}: connection refused" in err
