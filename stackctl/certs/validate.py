"""Pure checks of an imported certificate before anything is written."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from stackctl.certs.inspect import dns_names, is_ca, public_key_bytes, server_auth_allowed
from stackctl.certs.keys import PrivateKey
from stackctl.certs.material import Material
from stackctl.core.errors import InvalidInput
from stackctl.core.names import uncovered

ACCEPTED_CURVES = ("secp256r1", "secp384r1")


@dataclass
class ValidImport:
    leaf: x509.Certificate
    chain: list[x509.Certificate]
    key: PrivateKey
    warnings: list[str] = field(default_factory=list)


def _issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(issuer)
        return True
    except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
        return False


def order_chain(
    leaf: x509.Certificate, others: list[x509.Certificate], trusted_roots: frozenset[bytes]
) -> tuple[list[x509.Certificate], list[str]]:
    """Intermediates in order from the leaf upwards, with warnings for a root, a gap or strays.

    `trusted_roots` holds the DER subjects of the roots this machine trusts; a chain whose last
    certificate was issued by none of them (nor by a given certificate) may be incomplete.
    """
    warnings: list[str] = []
    chain: list[x509.Certificate] = []
    pool = [c for c in others if c != leaf]
    current = leaf
    while (parent := next((c for c in pool if _issued_by(current, c)), None)) is not None:
        pool.remove(parent)
        if parent.subject == parent.issuer:
            warnings.append("the chain contains the root certificate; it is left out (clients have their own)")
            break
        chain.append(parent)
        current = parent
    else:
        if current.issuer.public_bytes() not in trusted_roots:
            warnings.append(
                f"the chain may be incomplete: no certificate for its issuer {current.issuer.rfc4514_string()!r} "
                "and it is not a root this machine trusts (add intermediates with --chain)"
            )
    if pool:
        warnings.append(f"{len(pool)} unrelated certificate(s) in the input were left out")
    return chain, warnings


def _check_extensions(cert: x509.Certificate) -> None:
    try:
        cert.extensions  # noqa: B018 -- parsed lazily: reading them is the check
    except ValueError as e:
        raise InvalidInput(
            f"the certificate has a malformed extension ({str(e)[:100]})", "get a correctly issued one from its CA"
        ) from None


def _check_key(key: PrivateKey) -> None:
    if isinstance(key, rsa.RSAPrivateKey) and key.key_size < 2048:
        raise InvalidInput(f"the key is RSA-{key.key_size}, too weak", "use RSA 2048 or more, or ECDSA P-256")
    if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name not in ACCEPTED_CURVES:
        raise InvalidInput(f"the key uses curve {key.curve.name}", "use ECDSA P-256 or P-384, or RSA")


def validate_import(
    material: Material, names: tuple[str, ...], now: dt.datetime, trusted_roots: frozenset[bytes] = frozenset()
) -> ValidImport:
    if not material.certs:
        raise InvalidInput(
            "no certificate found in the given files", "give the certificate file (PEM, DER or PKCS#12) as CERT"
        )
    if not material.keys:
        raise InvalidInput("no private key found", "pass it with --key FILE (or in the same file)")
    if len(material.keys) > 1:
        raise InvalidInput(f"{len(material.keys)} private keys found", "give exactly one private key")
    key = material.keys[0]
    wanted = public_key_bytes(key.public_key())
    leaf = next((c for c in material.certs if public_key_bytes(c.public_key()) == wanted), None)
    if leaf is None:
        raise InvalidInput(
            "the private key does not match the certificate", "give the key the certificate was issued for"
        )
    _check_extensions(leaf)
    if is_ca(leaf):
        raise InvalidInput(
            "the certificate is marked as a CA (basicConstraints CA:TRUE, which `openssl req -x509` sets by "
            "default); browsers such as Firefox refuse a CA certificate as a server certificate",
            "make it with `-addext basicConstraints=critical,CA:FALSE`, or let stackctl make a trusted one: "
            "set tls.source: local-ca and run stackctl certs create",
        )
    if now < leaf.not_valid_before_utc:
        raise InvalidInput(
            f"the certificate is not valid yet (valid from {leaf.not_valid_before_utc:%Y-%m-%d %H:%M} UTC)",
            "check this machine's clock, or import it once it is valid",
        )
    if now > leaf.not_valid_after_utc:
        raise InvalidInput(
            f"the certificate expired on {leaf.not_valid_after_utc:%Y-%m-%d}",
            "renew it with its CA and import the new one",
        )
    covered_by = list(dns_names(leaf))
    missing = uncovered(names, covered_by)
    if missing:
        raise InvalidInput(
            f"the certificate does not cover {', '.join(missing)} "
            f"(it covers {', '.join(covered_by) or 'no DNS names'})",
            "get one that covers every name in stack.yaml (domain and aliases)",
        )
    _check_key(key)
    if not server_auth_allowed(leaf):
        raise InvalidInput(
            "the certificate is not allowed for servers (its EKU lacks serverAuth)",
            "get a TLS server certificate (extended key usage serverAuth) from its CA",
        )
    chain, warnings = order_chain(leaf, material.certs, trusted_roots)
    return ValidImport(leaf=leaf, chain=chain, key=key, warnings=warnings)
