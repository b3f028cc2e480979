"""`certs` as a user reads it: the terminal view of `certs show`, a trial issuance against a staging
CA through the ACME session Edges hands out, and a renewal of several sites where one cannot renew."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path

from stackctl.certs.acme.issuer import AcmeIssuer, AcmeSession
from stackctl.certs.issued import AcmeOrders, Issuer
from stackctl.certs.issuers import issuer_for
from stackctl.certs.store import CertStore
from stackctl.config.sites import Site
from stackctl.config.spec import StackSpec
from stackctl.core.errors import OperationFailed
from stackctl.flows.edges import Edges
from tests.fake_acme import FakeAcmeCa
from tests.helpers import hash_tree, run_cli

DOMAIN = "photos.example.com"


def test_show_lists_each_certificate_with_when_it_renews(tmp_path: Path) -> None:
    root = tmp_path / "stack"
    assert run_cli("--dir", str(root), "init", "--domain", DOMAIN).code == 0
    before = run_cli("--dir", str(root), "certs", "show").out.splitlines()
    assert before[0] == DOMAIN  # a site without a certificate is listed, with what to do
    assert before[2].split() == ["certificate", "none", "yet:", "run", "`stackctl", "up`", "or", "`stackctl", "certs",
                                 "create`"]  # fmt: skip
    shown = json.loads(run_cli("--dir", str(root), "certs", "show", "--json").out)["certificates"]
    assert [(c["domain"], c["serial"], c["due"], c["due_reason"]) for c in shown] == [
        (DOMAIN, None, True, "no certificate yet")
    ]
    assert run_cli("--dir", str(root), "certs", "create").code == 0
    result = run_cli("--dir", str(root), "certs", "show")
    assert result.code == 0
    lines = result.out.splitlines()
    assert lines[0] == DOMAIN and lines[1].split() == ["names", DOMAIN]
    assert any(line.split()[:3] == ["source", "local-ca", "(ecdsa-p256)"] for line in lines)
    assert any(line.startswith("renew from") and line.rstrip().endswith("(not due)") for line in lines)


def test_show_says_due_when_a_name_is_not_covered_as_renew_decides(tmp_path: Path) -> None:
    root = tmp_path / "stack"
    assert run_cli("--dir", str(root), "init", "--domain", DOMAIN).code == 0
    assert run_cli("--dir", str(root), "certs", "create").code == 0
    spec = (root / "stack.yaml").read_text().replace("aliases: []", "aliases: [www.photos.example.com]")
    (root / "stack.yaml").write_text(spec)
    shown = json.loads(run_cli("--dir", str(root), "certs", "show", "--json").out)["certificates"]
    assert [(c["due"], c["due_reason"]) for c in shown] == [(True, "names changed")]
    assert "renewal due: names changed" in run_cli("--dir", str(root), "certs", "show").out
    renewed = run_cli("--dir", str(root), "certs", "renew", "--if-due")
    assert renewed.code == 0, renewed.err
    shown = json.loads(run_cli("--dir", str(root), "certs", "show", "--json").out)["certificates"]
    assert [(c["due"], c["names"]) for c in shown] == [(False, [DOMAIN, "www.photos.example.com"])]


def _acme_stack(root: Path) -> None:
    assert run_cli("--dir", str(root), "init", "--domain", DOMAIN).code == 0
    (root / "stack.yaml").write_text(
        f"domain: {DOMAIN}\ntls: {{source: acme, acme: {{email: me@example.com, directory: https://ca.test/dir}}}}\n"
    )


def test_a_trial_issuance_orders_from_the_staging_ca_and_stores_nothing(tmp_path: Path) -> None:
    root = tmp_path / "stack"
    _acme_stack(root)
    ca, asked = FakeAcmeCa(), []

    def session(spec: StackSpec, site: Site, store: CertStore, url: str | None) -> AcmeOrders:
        asked.append(url)
        return AcmeSession(spec, site, store, url, connect=ca.connect)

    result = run_cli("--dir", str(root), "certs", "create", "--staging", edges=Edges(acme_session=session))
    assert result.code == 0, result.err
    assert asked == ["https://ca.test/dir"]  # a private CA is its own staging
    assert f"Trial issuance for {DOMAIN} against https://ca.test/dir (nothing is stored or served)" in result.out
    assert "OK: Fake ACME CA issued serial" in result.out and ca.answered
    # Only the ACME account is kept (a real order registers it); no certificate, nothing for HAProxy.
    assert all(path.startswith("acme") for path in hash_tree(root / "certs"))


def test_renewing_several_sites_goes_on_past_one_that_fails_and_names_it(tmp_path: Path) -> None:
    root = tmp_path / "stack"
    assert run_cli("--dir", str(root), "init", "--domain", "a.example.com").code == 0
    assert run_cli("--dir", str(root), "sites", "add", "b.example.com").code == 0
    assert run_cli("--dir", str(root), "certs", "create").code == 0

    def refuse_b(site: Site) -> Issuer:
        """Fake: the CA of site b is down (an outage cannot be produced on demand)."""
        if site.domain == "b.example.com":
            raise OperationFailed("the CA is down", "try later")
        return issuer_for(site)

    edges = Edges(issuer_for=refuse_b)
    result = run_cli("--dir", str(root), "certs", "renew", "--force", edges=edges)
    assert result.code == 1
    assert "warning: b.example.com: the CA is down" in result.err
    assert result.err.rstrip().endswith(
        "error: failed for b.example.com (every other site is done) — see the lines above"
    )
    assert "Renewed the certificate for a.example.com" in result.out


def _acme_edges(ca: FakeAcmeCa) -> Edges:
    def issuer(site: Site) -> Issuer:
        return AcmeIssuer(connect=ca.connect)

    def session(spec: StackSpec, site: Site, store: CertStore, url: str | None) -> AcmeOrders:
        return AcmeSession(spec, site, store, url, connect=ca.connect)

    return Edges(issuer_for=issuer, acme_session=session)


def test_renew_asks_the_ca_when_to_renew_a_certificate_that_is_not_due(tmp_path: Path) -> None:
    root = tmp_path / "stack"
    _acme_stack(root)
    ca = FakeAcmeCa()
    assert run_cli("--dir", str(root), "certs", "create", edges=_acme_edges(ca)).code == 0
    kept = run_cli("--dir", str(root), "certs", "renew", "--if-due", edges=_acme_edges(ca))
    assert (kept.code, kept.out) == (0, "")  # the CA suggests no earlier time: nothing to do, nothing said
    ca.suggested_renewal = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)  # e.g. the CA revokes it
    renewed = run_cli("--dir", str(root), "certs", "renew", "--if-due", edges=_acme_edges(ca))
    assert renewed.code == 0 and f"Renewed the certificate for {DOMAIN}: serial " in renewed.out
    history = (root / "certs/renewals.jsonl").read_text().splitlines()[-1]
    assert "the CA asked for an early renewal" in history


def test_a_ca_that_cannot_say_when_to_renew_is_a_warning_not_a_renewal(tmp_path: Path) -> None:
    root = tmp_path / "stack"
    _acme_stack(root)
    assert run_cli("--dir", str(root), "certs", "create", edges=_acme_edges(FakeAcmeCa())).code == 0
    down = FakeAcmeCa(error=None)

    def unreachable(spec: StackSpec, site: Site, store: CertStore, url: str | None) -> AcmeOrders:
        raise OperationFailed("failed to reach the ACME server at https://ca.test/dir: connection refused", "later")

    result = run_cli(
        "--dir", str(root), "certs", "renew", edges=dataclasses.replace(_acme_edges(down), acme_session=unreachable)
    )
    assert result.code == 0
    assert result.err == (
        "warning: could not ask the CA for renewal information: failed to reach the ACME server at "
        "https://ca.test/dir: connection refused\n"
    )
    assert result.out.startswith(f"Not due: the certificate for {DOMAIN} expires on ")
