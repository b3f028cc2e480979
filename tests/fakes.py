"""Fakes for faults that cannot be produced for real, injected through stackctl.flows.edges.Edges."""

from __future__ import annotations

import datetime as dt

from cryptography.hazmat.primitives.asymmetric import ec

from stackctl.certs.issuers import Issued, Issuer, issuer_for
from stackctl.certs.keys import key_pem
from stackctl.certs.store import CertStore
from stackctl.config.spec import StackSpec
from stackctl.flows.edges import Edges


class BrokenKeyIssuer:
    """Fake CA: issues through the real one, then hands out a key that does not match the certificate."""

    def __init__(self, real: Issuer) -> None:
        self.real = real
        self.source = real.source

    def issue(self, spec: StackSpec, store: CertStore, now: dt.datetime) -> Issued:
        issued = self.real.issue(spec, store, now)
        return Issued(issued.leaf, issued.chain, key_pem(ec.generate_private_key(ec.SECP256R1())), issued.notes)


def broken_key_edges() -> Edges:
    return Edges(issuer_for=lambda spec: BrokenKeyIssuer(issuer_for(spec)))
