"""TLS per Mozilla's current guideline on the real images. HAProxy 3.2 (Debian sid) runs on OpenSSL 3.6
and Debian 13's 3.0 on OpenSSL 3.5, so their config puts the hybrid post-quantum group first, and a
client that offers it negotiates X25519MLKEM768: the probe behind `verify` and `status` (on the OpenSSL
that cryptography ships) and sid's own `openssl s_client`. Debian 12's runs on OpenSSL 3.0 and stays on
X25519. A client without the hybrid group (this host's openssl 3.0) connects with X25519 on every one.
`tls.profile: modern` refuses TLS 1.2."""

from __future__ import annotations

import json
import subprocess

from tests.docker.conftest import TEST_IMAGES, Stack
from tests.helpers import require_tool

DOMAIN = "photos.example.com"
HYBRID = "X25519MLKEM768"
OPENSSL = {"2.6": "3.0.", "3.0": "3.5.", "3.2": "3.6."}  # of each image's Debian


def _sid_s_client(stack: Stack, *options: str) -> str:
    """Debian sid's `openssl s_client -brief` (OpenSSL 3.6, from the 3.2 image), on this host's network."""
    argv = ["docker", "run", "--rm", "--network=host", TEST_IMAGES["haproxy"], "openssl", "s_client", "-brief",
            "-connect", f"127.0.0.1:{stack.https}", "-servername", DOMAIN, *options]  # fmt: skip
    done = subprocess.run(argv, input="", capture_output=True, text=True, timeout=60, check=False)
    return done.stdout + done.stderr


def _s_client(stack: Stack, *options: str) -> str:
    """This host's `openssl s_client -brief` (OpenSSL 3.0: no hybrid group) against the stack."""
    argv = [require_tool("openssl"), "s_client", "-brief", "-connect", f"127.0.0.1:{stack.https}",
            "-servername", DOMAIN, *options]  # fmt: skip
    done = subprocess.run(argv, input="", capture_output=True, text=True, timeout=20, check=False)
    return done.stdout + done.stderr


def test_the_hybrid_group_is_negotiated_where_the_images_openssl_has_it(stack_each_haproxy: Stack) -> None:
    stack = stack_each_haproxy
    stack.up()
    version = stack.container("haproxy").image.tags[0].rsplit(":", 1)[1]
    group = "x25519" if version == "2.6" else HYBRID  # as OpenSSL names them
    features = json.loads((stack.root / "compose/.haproxy-features.json").read_text())
    assert features["openssl"].startswith(OPENSSL[version]), features
    code, out, err = stack.cli("verify", "--json")
    assert code == 0, err
    result = json.loads(out)["sites"][DOMAIN]
    assert (result["tls_version"], result["tls_group"]) == ("TLSv1.3", group), result
    code, out, _ = stack.cli("status")
    assert f"TLSv1.3 {group} h2" in out, out

    without = _s_client(stack, "-groups", "X25519")
    assert "Protocol version: TLSv1.3" in without and "Server Temp Key: X25519" in without, without
    hybrid_only = _sid_s_client(stack, "-groups", HYBRID)
    if group == HYBRID:
        assert "Protocol version: TLSv1.3" in hybrid_only and f"group: {HYBRID}" in hybrid_only, hybrid_only
    else:
        assert "CONNECTION ESTABLISHED" not in hybrid_only, hybrid_only


def test_modern_refuses_tls_1_2(stack: Stack) -> None:
    stack.edit("tls:\n", "tls:\n  profile: modern\n")
    stack.up()
    refused = _s_client(stack, "-tls1_2")
    assert "CONNECTION ESTABLISHED" not in refused and "alert protocol version" in refused, refused
    assert "Protocol version: TLSv1.3" in _s_client(stack)
