"""The on-disk certificate store under certs/ (0700; keys and HAProxy bundles 0600; atomic writes).

certs/ca/ca.crt, ca.key                  the stack's local CA
certs/sites/<domain>/cert.pem, chain.pem, key.pem, meta.json
certs/haproxy/<domain>.pem               leaf + chain + key: what HAProxy's `crt <dir>/` loads
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from stackctl.certs.inspect import fingerprint, serial_hex
from stackctl.config.settings import DEFAULT_CERT_FILE
from stackctl.core.errors import OperationFailed, StackctlError
from stackctl.core.fsio import (
    PRIVATE_DIR_MODE,
    PRIVATE_FILE_MODE,
    PUBLIC_FILE_MODE,
    MiB,
    atomic_write,
    ensure_dir,
    read_user_file,
)


@dataclass(frozen=True)
class StoredSite:
    domain: str
    leaf: x509.Certificate
    chain: tuple[x509.Certificate, ...]
    meta: dict[str, Any]
    cert_path: Path

    @property
    def source(self) -> str:
        return str(self.meta.get("source", "unknown"))


def pem_of(certs: list[x509.Certificate] | tuple[x509.Certificate, ...]) -> bytes:
    return b"".join(c.public_bytes(Encoding.PEM) for c in certs)


class CertStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    @property
    def ca_cert(self) -> Path:
        return self.root / "ca" / "ca.crt"

    @property
    def ca_key(self) -> Path:
        return self.root / "ca" / "ca.key"

    @property
    def bundles(self) -> Path:
        return self.root / "haproxy"

    def site_dir(self, domain: str) -> Path:
        return self.root / "sites" / domain

    def bundle(self, domain: str) -> Path:
        return self.bundles / f"{domain}.pem"

    @property
    def default_bundle(self) -> Path:
        return self.bundles / DEFAULT_CERT_FILE

    def write_default(self, leaf: x509.Certificate, key_pem: bytes) -> None:
        self.prepare()
        atomic_write(self.default_bundle, pem_of([leaf]) + key_pem, PRIVATE_FILE_MODE)

    def read_default(self) -> x509.Certificate | None:
        """The default certificate, or None when there is none or it cannot be read (it is then made anew)."""
        try:
            return x509.load_pem_x509_certificate(read_user_file(self.default_bundle, MiB, ""))
        except (StackctlError, ValueError):
            return None

    def site_files(self, domain: str) -> list[Path]:
        site = self.site_dir(domain)
        return [site / "cert.pem", site / "chain.pem", site / "key.pem", site / "meta.json", self.bundle(domain)]

    def prepare(self) -> None:
        for folder in (self.root, self.root / "sites", self.bundles):
            ensure_dir(folder, PRIVATE_DIR_MODE)

    def write_ca(self, cert_pem: bytes, key_pem: bytes) -> None:
        self.prepare()
        atomic_write(self.ca_key, key_pem, PRIVATE_FILE_MODE)
        atomic_write(self.ca_cert, cert_pem, PUBLIC_FILE_MODE)

    def write_site(
        self, domain: str, leaf: x509.Certificate, chain: list[x509.Certificate], key_pem: bytes, source: str
    ) -> None:
        """Write the site files, the bundle last: HAProxy only ever sees a complete new bundle."""
        self.prepare()
        site = self.site_dir(domain)
        ensure_dir(site, PRIVATE_DIR_MODE)
        leaf_pem, chain_pem = pem_of([leaf]), pem_of(chain)
        meta = {
            "source": source,
            "fingerprint_sha256": fingerprint(leaf),
            "serial": serial_hex(leaf),
            "written_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        }
        atomic_write(site / "key.pem", key_pem, PRIVATE_FILE_MODE)
        atomic_write(site / "cert.pem", leaf_pem, PUBLIC_FILE_MODE)
        atomic_write(site / "chain.pem", chain_pem, PUBLIC_FILE_MODE)
        atomic_write(site / "meta.json", json.dumps(meta, indent=2) + "\n", PUBLIC_FILE_MODE)
        atomic_write(self.bundle(domain), leaf_pem + chain_pem + key_pem, PRIVATE_FILE_MODE)

    def read_site(self, domain: str) -> StoredSite | None:
        site = self.site_dir(domain)
        cert_path = site / "cert.pem"
        if not cert_path.exists():
            return None
        try:
            leaf = x509.load_pem_x509_certificate(read_user_file(cert_path, MiB, ""))
            chain_pem = read_user_file(site / "chain.pem", MiB, "")
            chain = tuple(x509.load_pem_x509_certificates(chain_pem)) if chain_pem.strip() else ()
            meta_path = site / "meta.json"
            meta = json.loads(read_user_file(meta_path, MiB, "")) if meta_path.exists() else {}
        except (StackctlError, ValueError) as e:
            why = e.message if isinstance(e, StackctlError) else str(e)[:160]
            raise OperationFailed(
                f"failed to read the certificate in {site}: {why}", 'run "stackctl certs create --force" to replace it'
            ) from e
        return StoredSite(domain, leaf, chain, meta, cert_path)

    def sites(self) -> list[str]:
        folder = self.root / "sites"
        return sorted(p.name for p in folder.iterdir() if (p / "cert.pem").exists()) if folder.is_dir() else []

    def snapshot(self, domain: str) -> dict[Path, tuple[bytes, int] | None]:
        """The site's files as they are now, to restore if a later step fails."""
        state: dict[Path, tuple[bytes, int] | None] = {}
        for path in self.site_files(domain):
            if not path.exists():
                state[path] = None
                continue
            state[path] = (read_user_file(path, MiB, ""), path.stat().st_mode & 0o777)
        return state

    def restore(self, state: dict[Path, tuple[bytes, int] | None]) -> None:
        for path, saved in state.items():
            if saved is None:
                path.unlink(missing_ok=True)
            else:
                atomic_write(path, saved[0], saved[1])
