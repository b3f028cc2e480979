"""`certs create`, `certs renew` and `certs import` for one site: what to do, decided from what is stored
and stack.yaml, then the certificate replaced (live on a running stack). Commands print the outcome."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.serialization import Encoding

from stackctl.certs.history import last_renewal
from stackctl.certs.inspect import CertInfo, cert_info
from stackctl.certs.issued import Issued
from stackctl.certs.issuers import staging_url
from stackctl.certs.manage import (
    current_is_usable,
    issued_from_import,
    obtain,
    read_password,
    reports,
    validate_files,
)
from stackctl.certs.policy import Action, Current, Decision, decide, worth_asking_ari
from stackctl.certs.store import CertStore
from stackctl.certs.validate import ValidImport
from stackctl.config.layout import StackPaths
from stackctl.config.sites import Site
from stackctl.config.spec import StackSpec
from stackctl.core.clock import utcnow
from stackctl.core.errors import InvalidInput, OperationFailed, StackctlError
from stackctl.core.fsio import MiB, read_user_file
from stackctl.engines.base import Report
from stackctl.flows.edges import Edges
from stackctl.flows.replace_certificate import Replaced, replace_certificate
from stackctl.flows.served_hold import served_everywhere

__all__ = ["CertInfo", "Replaced"]  # what commands read from the outcomes


def long_date(moment: dt.datetime) -> str:
    return f"{moment:%-d %B %Y}"


@dataclass(frozen=True)
class CertificateFiles:
    cert: Path
    key: Path
    bundle: Path  # what HAProxy loads: the certificate, its chain and the key


def certificate_files(paths: StackPaths, domain: str) -> CertificateFiles:
    store = CertStore(paths.certs)
    folder = store.site_dir(domain)
    return CertificateFiles(folder / "cert.pem", folder / "key.pem", store.bundle(domain))


def local_ca_certificate(paths: StackPaths) -> Path:
    """The local CA's certificate, to trust on each device; raises when there is none yet."""
    ca_cert = CertStore(paths.certs).ca_cert
    if not ca_cert.exists():
        raise OperationFailed(f"no local CA in {ca_cert.parent} yet", 'run "stackctl certs create" first')
    return ca_cert.resolve()


def certificate_rows(paths: StackPaths, spec: StackSpec, only: Site | None) -> list[dict[str, Any]]:
    """`certs show --json`'s rows: every site of stack.yaml (or the one), a site without a certificate
    included, each with whether renewal is due by the decision `renew` makes (the CA's renewal
    information aside: showing asks no server); then certificates of sites no longer in stack.yaml."""
    store, now = CertStore(paths.certs), utcnow()
    stored = {r.domain: r for r in reports(store, now)}
    rows = []
    for site in [only] if only is not None else list(spec.sites):
        report = stored.pop(site.domain, None)
        current = Current(report.info, report.source) if report is not None else None
        decision = decide(current, site, now)
        row = report.as_json() if report is not None else _no_certificate(site)
        rows.append({**row, "due": decision.due, "due_reason": decision.reason if decision.due else None})
    for report in stored.values() if only is None else []:
        rows.append({**report.as_json(), "due_reason": None, "in_stack_yaml": False})
    return [{**r, "last_renewal": last_renewal(paths, r["domain"])} for r in rows]


def _no_certificate(site: Site) -> dict[str, Any]:
    return {"domain": site.domain, "names": list(site.names), "source": site.tls.source, "serial": None}


@dataclass(frozen=True)
class Created:
    existing: CertInfo | None  # a valid certificate that was kept (no --force)
    replaced: Replaced | None

    @property
    def info(self) -> CertInfo:
        """The certificate the site has now."""
        if self.replaced is not None:
            return cert_info(self.replaced.issued.leaf)
        assert self.existing is not None
        return self.existing


def create(paths: StackPaths, spec: StackSpec, site: Site, force: bool, edges: Edges) -> Created:
    """A new certificate for the site from its source, unless a valid one exists and `force` is off."""
    store = CertStore(paths.certs)
    now = utcnow()
    stored = store.read_site(site.domain)
    if stored is not None and not force and current_is_usable(store, site, now):
        return Created(cert_info(stored.leaf), None)
    reason = "create --force" if force else "create"
    issuer_for = edges.issuer_for
    replaced = replace_certificate(paths, spec, site, lambda: obtain(store, spec, site, now, issuer_for), reason, edges)
    return Created(None, replaced)


