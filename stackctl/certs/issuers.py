"""Which issuer a site's certificate comes from: the local CA here, ACME from certs.acme."""

from __future__ import annotations

import datetime as dt

from stackctl.certs.issued import Issued, Issuer
from stackctl.certs.keys import key_pem
from stackctl.certs.localca import issue_leaf, load_or_create_ca
from stackctl.certs.store import CertStore
from stackctl.config.rules import ACME_DIRECTORIES
from stackctl.config.sites import Site
from stackctl.config.spec import StackSpec
from stackctl.core.errors import InvalidInput


def staging_url(site: Site) -> str:
    """Where `certs create --staging` tries: Let's Encrypt staging, or the configured private CA."""
    directory = site.tls.acme.directory
    return directory if directory.startswith("https://") else ACME_DIRECTORIES["letsencrypt-staging"]


class LocalCaIssuer:
    source = "local-ca"

    def issue(self, spec: StackSpec, site: Site, store: CertStore, now: dt.datetime) -> Issued:
        ca_cert, ca_key, created = load_or_create_ca(store, spec.name, now)
        leaf, key = issue_leaf(ca_cert, ca_key, site.names, site.tls.key_type, now)
        notes = (f"Created a new local CA at {store.ca_cert} (trust it: stackctl certs ca)",) if created else ()
        return Issued(leaf=leaf, chain=[], key_pem=key_pem(key), notes=notes)


def issuer_for(site: Site) -> Issuer:
    if site.tls.source == "local-ca":
        return LocalCaIssuer()
    if site.tls.source == "import":
        raise InvalidInput(
            "tls.source is import: stackctl cannot issue or renew an imported certificate",
            "get a new one from its CA and run: stackctl certs import FILE",
        )
    from stackctl.certs.acme.issuer import AcmeIssuer

    return AcmeIssuer()
