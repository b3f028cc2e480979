"""TLS per Mozilla's current guideline on the real images. Debian 13's HAProxy runs on OpenSSL 3.5, so
its config puts the hybrid post-quantum group first, and a client that offers it (the probe behind
`verify` and `status`, on the OpenSSL that cryptography ships) negotiates X25519MLKEM768. Debian 12's
runs on OpenSSL 3.0 and stays on X25519. A client without the hybrid group (this host's openssl 3.0)
connects with X25519 on both. `tls.profile: modern` refuses TLS 1.2."""

from __future__ import annotations

import json
import subprocess

from tests.docker.conftest import Stack
from tests.helpers import require_tool

DOMAIN = "photos.example.com"
HYBRID = "X25519MLKEM768"


def _s_client(stack: Stack, *options: str) -> str:
    """This host's `openssl s_client -brief` (OpenSSL 3.0: no hybrid group) against the stack."""
    argv = [require_tool("openssl"), "s_client", "-brief", "-connect", f"127.0.0.1:{stack.https}",
            "-servername", DOMAIN, *options]  # fmt: skip
    done = subprocess.run(argv, input="", capture_output=True, text=True, timeout=20, check=False)
    return done.stdout + done.stderr


def test_the_hybrid_group_is_negotiated_where_the_images_openssl_has_it(stack_each_haproxy: Stack) -> None:
    stack = stack_each_haproxy
    stack.up()
    image = stack.container("haproxy").image.tags[0]
    group = "x25519" if image.endswith(":2.6") else HYBRID  # as OpenSSL names them
    features = json.loads((stack.root / "compose/.haproxy-features.json").read_text())
    assert features["openssl"].startswith("3.0." if group == "x25519" else "3.5."), features
    code, out, err = stack.cli("verify", "--json")
    assert code == 0, err
    result = json.loads(out)["sites"][DOMAIN]
    assert (result["tls_version"], result["tls_group"]) == ("TLSv1.3", group), result
    code, out, _ = stack.cli("status")
    assert f"TLSv1.3 {group} h2" in out, out

    without = _s_client(stack, "-groups", "X25519")
    assert "Protocol version: TLSv1.3" in without and "Server Temp Key: X25519" in without, without


def test_modern_refuses_tls_1_2(stack: Stack) -> None:
    stack.edit("tls:\n", "tls:\n  profile: modern\n")
    stack.up()
    refused = _s_client(stack, "-tls1_2")
    assert "CONNECTION ESTABLISHED" not in refused and "alert protocol version" in refused, refused
    assert "Protocol version: TLSv1.3" in _s_client(stack)
