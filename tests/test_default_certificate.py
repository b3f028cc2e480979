"""A client that names no site, or an unknown one, gets the stack's own certificate (which names no
site) and the 404 "unknown host" page, never a site's certificate: through the real haproxy."""

from __future__ import annotations

from pathlib import Path

import pytest

from stackctl.certs.localca import DEFAULT_CERT_NAME
from stackctl.certs.store import CertStore
from tests.default_cert import answer_without_a_known_name, names_of, served_certificate
from tests.live_stack import DOMAIN, live_stack


@pytest.mark.parametrize("servername", [None, "unknown.example.net"], ids=["no SNI", "unknown name"])
def test_a_client_naming_no_site_gets_the_stacks_own_certificate_and_a_404(
    tmp_path: Path, servername: str | None
) -> None:
    with live_stack(tmp_path) as (paths, spec):
        https = spec.ports.https
        unknown = served_certificate(https, servername)
        status, body = answer_without_a_known_name(https, servername, servername or "203.0.113.7")
        site = served_certificate(https, DOMAIN)
    assert names_of(unknown) == {DEFAULT_CERT_NAME}  # no site's name in it
    assert status == 404 and b"unknown host" in body
    assert DOMAIN in names_of(site)
    assert unknown.serial_number != site.serial_number
    bundle = CertStore(paths.certs).default_bundle
    assert bundle.stat().st_mode & 0o777 == 0o600  # it holds a private key
