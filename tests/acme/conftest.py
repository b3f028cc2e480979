"""ACME tier: pebble 2.10 from Debian sid (the stackctl-test/pebble image, for ACME profiles), a real ACME
server on this machine's loopback, and bookworm's pebble-challtestsrv.

challtestsrv is pebble's DNS server and answers 127.0.0.1 for every name; pebble's httpPort is the
stack's published HTTP port, so its validation requests reach HAProxy, which answers them itself.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import ipaddress
import json
import ssl
import subprocess
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.certfactory import make_cert
from tests.docker.conftest import (
    Stack,
    docker_client,  # noqa: F401 - the acme tier runs stacks too
)
from tests.helpers import free_port, require_tool, wait_for_port, wait_until

PEBBLE_IMAGE = "stackctl-test/pebble:2.10"
# Let's Encrypt's profiles as pebble serves them; tlsserver is left out, to be a profile the CA lacks.
PROFILES = {
    "classic": {"description": "The profile you know and love", "validityPeriod": 90 * 86400},
    "shortlived": {"description": "A short-lived certificate (6 days)", "validityPeriod": 6 * 86400},
}
CAA_IDENTITY = "pebble.letsencrypt.org"  # pebble's default caaIdentities


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "/tests/acme/" in str(item.fspath):
            item.add_marker(pytest.mark.acme)
            item.add_marker(pytest.mark.docker)


@dataclass
class Pebble:
    directory: str
    management: int
    tls_ca: Path  # what the ACME client trusts to reach pebble (tls.acme.ca_bundle)
    root: Path  # pebble's issuing root, from its management endpoint
    log: Path

    def new_account_requests(self) -> int:
        return self.log.read_text().count("POST /sign-me-up")

    def orders(self) -> int:
        return self.log.read_text().count("POST /order-plz")

    def serve(self, stack: Stack) -> None:
        """Point a stack from make_stack (single-site form) at this pebble for its certificates."""
        stack.edit("source: local-ca", "source: acme")
        stack.edit("email: null", "email: photos-admin@example.com")
        stack.edit("directory: letsencrypt-staging", f'directory: "{self.directory}"')
        stack.edit("ca_bundle: null", f"ca_bundle: {self.tls_ca}")


@pytest.fixture(scope="session")
def pebble_tls(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """A CA and a 127.0.0.1 certificate for pebble's own HTTPS listener (Debian ships none)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization

    folder = tmp_path_factory.mktemp("pebble-tls")
    ca = make_cert("pebble test listener CA", ca=True)
    leaf = make_cert("localhost", ca, ["localhost"])
    builder = (
        x509.CertificateBuilder()
        .subject_name(leaf.cert.subject)
        .issuer_name(ca.cert.subject)
        .public_key(leaf.key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1))
        .not_valid_after(dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
    )
    cert = builder.sign(ca.key, hashes.SHA256())
    (folder / "ca.pem").write_bytes(ca.cert_pem)
    (folder / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(leaf.key_pem())
    return folder / "ca.pem", folder / "cert.pem", folder / "key.pem"


@pytest.fixture(scope="session")
def challtestsrv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    binary = require_tool("pebble-challtestsrv")
    dns, management = free_port(), free_port()
    log = tmp_path_factory.mktemp("challtestsrv") / "log"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [binary, "-dns01", f"127.0.0.1:{dns}", "-http01", "", "-https01", "", "-tlsalpn01", "",
             "-management", f"127.0.0.1:{management}", "-defaultIPv4", "127.0.0.1", "-defaultIPv6", ""],
            stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        wait_for_port(management)
        yield dns
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@contextlib.contextmanager
def run_pebble(folder: Path, http_port: int, dns: int | str, tls: tuple[Path, Path, Path]) -> Iterator[Pebble]:
    """`dns`: challtestsrv's port on 127.0.0.1, or a DNS server's address:port."""
    listen, management = free_port(), free_port()
    config = {
        "pebble": {
            "listenAddress": f"127.0.0.1:{listen}",
            "managementListenAddress": f"127.0.0.1:{management}",
            "certificate": str(tls[1]),
            "privateKey": str(tls[2]),
            "httpPort": http_port,
            "tlsPort": free_port(),
            "ocspResponderURL": "",
            "externalAccountBindingRequired": False,
            "profiles": PROFILES,
        }
    }
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "pebble.json").write_text(json.dumps(config))
    log = folder / "pebble.log"
    # No sleep before validation and no nonce rejection, so runs are repeatable; no reuse of valid
    # authorizations (pebble reuses half by default), so every order is challenged.
    env = {"PEBBLE_VA_NOSLEEP": "1", "PEBBLE_WFE_NONCEREJECT": "0", "PEBBLE_AUTHZREUSE": "0"}
    server = dns if isinstance(dns, str) else f"127.0.0.1:{dns}"
    name = f"stackctl-pebble-{listen}"
    folders = sorted({folder, *(path.parent for path in tls)})
    docker = ["docker", "run", "--rm", f"--name={name}", "--network=host", *(f"--volume={f}:{f}:ro" for f in folders),
              *(f"--env={key}={value}" for key, value in env.items())]  # fmt: skip
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [*docker, PEBBLE_IMAGE, "-config", str(folder / "pebble.json"), "-dnsserver", server],
            stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        wait_for_port(listen)
        wait_for_port(management)
        ctx = ssl.create_default_context(cafile=str(tls[0]))
        root = folder / "pebble-root.pem"

        def fetch_root() -> bool:
            try:
                with urllib.request.urlopen(f"https://127.0.0.1:{management}/roots/0", context=ctx, timeout=5) as r:
                    root.write_bytes(r.read())
                return True
            except OSError:
                return False

        wait_until(fetch_root, 10, "pebble's root certificate at /roots/0", every=0.2)
        yield Pebble(f"https://127.0.0.1:{listen}/dir", management, tls[0], root, log)
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True, check=False)
        proc.terminate()
        proc.wait(timeout=10)
