"""Certificate operations on a stack: report, issue, renew on disk, import. The CLI calls these."""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509

from stackctl.certs.inspect import CertInfo, cert_info
from stackctl.certs.issued import Issued, Issuer
from stackctl.certs.issuers import issuer_for
from stackctl.certs.keys import key_pem
from stackctl.certs.material import Material, parse_material
from stackctl.certs.store import CertStore
from stackctl.certs.validate import ValidImport, validate_import
from stackctl.config.sites import Site
from stackctl.config.spec import StackSpec
from stackctl.core.clock import timestamp
from stackctl.core.fsio import MiB, read_user_file
from stackctl.core.names import uncovered

SYSTEM_TRUST_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")


@dataclass(frozen=True)
class CertReport:
    domain: str
    source: str
    info: CertInfo
    path: Path
    now: dt.datetime

    def as_json(self) -> dict[str, Any]:
        info = self.info
        return {
            "domain": self.domain,
            "names": list(info.names),
            "source": self.source,
            "issuer": info.issuer,
            "serial": info.serial_hex,
            "key_type": info.key_type,
            "not_before": timestamp(info.not_before),
            "not_after": timestamp(info.not_after),
            "days_left": info.days_left(self.now),
            "renew_after": timestamp(info.renew_after),
            "due": info.due(self.now),
            "fingerprint_sha256": info.fingerprint_sha256,
            "path": str(self.path),
        }


def reports(store: CertStore, now: dt.datetime) -> list[CertReport]:
    result = []
    for domain in store.sites():
        site = store.read_site(domain)
        if site is not None:
            result.append(CertReport(domain, site.source, cert_info(site.leaf), site.cert_path, now))
    return result


def current_is_usable(store: CertStore, site: Site, now: dt.datetime) -> bool:
    """A stored certificate exists for the site, is within its validity and covers every name."""
    stored = store.read_site(site.domain)
    if stored is None:
        return False
    info = cert_info(stored.leaf)
    return info.not_before <= now < info.not_after and not uncovered(site.names, list(info.names))


IssuerFor = Callable[[Site], Issuer]


def obtain(
    store: CertStore, spec: StackSpec, site: Site, now: dt.datetime, issuer_for: IssuerFor = issuer_for
) -> tuple[Issued, str]:
    """A new certificate for the site from its configured source (not yet stored), and the source."""
    issuer = issuer_for(site)
    return issuer.issue(spec, site, store, now), issuer.source


def issue(
    store: CertStore, spec: StackSpec, site: Site, now: dt.datetime, issuer_for: IssuerFor = issuer_for
) -> tuple[Issued, str]:
    """Obtain a new certificate for the site and store it (no running stack involved)."""
    issued, source = obtain(store, spec, site, now, issuer_for)
    store.write_site(site.domain, issued.leaf, issued.chain, issued.key_pem, source)
    return issued, source


CERT_FILE_MAX_BYTES = MiB
PASSWORD_FILE_MAX_BYTES = 4096


def _read_input(path: Path, password: bytes | None) -> Material:
    data = read_user_file(path, CERT_FILE_MAX_BYTES, "", "give a certificate or key file (PEM, DER or PKCS#12)")
    return parse_material(data, str(path), password)


def _trusted_roots() -> frozenset[bytes]:
    """Subjects of the roots in the system trust store; one odd entry must not hide the others."""
    try:
        text = SYSTEM_TRUST_BUNDLE.read_bytes()
    except OSError:
        return frozenset()
    subjects = set()
    end = b"-----END CERTIFICATE-----"
    for block in text.split(end)[:-1]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                subjects.add(x509.load_pem_x509_certificate(block + end).subject.public_bytes())
            except ValueError:
                continue
    return frozenset(subjects)


def read_password(password_file: Path | None) -> bytes | None:
    if password_file is None:
        return None
    hint = "give a file holding only the password"
    data = read_user_file(password_file, PASSWORD_FILE_MAX_BYTES, "--password-file", hint)
    return data.rstrip(b"\r\n")


def validate_files(site: Site, files: list[Path], password: bytes | None, now: dt.datetime) -> ValidImport:
    material = Material()
    for path in files:
        material.extend(_read_input(path, password))
    return validate_import(material, site.names, now, _trusted_roots())


def issued_from_import(valid: ValidImport) -> Issued:
    return Issued(leaf=valid.leaf, chain=valid.chain, key_pem=key_pem(valid.key))
