"""`tls.profile` against the real HAProxy: "intermediate" (the default) takes TLS 1.2 and 1.3 with
ECDHE ciphers only, "modern" refuses TLS 1.2; the probe reports the protocol it negotiated."""

from __future__ import annotations

import socket
import ssl
from pathlib import Path

import pytest

from stackctl.health.probe import Target, probe
from tests.helpers import NativeSite, native_site
from tests.native_versions import HAPROXY_VERSIONS

DOMAIN = "photos.example.com"


def _handshake(site: NativeSite, version: ssl.TLSVersion, ciphers: str | None = None) -> str:
    """The negotiated protocol for a client that offers only `version`; raises ssl.SSLError if refused."""
    ctx = ssl.create_default_context(cafile=str(site.cafile))
    ctx.minimum_version = ctx.maximum_version = version
    if ciphers:
        ctx.set_ciphers(ciphers)
    with (
        socket.create_connection((site.public, site.https), timeout=5) as raw,
        ctx.wrap_socket(raw, server_hostname=DOMAIN) as tls,
    ):
        return str(tls.version())


@pytest.mark.parametrize("image", HAPROXY_VERSIONS)
def test_intermediate_takes_tls_1_2_and_1_3_and_no_dhe(tmp_path: Path, image: str | None) -> None:
    with native_site(tmp_path, [DOMAIN], {}, image=image) as site:
        assert _handshake(site, ssl.TLSVersion.TLSv1_2) == "TLSv1.2"
        assert _handshake(site, ssl.TLSVersion.TLSv1_3) == "TLSv1.3"
        with pytest.raises(ssl.SSLError):
            _handshake(site, ssl.TLSVersion.TLSv1_2, "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384")


@pytest.mark.parametrize("image", HAPROXY_VERSIONS)
def test_modern_refuses_tls_1_2_and_the_probe_reports_tls_1_3(tmp_path: Path, image: str | None) -> None:
    with native_site(tmp_path, [DOMAIN], {"tls": {"profile": "modern"}}, image=image) as site:
        with pytest.raises(ssl.SSLError):
            _handshake(site, ssl.TLSVersion.TLSv1_2)
        assert _handshake(site, ssl.TLSVersion.TLSv1_3) == "TLSv1.3"
        result = probe(Target(site.public, DOMAIN, site.https, 1, str(site.cafile), websocket=False))
        assert result.tls_version == "TLSv1.3"


def test_the_probe_reports_the_group_it_negotiated(tmp_path: Path) -> None:
    """Debian 12's HAProxy (OpenSSL 3.0) knows no hybrid post-quantum group: a client that offers
    X25519MLKEM768 first settles on X25519."""
    with native_site(tmp_path, [DOMAIN], {}) as site:
        result = probe(Target(site.public, DOMAIN, site.https, 1, str(site.cafile), websocket=False))
        assert result.tls_group == "x25519"  # as OpenSSL names it (the hybrid is "X25519MLKEM768")
        (version,) = [check for check in result.checks if check.name == "tls_version"]
        assert version.detail == "TLSv1.3, group x25519" and result.as_json()["tls_group"] == "x25519"
