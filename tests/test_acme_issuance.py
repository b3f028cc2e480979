"""ACME issuance driven against FakeAcmeCa (the acme tier does it against pebble): account reuse,
the HTTP-01 key authorization HAProxy serves, errors with the CA's words and a hint, renewal info."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import requests
from acme import errors, messages
from cryptography import x509

from stackctl.certs.acme.account import AccountFiles, existing_thumbprint, thumbprint
from stackctl.certs.acme.issuer import AcmeClient, AcmeIssuer, AcmeSession
from stackctl.certs.issuers import staging_url
from stackctl.certs.store import CertStore
from stackctl.config.spec import StackSpec, spec_from_data
from stackctl.core.errors import OperationFailed
from tests.certfactory import NOW
from tests.fake_acme import FakeAcmeCa

DOMAIN = "photos.example.com"


def _spec(**acme: object) -> StackSpec:
    return spec_from_data(
        {
            "domain": DOMAIN,
            "aliases": ["www.photos.example.com"],
            "tls": {"source": "acme", "acme": {"email": "me@example.com", "directory": "https://ca.test/dir", **acme}},
        }
    )


SPEC = _spec()


def test_issuance_registers_once_answers_http01_and_returns_the_chain(tmp_path: Path) -> None:
    ca, store, spec = FakeAcmeCa(), CertStore(tmp_path / "certs"), _spec()
    issued = AcmeIssuer(connect=ca.connect).issue(spec, spec.first_site, store, NOW)
    names = issued.leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sorted(names.get_values_for_type(x509.DNSName)) == sorted(spec.first_site.names)
    assert issued.chain == [ca.root] and b"PRIVATE KEY" in issued.key_pem
    assert len(ca.answered) == 2 and ca.accounts == 1
    AcmeIssuer(connect=ca.connect).issue(spec, spec.first_site, store, NOW)
    assert ca.accounts == 1  # the saved account is reused
    assert (AccountFiles(store.root).key.stat().st_mode & 0o777) == 0o600
    # haproxy.cfg answers challenges with this thumbprint: it must be the account key's.
    assert existing_thumbprint(store.root) == thumbprint(
        AcmeSession(spec, spec.first_site, store, connect=ca.connect).key
    )


def test_a_challenge_the_ca_cannot_reach_names_the_host_and_what_to_check(tmp_path: Path) -> None:
    ca = FakeAcmeCa(fail_names={"www.photos.example.com"})
    with pytest.raises(OperationFailed) as caught:
        AcmeIssuer(connect=ca.connect).issue(SPEC, SPEC.first_site, CertStore(tmp_path / "certs"), NOW)
    assert "could not validate www.photos.example.com: Connection refused" in caught.value.message
    assert "resolves to this host" in caught.value.hint and "port 80" in caught.value.hint


@pytest.mark.parametrize(
    ("error", "message", "hint"),
    [
        (messages.Error(typ="urn:ietf:params:acme:error:rateLimited", detail="too many certificates"),
         "too many certificates", "rate-limits"),
        (messages.Error(typ="urn:ietf:params:acme:error:rejectedIdentifier", detail="forbidden name"),
         "forbidden name", "will not issue"),
        (errors.TimeoutError(), "did not finish the order in time", "try again later"),
        (requests.exceptions.ConnectionError("Connection refused"), "connection refused", "network"),
    ],
    ids=["rate-limited", "rejected", "timeout", "connection"],
)  # fmt: skip
def test_ca_errors_carry_the_cas_words_and_a_hint(tmp_path: Path, error: Exception, message: str, hint: str) -> None:
    ca = FakeAcmeCa(error=error)
    with pytest.raises(OperationFailed) as caught:
        AcmeIssuer(connect=ca.connect).issue(SPEC, SPEC.first_site, CertStore(tmp_path / "certs"), NOW)
    assert message in caught.value.message and hint in caught.value.hint


def test_an_unreachable_directory_says_what_to_check(tmp_path: Path) -> None:
    def refuse(url: str, net: object) -> AcmeClient:
        raise requests.exceptions.ConnectionError("Max retries exceeded: Connection refused")

    with pytest.raises(OperationFailed) as caught:
        AcmeSession(SPEC, SPEC.first_site, CertStore(tmp_path / "certs"), connect=refuse)
    assert caught.value.message == "failed to reach the ACME server at https://ca.test/dir: connection refused"
    assert "ca_bundle" in caught.value.hint


def test_renewal_information_is_read_as_utc(tmp_path: Path) -> None:
    ca = FakeAcmeCa(suggested_renewal=dt.datetime(2027, 1, 2, 3, 4))
    session = AcmeSession(SPEC, SPEC.first_site, CertStore(tmp_path / "certs"), connect=ca.connect)
    assert session.renewal_time(b"pem") == dt.datetime(2027, 1, 2, 3, 4, tzinfo=dt.timezone.utc)
    ca.suggested_renewal = None
    assert session.renewal_time(b"pem") is None


def test_trial_issuance_uses_staging_unless_a_private_ca_is_configured() -> None:
    assert staging_url(_spec().first_site) == "https://ca.test/dir"
    assert "staging" in staging_url(_spec(directory="letsencrypt-staging").first_site)


def test_a_profile_is_ordered_only_where_the_ca_offers_it(tmp_path: Path) -> None:
    offered = {"classic": "90 days", "shortlived": "6 days"}
    ca, store, spec = FakeAcmeCa(profiles=offered), CertStore(tmp_path / "certs"), _spec(profile="shortlived")
    AcmeIssuer(connect=ca.connect).issue(spec, spec.first_site, store, NOW)
    assert ca.ordered_profiles == ["shortlived"]
    AcmeIssuer(connect=ca.connect).issue(SPEC, SPEC.first_site, store, NOW)
    assert ca.ordered_profiles == ["shortlived", None]  # none set: the CA's default

    wanting = _spec(profile="tlsserver")
    for ca, said in ((FakeAcmeCa(profiles=offered), "offers classic (90 days), shortlived (6 days)"),
                     (FakeAcmeCa(), "offers no certificate profiles")):  # fmt: skip
        with pytest.raises(OperationFailed) as caught:
            AcmeIssuer(connect=ca.connect).issue(wanting, wanting.first_site, CertStore(tmp_path / "other"), NOW)
        assert said in caught.value.message and "tls.acme.profile" in caught.value.hint
        assert ca.ordered_profiles == [] and ca.accounts == 0  # nothing was sent: not even a registration