def trial_issuance(paths: StackPaths, spec: StackSpec, site: Site, edges: Edges, report: Report) -> CertInfo:
    """An order against the staging (or the configured private) CA; nothing is stored or served."""
    if site.tls.source != "acme":
        raise InvalidInput("--staging is for tls.source: acme", "set tls.source: acme and tls.acme.email first")
    url = staging_url(site)
    report(f"Trial issuance for {', '.join(site.names)} against {url} (nothing is stored or served)")
    issued = edges.acme_session(spec, site, CertStore(paths.certs), url).order()
    return cert_info(issued.leaf)


@dataclass(frozen=True)
class Renewal:
    decision: Decision
    before: CertInfo | None  # the certificate stored before
    replaced: Replaced | None  # None when nothing was renewed
    served_again: Replaced | None = None  # not due, but an edge node served an older one: handed over again

    @property
    def after(self) -> CertInfo | None:
        return cert_info(self.replaced.issued.leaf) if self.replaced is not None else None


def _ari_suggestion(
    spec: StackSpec, site: Site, store: CertStore, leaf_pem: bytes, edges: Edges, warn: Report
) -> dt.datetime | None:
    """ACME Renewal Information (RFC 9773): the CA may ask for an earlier renewal (e.g. a revocation)."""
    try:
        return edges.acme_session(spec, site, store, None).renewal_time(leaf_pem)
    except StackctlError as e:
        warn(f"could not ask the CA for renewal information: {e.message}")
        return None


def renew(paths: StackPaths, spec: StackSpec, site: Site, force: bool, edges: Edges, warn: Report) -> Renewal:
    """Renew the site's certificate when it is due (or `force`); an imported one cannot be renewed here."""
    store = CertStore(paths.certs)
    now = utcnow()
    stored = store.read_site(site.domain)
    info = cert_info(stored.leaf) if stored else None
    current = Current(info, stored.source) if stored and info else None
    decision = decide(current, site, now, force=force)
    if stored is not None and worth_asking_ari(current, site, decision):
        ari = _ari_suggestion(spec, site, store, stored.leaf.public_bytes(Encoding.PEM), edges, warn)
        decision = decide(current, site, now, ari, force)
    if decision.action is Action.KEEP:
        return Renewal(decision, info, None, _serve_again_where_stale(paths, spec, site, edges))
    if decision.action is Action.IMPOSSIBLE:
        if info is None:
            raise InvalidInput("no imported certificate yet", "run: stackctl certs import FILE")
        raise OperationFailed(
            f"cannot renew the imported certificate for {site.domain}: it expires on {long_date(info.not_after)}"
            + (" and renewal is due" if decision.due else ""),
            "get a new one from its CA and run: stackctl certs import FILE",
        )
    issuer_for = edges.issuer_for
    replaced = replace_certificate(
        paths, spec, site, lambda: obtain(store, spec, site, now, issuer_for), decision.reason, edges
    )
    return Renewal(decision, info, replaced)


def _serve_again_where_stale(paths: StackPaths, spec: StackSpec, site: Site, edges: Edges) -> Replaced | None:
    """On a Swarm, a renewal hands the certificate to each running HAProxy and its tasks read the new
    secret only at their next roll: a task restarted meanwhile serves the previous certificate. The one
    on disk is then handed over again, so that a scheduled `renew --if-due` puts it right."""
    if spec.capabilities.reloads_in_place:
        return None  # one host: HAProxy reads the bundle on disk whenever it starts
    store = CertStore(paths.certs)
    stored = store.read_site(site.domain)
    try:
        engine = edges.engine(spec)
        if stored is None or engine.running_haproxy(spec, paths) is None:
            return None
        if served_everywhere(paths, spec, engine, [site.domain]):
            return None
    except OperationFailed:
        return None  # no manager to ask: nothing to hand over to from here
    key = read_user_file(store.site_dir(site.domain) / "key.pem", MiB, "", "run: stackctl certs renew --force")
    issued = Issued(stored.leaf, list(stored.chain), key)
    return replace_certificate(
        paths, spec, site, lambda: (issued, stored.source), "an edge node served an older certificate", edges
    )


def validated_import(site: Site, files: list[Path], password_file: Path | None) -> ValidImport:
    """The files (certificate, key, chain; PEM, DER or PKCS#12) checked against the site's names."""
    return validate_files(site, files, read_password(password_file), utcnow())


def import_valid(paths: StackPaths, spec: StackSpec, site: Site, valid: ValidImport, edges: Edges) -> Replaced:
    """The site's certificate replaced by the imported one (live on a running stack)."""
    return replace_certificate(paths, spec, site, lambda: (issued_from_import(valid), "import"), "import", edges)


def imported_info(valid: ValidImport) -> CertInfo:
    return cert_info(valid.leaf)
