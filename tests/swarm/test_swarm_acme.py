"""ACME HTTP-01 on Swarm: HAProxy starts on a temporary certificate, answers pebble's challenge from the
account thumbprint alone (no state shared between edge nodes), and rolls onto the issued certificate."""

from __future__ import annotations

import json
from pathlib import Path

import docker

from tests.acme.conftest import challtestsrv, pebble_tls, run_pebble  # noqa: F401 (fixtures)
from tests.swarm.conftest import make_swarm_stack


def test_up_obtains_and_serves_an_acme_certificate(
    swarm: docker.DockerClient,
    challtestsrv: int,  # noqa: F811
    pebble_tls: tuple[Path, Path, Path],  # noqa: F811
    tmp_path: Path,
) -> None:
    with (
        make_swarm_stack(swarm, tmp_path / "stack") as stack,
        run_pebble(tmp_path / "pebble", stack.http, challtestsrv, pebble_tls) as pebble,
    ):
        spec = stack.root / "stack.yaml"
        spec.write_text(
            spec.read_text()
            + "tls:\n  source: acme\n  acme:\n    email: photos-admin@example.com\n"
            + f'    directory: "{pebble.directory}"\n    ca_bundle: {pebble.tls_ca}\n'
        )
        code, out, err = stack.cli("up", "--timeout", "240", "--ca-file", str(pebble.root))
        assert code == 0, err + out
        assert "Serving the ACME certificate" in out and "Ready:" in out
        code, shown, _ = stack.cli("certs", "show", "--json")
        certificate = json.loads(shown)["certificates"][0]
        assert certificate["source"] == "acme" and certificate["issuer"].startswith("Pebble")
        code, verified, _ = stack.cli("verify", "--json", "--ca-file", str(pebble.root))
        assert code == 0 and json.loads(verified)["served_serial"] == certificate["serial"]
