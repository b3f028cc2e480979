"""What an issuer hands back, and what an issuer is: the types shared by the local CA, an import and
ACME (`certs.acme`), so that none of them imports another."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Protocol

from cryptography import x509

from stackctl.certs.store import CertStore
from stackctl.config.sites import Site
from stackctl.config.spec import StackSpec


@dataclass(frozen=True)
class Issued:
    leaf: x509.Certificate
    chain: list[x509.Certificate]
    key_pem: bytes
    notes: tuple[str, ...] = ()


class AcmeOrders(Protocol):
    """A registered ACME client for one site (certs.acme.issuer.AcmeSession): an order, and the CA's
    suggested renewal time (ACME Renewal Information) for a certificate."""

    def order(self) -> Issued: ...

    def renewal_time(self, leaf_pem: bytes) -> dt.datetime | None: ...


class Issuer(Protocol):
    source: str

    def issue(self, spec: StackSpec, site: Site, store: CertStore, now: dt.datetime) -> Issued: ...
