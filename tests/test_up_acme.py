"""`up` for ACME sites through the fake CA (FakeAcmeCa, at the seam where the ACME session connects):
HAProxy starts on a temporary certificate, the real one follows, and a CA that refuses one site of
several fails `up` naming that site while the others have theirs. The acme tier runs this against
pebble."""

from __future__ import annotations

from pathlib import Path

import pytest

from stackctl.certs.acme.issuer import AcmeIssuer
from stackctl.certs.issued import Issuer
from stackctl.certs.issuers import issuer_for
from stackctl.certs.store import CertStore
from stackctl.config.layout import StackPaths
from stackctl.config.sites import Site
from stackctl.config.spec import load_spec
from stackctl.core.errors import OperationFailed
from stackctl.flows.edges import Edges
from stackctl.flows.up import TEMPORARY_SOURCE, up
from tests.fake_acme import FakeAcmeCa
from tests.fakes import FakeEngine, FakeRuntimeApi, ServedBundle
from tests.helpers import free_port, run_cli
from tests.standin import http_standin

ACME = "tls: {source: acme, acme: {email: me@example.com, directory: https://ca.test/dir}}\n"


def _edges(engine: FakeEngine, ca: FakeAcmeCa) -> Edges:
    def issuer(site: Site) -> Issuer:
        return AcmeIssuer(connect=ca.connect) if site.tls.source == "acme" else issuer_for(site)

    runtime = FakeRuntimeApi(None, answering=False)
    return Edges(issuer_for=issuer, engine=lambda spec: engine, runtime=lambda sock: runtime)


def _stack(root: Path, body: str, domain: str, https: int) -> tuple[StackPaths, int]:
    assert run_cli("--dir", str(root), "init", "--domain", domain).code == 0
    http = free_port()
    (root / "stack.yaml").write_text(
        f"name: acme\nports: {{http: {http}, https: {https}, bind: 127.0.0.1, stats: {free_port()}}}\n{body}"
    )
    return StackPaths(root), http


def test_up_starts_on_a_temporary_certificate_then_gets_the_cas(tmp_path: Path) -> None:
    with ServedBundle(b"") as served:  # what HAProxy serves: a reload loads the bundle on disk
        paths, http = _stack(
            tmp_path / "stack", f"domain: photos.example.com\n{ACME}", "photos.example.com", served.port
        )
        engine, ca, lines = FakeEngine(paths.root, served), FakeAcmeCa(), []
        with http_standin(http):
            up(paths, load_spec(paths.spec), 30, _edges(engine, ca), lines.append, lambda *a: None, verify=False)
    stored = CertStore(paths.certs).read_site("photos.example.com")
    assert stored is not None and stored.source == "acme" and stored.source != TEMPORARY_SOURCE
    assert "obtaining a certificate for photos.example.com from https://ca.test/dir" in lines
    assert any(line.startswith("Serving the ACME certificate (serial ") for line in lines)
    assert ca.accounts == 1 and ca.answered  # HAProxy's config answers with the account's thumbprint
    assert "lf-string" in paths.haproxy_cfg.read_text()


def test_a_site_the_ca_refuses_fails_up_by_name_while_the_others_get_theirs(tmp_path: Path) -> None:
    body = (
        f"{ACME}sites:\n  - domain: a.example.com\n    photoprism: {{}}\n"
        "  - domain: b.example.com\n    upstream: {url: 'http://127.0.0.1:9'}\n"
    )
    with ServedBundle(b"") as served:
        paths, http = _stack(tmp_path / "stack", body, "a.example.com", served.port)
        engine, ca, lines = FakeEngine(paths.root, served), FakeAcmeCa(fail_names={"b.example.com"}), []
        with http_standin(http), pytest.raises(OperationFailed) as caught:
            up(paths, load_spec(paths.spec), 30, _edges(engine, ca), lines.append, lambda *a: None, verify=False)
    assert caught.value.message == ("no ACME certificate for b.example.com (the other sites are up and serve theirs)")
    assert any(line.startswith("b.example.com: the CA at ca.test could not validate b.example.com") for line in lines)
    store = CertStore(paths.certs)
    site_a, site_b = store.read_site("a.example.com"), store.read_site("b.example.com")
    assert site_a is not None and site_a.source == "acme"
    assert site_b is not None and site_b.source == TEMPORARY_SOURCE  # still served, until the CA agrees
