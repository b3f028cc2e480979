"""The stack's local CA (like mkcert): one ECDSA P-256 CA per stack, short-lived leaves signed by it."""

from __future__ import annotations

import datetime as dt
import secrets

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from stackctl.certs.keys import PrivateKey, generate_key, key_pem, load_ecdsa_key
from stackctl.certs.store import CertStore
from stackctl.core.errors import OperationFailed, StackctlError
from stackctl.core.fsio import MiB, read_user_file

CA_LIFETIME = dt.timedelta(days=3650)
LEAF_LIFETIME = dt.timedelta(days=90)
# Issued slightly in the past so a client whose clock lags a little still accepts a fresh leaf.
BACKDATE = dt.timedelta(minutes=5)


def _self_signed(name: x509.Name, key: PrivateKey, now: dt.datetime, lifetime: dt.timedelta) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(now + lifetime)
    )


def build_ca(stack_name: str, now: dt.datetime) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "stackctl local CA"),
            x509.NameAttribute(NameOID.COMMON_NAME, f"stackctl {stack_name} CA {secrets.token_hex(4)}"),
        ]
    )
    cert = (
        _self_signed(name, key, now, CA_LIFETIME)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert, key


def issue_leaf(
    ca_cert: x509.Certificate, ca_key: ec.EllipticCurvePrivateKey, names: tuple[str, ...], key_type: str,
    now: dt.datetime,
) -> tuple[x509.Certificate, PrivateKey]:  # fmt: skip
    key = generate_key(key_type)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(now + LEAF_LIFETIME)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_encipherment=isinstance(key, rsa.RSAPrivateKey),
                content_commitment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return cert, key


def load_or_create_ca(
    store: CertStore, stack_name: str, now: dt.datetime
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey, bool]:
    """The stack CA, created on first use. Returns (cert, key, created)."""
    if store.ca_cert.exists() and store.ca_key.exists():
        hint = "restore it from a backup, or delete certs/ca to start a new CA (devices must trust it again)"
        try:
            cert = x509.load_pem_x509_certificate(read_user_file(store.ca_cert, MiB, ""))
        except (StackctlError, ValueError) as e:
            why = e.message if isinstance(e, StackctlError) else "not a readable PEM certificate"
            raise OperationFailed(f"failed to load the local CA certificate {store.ca_cert}: {why}", hint) from e
        key = load_ecdsa_key(store.ca_key, "the local CA key", hint)
        return cert, key, False
    cert, key = build_ca(stack_name, now)
    store.write_ca(cert.public_bytes(serialization.Encoding.PEM), key_pem(key))
    return cert, key, True


DEFAULT_CERT_NAME = "unknown-host.invalid"  # RFC 2606: a name that no site can have
DEFAULT_CERT_LIFETIME = dt.timedelta(days=3650)


def default_certificate(now: dt.datetime) -> tuple[x509.Certificate, PrivateKey]:
    """The stack's own self-signed certificate for clients that name no site: it names none either."""
    key = generate_key("ecdsa-p256")
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, DEFAULT_CERT_NAME)])
    cert = (
        _self_signed(name, key, now, DEFAULT_CERT_LIFETIME)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(DEFAULT_CERT_NAME)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return cert, key


def ensure_default_certificate(store: CertStore, now: dt.datetime) -> bool:
    """Write the default certificate when there is none, or it has less than 30 days left; True if written."""
    current = store.read_default()
    if current is not None and current.not_valid_after_utc - now > dt.timedelta(days=30):
        return False
    leaf, key = default_certificate(now)
    store.write_default(leaf, key_pem(key))
    return True


def temporary_self_signed(
    names: tuple[str, ...], key_type: str, now: dt.datetime
) -> tuple[x509.Certificate, PrivateKey]:
    """A short-lived self-signed stand-in so HAProxy can start and answer ACME challenges on :80."""
    key = generate_key(key_type)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{names[0]} (temporary, waiting for ACME)")])
    cert = (
        _self_signed(name, key, now, dt.timedelta(days=7))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return cert, key
