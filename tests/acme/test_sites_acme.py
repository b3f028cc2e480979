"""Two sites of one stack, each with its own ACME certificate through pebble (HTTP-01 answered by the
one HAProxy for both names), and one of them renewed alone, live."""

from __future__ import annotations

import json
from pathlib import Path

import docker

from stackctl.certs.store import CertStore
from stackctl.config.spec import load_spec
from stackctl.health.probe import served_serial
from stackctl.health.target import probe_target
from tests.acme.conftest import run_pebble
from tests.docker.conftest import make_stack

BOB = "bob.example.com"


def _served(root: Path) -> dict[str, str | None]:
    spec = load_spec(root / "stack.yaml")
    store = CertStore(root / "certs")
    return {site.domain: served_serial(probe_target(spec, site, store)) for site in spec.sites}


def test_two_sites_get_their_own_acme_certificates_and_one_renews_alone(
    docker_client: docker.DockerClient, challtestsrv: int, pebble_tls: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    with (
        make_stack(docker_client, tmp_path / "stack") as stack,
        run_pebble(tmp_path / "pebble", stack.http, challtestsrv, pebble_tls) as pebble,
    ):
        pebble.serve(stack)
        code, _, err = stack.cli("sites", "add", BOB)  # a second PhotoPrism; the stack-wide tls is its
        assert code == 0, err
        out = stack.up("--ca-file", str(pebble.root))
        assert out.count("Serving the ACME certificate") == 2 and "Ready:" in out
        _, shown, _ = stack.cli("certs", "show", "--json")
        certificates = {c["domain"]: c for c in json.loads(shown)["certificates"]}
        assert set(certificates) == {"photos.example.com", BOB}
        for domain, cert in certificates.items():
            assert cert["source"] == "acme" and cert["issuer"].startswith("Pebble") and cert["names"] == [domain]
        before = _served(stack.root)
        assert before == {domain: cert["serial"] for domain, cert in certificates.items()}

        code, out, err = stack.cli("certs", "renew", "--force", "--site", BOB)
        assert code == 0, err
        after = _served(stack.root)
        assert after["photos.example.com"] == before["photos.example.com"]  # the other site is untouched
        assert after[BOB] != before[BOB] and f"Renewed the certificate for {BOB}" in out
        code, out, _ = stack.cli("verify", "--json", "--ca-file", str(pebble.root))
        report = json.loads(out)
        assert code == 0 and all(site["ok"] for site in report["sites"].values()), report
        assert pebble.new_account_requests() == 1  # one account for every site
