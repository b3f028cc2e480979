"""HAProxy's access log as rendered, run by the real haproxy binary (2.6, 3.0, 3.2) in front of the
in-process stand-in, its stdout kept in a file. `log: errors` (the default) logs what did not end well,
with the client's own address; `log: full` logs every request."""

from __future__ import annotations

import http.client
import re
from pathlib import Path

import pytest

from tests.guard_client import https_at
from tests.helpers import NativeSite, native_site, wait_until
from tests.native_versions import HAPROXY_VERSIONS
from tests.standin import STANDIN_PASSWORD

DOMAIN = "photos.example.com"
CLIENT = "127.0.0.3"
# One site, and two PhotoPrism sites (the log rules are the HTTPS frontend's, for every site).
SHAPES = [
    pytest.param({}, id="one-site"),
    pytest.param({"sites": [{"domain": "family.example.com", "photoprism": {}}, {"domain": DOMAIN, "photoprism": {}}]},
                 id="two-sites"),
]  # fmt: skip


def _requests(site: NativeSite) -> None:
    """An album page (200), a wrong and a right password (401, 200), the :80 redirect (301), then a
    request for a host the stack does not serve (HAProxy's own 404): the last one, which both modes log."""

    def https(method: str, path: str, body: dict[str, str] | None = None) -> int:
        return https_at(site.public, site.https, CLIENT, DOMAIN, str(site.cafile), method, path, body)[0]

    def plain(host: str) -> int:
        conn = http.client.HTTPConnection(site.public, site.http, timeout=5, source_address=(CLIENT, 0))
        conn.request("GET", "/library/albums", headers={"Host": host})
        status = conn.getresponse().status
        conn.close()
        return status

    assert https("GET", "/library/albums") == 200
    assert https("POST", "/api/v1/session", {"username": "admin", "password": "wrong"}) == 401
    assert https("POST", "/api/v1/session", {"username": "admin", "password": STANDIN_PASSWORD}) == 200
    assert plain(DOMAIN) == 301
    assert plain("elsewhere.example.com") == 404


def _logged(log: Path, method: str, path: str, status: int) -> bool:
    line = re.compile(rf"^{re.escape(CLIENT)}:\d+ .* {status} .*\"{method} {re.escape(path)} HTTP/1\.1\"$", re.M)
    return line.search(log.read_text(errors="replace")) is not None


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("image", HAPROXY_VERSIONS)
def test_by_default_only_what_did_not_end_well_is_logged_with_the_client_address(
    image: str | None, shape: dict[str, object], tmp_path: Path
) -> None:
    log = tmp_path / "haproxy.log"
    names = [DOMAIN, "family.example.com"]
    with native_site(tmp_path, names, shape, image=image, log=log) as site:
        _requests(site)
        wait_until(lambda: _logged(log, "GET", "/library/albums", 404), 10, "the unknown host's 404 in the log")
        assert _logged(log, "POST", "/api/v1/session", 401), log.read_text()
        assert not _logged(log, "POST", "/api/v1/session", 200), log.read_text()
        assert not _logged(log, "GET", "/library/albums", 200), log.read_text()
        assert not _logged(log, "GET", "/library/albums", 301), log.read_text()


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("image", HAPROXY_VERSIONS)
def test_log_full_logs_every_request(image: str | None, shape: dict[str, object], tmp_path: Path) -> None:
    log = tmp_path / "haproxy.log"
    with native_site(tmp_path, [DOMAIN, "family.example.com"], {**shape, "log": "full"}, image=image, log=log) as site:
        _requests(site)
        for method, path, status in (
            ("GET", "/library/albums", 200),
            ("POST", "/api/v1/session", 401),
            ("POST", "/api/v1/session", 200),
            ("GET", "/library/albums", 301),
            ("GET", "/library/albums", 404),
        ):
            wait_until(lambda: _logged(log, method, path, status), 10, f"{method} {path} {status} in the log")  # noqa: B023
