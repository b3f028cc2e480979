"""The rendered haproxy.cfg, run natively by the real haproxy binary in front of an HTTP stand-in."""

from __future__ import annotations

import base64
import http.client
import json
import socket
import ssl
import subprocess
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509

from stackctl.config.spec import spec_from_data
from stackctl.core.errors import OperationFailed
from stackctl.haproxy.hotswap import ApiUnavailable
from stackctl.haproxy.socket_api import SocketRuntimeApi
from stackctl.health.probe import Target, probe, probe_until, served_serial
from stackctl.render.haproxy import HaproxyLayout
from stackctl.render.stats_password import stats_password_hash
from tests.helpers import (
    free_port,
    haproxy_folder_config,
    native_certificates,
    native_haproxy,
    require_tool,
    self_signed_bundle,
)
from tests.native_versions import HAPROXY_VERSIONS
from tests.standin import _Server, http_standin

PUBLIC = "127.0.0.2"  # public frontends; stats listens on 127.0.0.1 only, as Docker publishes it
STATS_PASSWORD = "native-test-stats"
NAMES = ["photos.example.com", "photo.example.com"]


@dataclass
class Proxy:
    http: int
    https: int
    stats: int
    cafile: Path
    backend: _Server

    def tls_context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cafile=str(self.cafile))
        ctx.set_alpn_protocols(["h2", "http/1.1"])
        return ctx

    def https_get(self, path: str, host: str, headers: dict[str, str] | None = None) -> http.client.HTTPResponse:
        ctx = ssl.create_default_context(cafile=str(self.cafile))
        conn = http.client.HTTPSConnection(PUBLIC, self.https, context=ctx, timeout=5)
        # SNI and hostname check use the domain; the TCP connection goes to loopback.
        conn.sock = ctx.wrap_socket(socket.create_connection((PUBLIC, self.https), timeout=5), server_hostname=NAMES[0])
        conn.request("GET", path, headers={"Host": host, **(headers or {})})
        return conn.getresponse()


@pytest.fixture(scope="module", params=HAPROXY_VERSIONS)
def proxy(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxy]:
    image: str | None = request.param
    workdir = tmp_path_factory.mktemp("haproxy")
    http_port, https_port, stats_port, backend_port = (free_port() for _ in range(4))
    spec = spec_from_data(
        {
            "domain": NAMES[0],
            "aliases": NAMES[1:],
            "ports": {"http": http_port, "https": https_port, "stats": stats_port},
        }
    )
    certs, cafile = native_certificates(workdir, NAMES)
    layout = HaproxyLayout(
        public_bind=PUBLIC,
        http_port=http_port,
        https_port=https_port,
        stats_bind="127.0.0.1",
        stats_port=stats_port,
        certs_dir=f"{certs}/",
        socket_path=str(workdir / "admin.sock"),
        backend_address=f"127.0.0.1:{backend_port}",
        stats_password_hash=stats_password_hash(STATS_PASSWORD),  # as up renders it: no password in the config
    )
    with (
        http_standin(backend_port) as backend,
        native_haproxy(haproxy_folder_config(spec, layout, workdir), workdir, {}, [], image),
    ):
        from tests.helpers import wait_for_port

        for port in (https_port, http_port):
            wait_for_port(port, PUBLIC)
        wait_for_port(stats_port)
        yield Proxy(http_port, https_port, stats_port, cafile, backend)


def _plain_get(host: str, port: int, path: str, headers: dict[str, str]) -> http.client.HTTPResponse:
    conn = http.client.HTTPConnection(host, port, timeout=5)
    conn.request("GET", path, headers=headers)
    return conn.getresponse()


def test_http_redirects_to_https_keeping_path_and_port(proxy: Proxy) -> None:
    response = _plain_get(PUBLIC, proxy.http, "/library/browse?q=cats", {"Host": f"Photos.Example.com:{proxy.http}"})
    assert response.status in (301, 308)
    assert response.headers["Location"] == f"https://photos.example.com:{proxy.https}/library/browse?q=cats"


def test_acme_challenge_on_http_is_not_redirected(proxy: Proxy) -> None:
    response = _plain_get(PUBLIC, proxy.http, "/.well-known/acme-challenge/sometoken", {"Host": NAMES[0]})
    assert response.status not in (301, 302, 307, 308)
    assert "Location" not in response.headers


