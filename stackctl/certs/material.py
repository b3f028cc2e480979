"""Pure parsing of certificate files: PEM (any order, any mix), DER, PKCS#12. Bytes in, objects out."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12

from stackctl.certs.keys import PrivateKey
from stackctl.core.errors import InvalidInput

_PEM_BLOCK = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----\r?\n(.*?)-----END \1-----", re.DOTALL)
_CERT_LABELS = {b"CERTIFICATE", b"X509 CERTIFICATE", b"TRUSTED CERTIFICATE"}
_CSR_LABELS = {b"CERTIFICATE REQUEST", b"NEW CERTIFICATE REQUEST"}


@dataclass
class Material:
    certs: list[x509.Certificate] = field(default_factory=list)
    keys: list[PrivateKey] = field(default_factory=list)

    def extend(self, other: Material) -> None:
        self.certs += other.certs
        self.keys += other.keys


def _accept_key(key: object, label: str) -> PrivateKey:
    if isinstance(key, (ec.EllipticCurvePrivateKey, rsa.RSAPrivateKey)):
        return key
    raise InvalidInput(f"{label}: unsupported key type {type(key).__name__}", "use an ECDSA (P-256/P-384) or RSA key")


def _load_pem_key(block: bytes, label: str, password: bytes | None) -> PrivateKey:
    try:
        return _accept_key(serialization.load_pem_private_key(block, password=password), label)
    except TypeError:
        if password is None:
            raise InvalidInput(
                f"{label}: the private key is encrypted", "pass its password with --password-file FILE"
            ) from None
        return _accept_key(serialization.load_pem_private_key(block, password=None), label)
    except ValueError:
        if password is not None:
            raise InvalidInput(
                f"{label}: wrong password for the encrypted private key", "check --password-file"
            ) from None
        raise InvalidInput(
            f"{label}: the private key is damaged or in an unknown format", "give the PEM or DER key file as issued"
        ) from None


def _parse_pem(data: bytes, label: str, password: bytes | None) -> Material:
    blocks = list(_PEM_BLOCK.finditer(data))
    if len(blocks) != data.count(b"-----BEGIN "):
        raise InvalidInput(f"{label}: truncated PEM (a BEGIN line without its END line)", "copy the whole file again")
    material = Material()
    for match in blocks:
        kind, block = match.group(1), match.group(0)
        if kind in _CERT_LABELS:
            try:
                material.certs.append(x509.load_pem_x509_certificate(block))
            except ValueError:
                raise InvalidInput(f"{label}: a certificate in it is damaged", "copy the whole file again") from None
        elif kind in _CSR_LABELS:
            raise InvalidInput(
                f"{label}: is a certificate signing request (CSR), not a certificate",
                "give the certificate your CA issued for it",
            )
        elif kind.endswith(b"PRIVATE KEY"):
            material.keys.append(_load_pem_key(block, label, password))
        else:
            raise InvalidInput(f"{label}: unsupported PEM block {kind.decode()!r}", "give certificates and keys only")
    return material


def _parse_pkcs12(data: bytes, label: str, password: bytes | None) -> Material:
    try:
        key, cert, extra = pkcs12.load_key_and_certificates(data, password)
    except ValueError:
        if password is None:
            raise InvalidInput(
                f"{label}: cannot open the PKCS#12 file without a password", "pass it with --password-file FILE"
            ) from None
        raise InvalidInput(f"{label}: wrong password for the PKCS#12 file", "check --password-file") from None
    material = Material(certs=([cert] if cert else []) + list(extra))
    if key is not None:
        material.keys.append(_accept_key(key, label))
    return material


def parse_material(data: bytes, label: str, password: bytes | None = None) -> Material:
    """Everything usable in one file. Raises InvalidInput naming the file and the problem."""
    if not data.strip():
        raise InvalidInput(f"{label}: the file is empty", "give the certificate file, not an empty one")
    if b"-----BEGIN " in data:
        return _parse_pem(data, label, password)
    try:
        return Material(certs=[x509.load_der_x509_certificate(data)])
    except ValueError:
        pass
    try:
        return Material(keys=[_accept_key(serialization.load_der_private_key(data, password=None), label)])
    except (ValueError, TypeError):
        pass
    if label.lower().endswith((".p12", ".pfx")) or data[:1] == b"\x30":
        return _parse_pkcs12(data, label, password)
    raise InvalidInput(f"{label}: not a certificate, key or PKCS#12 file", "give PEM, DER or PKCS#12 (.p12/.pfx)")
