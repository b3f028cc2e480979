"""Exposure per site as rendered, run by the real haproxy binary: of two sites on one proxy, the private
one lets in only its allow: network, the public one everyone. Clients come from loopback addresses of
their own (127.0.0.3 allowed, 127.0.0.4 not)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.guard_client import https_at
from tests.helpers import native_site
from tests.native_versions import HAPROXY_VERSIONS

PRIVATE, PUBLIC_SITE = "private.example.com", "photos.example.com"
ALLOWED, OUTSIDE = "127.0.0.3", "127.0.0.4"


@pytest.mark.parametrize("image", HAPROXY_VERSIONS)
def test_a_private_site_refuses_what_is_outside_allow_and_its_public_neighbour_does_not(
    tmp_path: Path, image: str | None
) -> None:
    sites = {
        "sites": [
            {"domain": PRIVATE, "photoprism": {}, "exposure": "private", "allow": [f"{ALLOWED}/32", "2001:db8::/64"]},
            {"domain": PUBLIC_SITE, "photoprism": {}},
        ]
    }
    with native_site(tmp_path, [PRIVATE, PUBLIC_SITE], sites, image=image) as site:

        def get(source: str, domain: str, path: str, method: str = "GET") -> tuple[int, bytes]:
            status, _, body = https_at(site.public, site.https, source, domain, str(site.cafile), method, path)
            return status, body

        status, body = get(OUTSIDE, PRIVATE, "/library/browse")
        assert status == 403
        assert f"{PRIVATE} is private".encode() in body and f"Your address, {OUTSIDE}, ".encode() in body
        assert get(OUTSIDE, PRIVATE, "/api/v1/session", "POST")[0] == 403
        assert get(ALLOWED, PRIVATE, "/library/browse")[0] == 200
        assert get(OUTSIDE, PUBLIC_SITE, "/library/browse")[0] == 200
        # Its health answer stays open, so that up, verify and status can check it from this host.
        assert get(OUTSIDE, PRIVATE, "/api/v1/status")[0] == 200
        assert get(OUTSIDE, PRIVATE, "/api/v1/status", "POST")[0] == 403
