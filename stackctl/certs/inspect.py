"""Pure certificate inspection: bytes in, facts out. No I/O."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

PublicKey = ec.EllipticCurvePublicKey | rsa.RSAPublicKey


@dataclass(frozen=True)
class CertInfo:
    names: tuple[str, ...]
    issuer: str
    serial_hex: str
    key_type: str
    not_before: dt.datetime
    not_after: dt.datetime
    fingerprint_sha256: str

    @property
    def lifetime(self) -> dt.timedelta:
        return self.not_after - self.not_before

    @property
    def renew_after(self) -> dt.datetime:
        """Renewal is due once less than a third of the lifetime is left (never a fixed number of days)."""
        return self.not_after - self.lifetime / 3

    def due(self, now: dt.datetime) -> bool:
        return now >= self.renew_after

    def days_left(self, now: dt.datetime) -> int:
        return (self.not_after - now).days


def key_type_of(public_key: object) -> str:
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        return {"secp256r1": "ecdsa-p256", "secp384r1": "ecdsa-p384"}.get(
            public_key.curve.name, f"ecdsa-{public_key.curve.name}"
        )
    if isinstance(public_key, rsa.RSAPublicKey):
        return f"rsa-{public_key.key_size}"
    return type(public_key).__name__.lower().replace("publickey", "")


def dns_names(cert: x509.Certificate) -> tuple[str, ...]:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return ()
    return tuple(name.lower() for name in san.get_values_for_type(x509.DNSName))


def common_name(name: x509.Name) -> str:
    values = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(values[0].value) if values else name.rfc4514_string()


def is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def server_auth_allowed(cert: x509.Certificate) -> bool:
    """True when the certificate has no EKU (any use) or its EKU lists serverAuth."""
    try:
        eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return True
    return ExtendedKeyUsageOID.SERVER_AUTH in eku


def fingerprint(cert: x509.Certificate) -> str:
    return cert.fingerprint(hashes.SHA256()).hex(":").upper()


def public_key_bytes(public_key: CertificatePublicKeyTypes) -> bytes:
    """The key's SubjectPublicKeyInfo, to compare keys of any type (an Ed25519 certificate included)."""
    return public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def serial_hex(cert: x509.Certificate) -> str:
    """A serial as every output shows it: lowercase hex without leading zeros or colons."""
    return format(cert.serial_number, "x")


def cert_info(cert: x509.Certificate) -> CertInfo:
    return CertInfo(
        names=dns_names(cert),
        issuer=common_name(cert.issuer),
        serial_hex=serial_hex(cert),
        key_type=key_type_of(cert.public_key()),
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        fingerprint_sha256=fingerprint(cert),
    )


def info_from_pem(pem: bytes) -> CertInfo:
    """The first certificate in a PEM blob (a leaf file or a HAProxy bundle)."""
    return cert_info(x509.load_pem_x509_certificate(pem))
