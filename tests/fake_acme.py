"""FakeAcmeCa: stands in for an ACME CA at the seam AcmeSession takes (its `connect`), for unit tests
of issuance. It checks what a real CA checks of the client: a registered account, an HTTP-01 key
authorization of <token>.<account thumbprint> (what HAProxy answers), and signs the CSR's names.
The acme tier tests the real thing against pebble."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass, field
from typing import Any

from acme import challenges, errors, messages
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.certfactory import NOW


@dataclass
class FakeAcmeCa:
    fail_names: set[str] = field(default_factory=set)  # names whose challenge "cannot be reached"
    error: Exception | None = None  # raised by new_order, e.g. a rate limit
    suggested_renewal: dt.datetime | None = None
    profiles: dict[str, str] = field(default_factory=dict)  # as its directory lists them
    ordered_profiles: list[str | None] = field(default_factory=list)
    accounts: int = 0
    answered: list[str] = field(default_factory=list)
    net: Any = None

    def __post_init__(self) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Fake ACME CA")])
        self.root = (
            x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(self.key.public_key())
            .serial_number(1).not_valid_before(NOW - dt.timedelta(days=1)).not_valid_after(NOW + dt.timedelta(days=365))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(self.key, hashes.SHA256())
        )  # fmt: skip

    @property
    def directory(self) -> messages.Directory:
        """No caaIdentities: a CA that does not say, so the client checks no CAA (no DNS in unit tests)."""
        meta = messages.Directory.Meta(profiles=self.profiles or None)
        return messages.Directory({"newOrder": "https://ca.test/new-order", "meta": meta})

    def connect(self, url: str, net: Any) -> FakeAcmeCa:
        self.net = net
        return self

    def new_account(self, registration: messages.NewRegistration) -> messages.RegistrationResource:
        assert registration.terms_of_service_agreed
        self.accounts += 1
        return messages.RegistrationResource(uri=f"https://ca.test/acct/{self.accounts}", body=messages.Registration())

    def new_order(self, csr_pem: bytes, profile: str | None = None) -> messages.OrderResource:
        if self.error is not None:
            raise self.error
        self.ordered_profiles.append(profile)
        assert self.net.account is not None, "ordering without a registered account"
        csr = x509.load_pem_x509_csr(csr_pem)
        names = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(
            x509.DNSName
        )
        authzs = [
            messages.AuthorizationResource(
                uri=f"https://ca.test/authz/{name}",
                body=messages.Authorization(
                    identifier=messages.Identifier(typ=messages.IDENTIFIER_FQDN, value=name),
                    challenges=[messages.ChallengeBody(chall=challenges.HTTP01(token=secrets.token_bytes(16)),
                                                       _url=f"https://ca.test/chall/{name}")],
                    status=messages.STATUS_PENDING,
                ),
            )
            for name in names
        ]  # fmt: skip
        return messages.OrderResource(body=messages.Order(), authorizations=authzs, csr_pem=csr_pem)

    def answer_challenge(
        self, challb: messages.ChallengeBody, response: challenges.ChallengeResponse
    ) -> messages.ChallengeResource:
        assert isinstance(response, challenges.HTTP01Response)
        # What HAProxy answers statelessly: <token>.<thumbprint of the account key>.
        assert response.verify(challb.chall, self.net.key.public_key()), "key authorization does not match"
        self.answered.append(challb.chall.encode("token"))
        return messages.ChallengeResource(body=challb, authzr_uri=None)

    def poll_and_finalize(
        self, order: messages.OrderResource, deadline: dt.datetime | None = None
    ) -> messages.OrderResource:
        failed = [a for a in order.authorizations if a.body.identifier.value in self.fail_names]
        if failed:
            problem = messages.Error.with_code("connection", detail="Connection refused")
            broken = [
                a.update(body=a.body.update(status=messages.STATUS_INVALID,
                                            challenges=[c.update(error=problem) for c in a.body.challenges]))
                for a in failed
            ]  # fmt: skip
            raise errors.ValidationError(broken)
        csr = x509.load_pem_x509_csr(order.csr_pem)
        san = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        leaf = (
            x509.CertificateBuilder().subject_name(csr.subject).issuer_name(self.root.subject)
            .public_key(csr.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(NOW - dt.timedelta(minutes=5)).not_valid_after(NOW + dt.timedelta(days=90))
            .add_extension(san, critical=False).sign(self.key, hashes.SHA256())
        )  # fmt: skip
        pem = leaf.public_bytes(serialization.Encoding.PEM) + self.root.public_bytes(serialization.Encoding.PEM)
        finished: messages.OrderResource = order.update(fullchain_pem=pem.decode())
        return finished

    def renewal_time(self, cert_pem: bytes) -> tuple[dt.datetime | None, dt.datetime]:
        return self.suggested_renewal, NOW