def test_https_negotiates_h2_with_alpn(proxy: Proxy) -> None:
    with (
        socket.create_connection((PUBLIC, proxy.https), timeout=5) as raw,
        proxy.tls_context().wrap_socket(raw, server_hostname=NAMES[0]) as tls,
    ):
        assert tls.selected_alpn_protocol() == "h2"


def test_a_real_http2_request_reaches_photoprism(proxy: Proxy) -> None:
    curl = require_tool("curl")
    result = subprocess.run(
        [curl, "-sS", "--http2", "--cacert", str(proxy.cafile), "-o", "/dev/null", "-w", "%{http_version} %{http_code}",
         "--resolve", f"{NAMES[0]}:{proxy.https}:{PUBLIC}", f"https://{NAMES[0]}:{proxy.https}/api/v1/status"],
        capture_output=True, text=True, timeout=10, check=False,
    )  # fmt: skip
    assert result.stdout == "2 200", result.stderr


def test_host_header_with_port_routes_to_photoprism(proxy: Proxy) -> None:
    for host in (f"{NAMES[0]}:{proxy.https}", "PHOTO.example.com:443", NAMES[1]):
        response = proxy.https_get("/headers", host)
        assert response.status == 200, host
        assert json.loads(response.read())["headers"]["host"] == host


def test_unknown_host_never_reaches_photoprism(proxy: Proxy) -> None:
    seen = len(proxy.backend.app_requests)
    response = proxy.https_get("/headers", "evil.example.net")
    assert response.status == 404
    assert response.headers["Strict-Transport-Security"]  # also on HAProxy's own responses
    assert b"unknown host" in response.read()
    assert len(proxy.backend.app_requests) == seen
    assert _plain_get(PUBLIC, proxy.http, "/", {"Host": "evil.example.net"}).status == 404


def test_forwarded_headers_arrive_and_a_spoofed_client_address_does_not(proxy: Proxy) -> None:
    response = proxy.https_get("/headers", NAMES[0], {"X-Forwarded-For": "6.6.6.6", "X-Forwarded-Proto": "http"})
    headers = json.loads(response.read())["headers"]
    assert headers["x-forwarded-proto"] == "https"
    assert headers["x-forwarded-for"] == "127.0.0.1"


def test_hsts_is_sent(proxy: Proxy) -> None:
    response = proxy.https_get("/headers", NAMES[0])
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    assert int(response.headers["Strict-Transport-Security"].split("=")[1]) >= 31536000


def _handshake(proxy: Proxy, version: ssl.TLSVersion) -> str:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(str(proxy.cafile))
    ctx.set_ciphers("DEFAULT:@SECLEVEL=0")  # so the client itself is willing to speak old versions
    warnings.simplefilter("ignore", DeprecationWarning)
    ctx.minimum_version = version
    ctx.maximum_version = version
    with (
        socket.create_connection((PUBLIC, proxy.https), timeout=5) as raw,
        ctx.wrap_socket(raw, server_hostname=NAMES[0]) as tls,
    ):
        return str(tls.version())


def test_tls_1_2_and_1_3_accepted(proxy: Proxy) -> None:
    assert _handshake(proxy, ssl.TLSVersion.TLSv1_2) == "TLSv1.2"
    assert _handshake(proxy, ssl.TLSVersion.TLSv1_3) == "TLSv1.3"


def test_tls_1_1_refused_by_the_server(proxy: Proxy) -> None:
    with pytest.raises(ssl.SSLError) as failure:
        _handshake(proxy, ssl.TLSVersion.TLSv1_1)
    # The server's alert, not the client declining to try.
    assert "PROTOCOL_VERSION" in str(failure.value) or "UNSUPPORTED_PROTOCOL" in str(failure.value)
    assert "NO_PROTOCOLS_AVAILABLE" not in str(failure.value)


def _stats_get(port: int, path: str, host: str = "127.0.0.1", password: str | None = None) -> int:
    headers = {}
    if password is not None:
        headers["Authorization"] = "Basic " + base64.b64encode(f"admin:{password}".encode()).decode()
    return _plain_get(host, port, path, headers).status


def test_stats_and_metrics_need_the_password(proxy: Proxy) -> None:
    assert _stats_get(proxy.stats, "/") == 401
    assert _stats_get(proxy.stats, "/", password="wrong") == 401
    assert _stats_get(proxy.stats, "/metrics") == 401
    assert _stats_get(proxy.stats, "/", password=STATS_PASSWORD) == 200
    assert _stats_get(proxy.stats, "/metrics", password=STATS_PASSWORD) == 200


