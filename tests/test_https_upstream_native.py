"""An https:// upstream as rendered, run by the real haproxy (2.6, 3.0, 3.2) in front of the docker tier's
upstream app serving HTTPS only: SNI is the upstream's host name, its certificate is checked against
that name and upstream.ca_file, health checks go over TLS; verify: false takes any certificate."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from stackctl.haproxy.runtime_api import show_stat
from tests.certfactory import make_cert
from tests.guard_client import https_at
from tests.helpers import NativeSite, free_port, native_site, wait_for_port, wait_until
from tests.native_versions import HAPROXY_VERSIONS

DOMAIN, APP_HOST = "app.example.com", "secure-app"
APP = Path(__file__).parent / "images" / "upstream-app.py"


@contextlib.contextmanager
def https_app(folder: Path) -> Iterator[int]:
    """The upstream app on 127.0.0.1, HTTPS only, with a certificate for secure-app from a CA in folder/ca.pem."""
    ca = make_cert("secure-app test CA", ca=True)
    leaf = make_cert(APP_HOST, ca, [APP_HOST])
    (folder / "ca.pem").write_bytes(ca.cert_pem)
    (folder / "app.pem").write_bytes(leaf.cert_pem)
    (folder / "app.key").write_bytes(leaf.key_pem())
    port = free_port()
    env = {**os.environ, "UPSTREAM_NAME": "secure", "UPSTREAM_PORT": str(port),
           "UPSTREAM_TLS_CERT": str(folder / "app.pem"), "UPSTREAM_TLS_KEY": str(folder / "app.key")}  # fmt: skip
    with (folder / "app.log").open("wb") as log:
        proc = subprocess.Popen([sys.executable, str(APP)], env=env, stderr=log)
    try:
        try:
            wait_for_port(port, process=proc)
        except TimeoutError as e:
            raise AssertionError(f"{e}; it printed: {(folder / 'app.log').read_text()}") from None
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _site(upstream: dict[str, object]) -> dict[str, object]:
    return {"sites": [{"domain": DOMAIN, "upstream": {"url": f"https://{APP_HOST}:8443", "health": "/health",
                                                      **upstream}}]}  # fmt: skip


def _server(site: NativeSite) -> tuple[str, str]:
    row = next(r for r in show_stat(site.sock) if r.kind == "server")
    return row.status, row.check


def _get(site: NativeSite) -> tuple[int, bytes]:
    status, _, body = https_at(site.public, site.https, "127.0.0.1", DOMAIN, str(site.cafile), "GET", "/library")
    return status, body


@pytest.mark.parametrize("image", HAPROXY_VERSIONS)
def test_a_verified_https_upstream_is_served_with_its_name_as_sni(tmp_path: Path, image: str | None) -> None:
    with https_app(tmp_path) as port:
        ca = (tmp_path / "ca.pem").read_bytes()
        (tmp_path / "upstream-ca-app-example-com.pem").write_bytes(ca)  # what up writes into HAProxy's folder
        with native_site(tmp_path, [DOMAIN], _site({"ca_file": "ca.pem"}), image=image, backend=port) as site:
            wait_until(lambda: _server(site)[0] == "UP", 15, "the TLS health check to pass")
            status, body = _get(site)
            assert status == 200, body
            answer = json.loads(body)
            assert (answer["upstream"], answer["sni"], answer["path"]) == ("secure", APP_HOST, "/library")


@pytest.mark.parametrize("image", HAPROXY_VERSIONS)
def test_a_certificate_from_another_ca_takes_the_server_down(tmp_path: Path, image: str | None) -> None:
    with https_app(tmp_path) as port:
        other = make_cert("another CA", ca=True)
        (tmp_path / "upstream-ca-app-example-com.pem").write_bytes(other.cert_pem)
        with native_site(tmp_path, [DOMAIN], _site({"ca_file": "ca.pem"}), image=image, backend=port) as site:
            wait_until(lambda: _server(site)[0] == "DOWN", 15, "the TLS health check to fail")
            status, _ = _get(site)
            assert status == 503  # the maintenance answer: nothing reached an unverified server


@pytest.mark.parametrize("image", HAPROXY_VERSIONS)
def test_verify_false_takes_any_certificate(tmp_path: Path, image: str | None) -> None:
    with (
        https_app(tmp_path) as port,
        native_site(tmp_path, [DOMAIN], _site({"verify": False}), image=image, backend=port) as site,
    ):
        wait_until(lambda: _server(site)[0] == "UP", 15, "the TLS health check to pass")
        status, body = _get(site)
        assert status == 200 and json.loads(body)["sni"] == APP_HOST