def test_stats_answers_only_on_loopback_address(proxy: Proxy) -> None:
    with pytest.raises(ConnectionRefusedError):
        _stats_get(proxy.stats, "/", host=PUBLIC, password=STATS_PASSWORD)


def test_stats_is_not_reachable_through_the_public_ports(proxy: Proxy) -> None:
    response = proxy.https_get("/metrics", NAMES[0])
    assert b"haproxy_" not in response.read()


def _target(proxy: Proxy, **changes: object) -> Target:
    from cryptography import x509

    serial = format(x509.load_pem_x509_certificate(proxy.cafile.read_bytes()).serial_number, "x")
    fields: dict[str, object] = {
        "address": PUBLIC, "domain": NAMES[0], "https_port": proxy.https, "http_port": proxy.http,
        "cafile": str(proxy.cafile), "expected_serial": serial, "timeout": 3.0,
    }  # fmt: skip
    fields.update(changes)
    return Target(**fields)  # type: ignore[arg-type]


def test_probe_passes_every_check_through_the_real_haproxy(proxy: Proxy) -> None:
    result = probe(_target(proxy))
    by_name = {c.name: c for c in result.checks}
    assert [n for n, c in by_name.items() if not c.ok] == []
    assert by_name["websocket"].detail == "upgrade on /api/v1/ws -> 101"  # HAProxy passes the upgrade through
    assert result.alpn == "h2" and result.tls_version in ("TLSv1.2", "TLSv1.3")
    assert by_name["redirect"].detail.startswith(f":{proxy.http} -> 301 https://{NAMES[0]}:{proxy.https}/")
    assert "max-age=63072000" in by_name["hsts"].detail
    assert result.as_json()["served_serial"] == _target(proxy).expected_serial


def test_probe_names_an_untrusted_certificate_and_a_changed_serial(proxy: Proxy, tmp_path: Path) -> None:
    other = tmp_path / "other.pem"
    other.write_bytes(self_signed_bundle(NAMES).split(b"-----BEGIN PRIVATE")[0])
    result = probe(_target(proxy, cafile=str(other), expected_serial="abc"))
    assert not result.ok
    assert "not trusted" in next(c.detail for c in result.checks if c.name == "certificate")
    assert served_serial(_target(proxy)) == _target(proxy).expected_serial


def test_probe_of_a_closed_port_fails_with_the_reason(proxy: Proxy) -> None:
    result = probe(_target(proxy, https_port=free_port(), http_port=free_port(), timeout=1.0))
    assert not result.ok and "failed" in result.checks[0].detail
    assert served_serial(_target(proxy, https_port=free_port(), timeout=1.0)) is None
    assert not probe_until(_target(proxy, https_port=free_port(), timeout=0.5), 0.3, every=0.1).ok


def test_runtime_api_swaps_a_certificate_live_and_refuses_a_broken_one(proxy: Proxy) -> None:
    workdir = proxy.cafile.parent
    api = SocketRuntimeApi(workdir / "admin.sock")
    assert api.answers()
    assert any(s.kind == "frontend" for s in api.stats())
    name = f"{workdir / 'certs'}/site.pem"
    fresh = self_signed_bundle(NAMES).decode()
    api.swap_certificate(name, fresh)
    fresh_serial = format(x509.load_pem_x509_certificate(fresh.encode()).serial_number, "x")
    assert served_serial(_target(proxy)) == fresh_serial  # what HAProxy serves changed, with no restart
    cert_only, other_key = fresh.split("-----BEGIN PRIVATE KEY-----")[0], self_signed_bundle(NAMES).decode()
    broken = cert_only + "-----BEGIN PRIVATE KEY-----" + other_key.split("-----BEGIN PRIVATE KEY-----")[1]
    with pytest.raises(OperationFailed, match=r"HAProxy (refused|could not commit) the new certificate"):
        api.swap_certificate(name, broken)
    assert served_serial(_target(proxy)) == fresh_serial
    with pytest.raises(ApiUnavailable, match="no certificate named"):
        api.swap_certificate(f"{workdir}/certs/nope.pem", fresh)
    assert not SocketRuntimeApi(workdir / "nowhere.sock").answers()
    api.swap_certificate(name, (workdir / "certs" / "site.pem").read_text())  # as it was, for other tests
