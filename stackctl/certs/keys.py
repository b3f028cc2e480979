"""Private keys: generate by stack.yaml key type, serialize to PEM, load one of ours back."""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from stackctl.core.errors import OperationFailed, StackctlError
from stackctl.core.fsio import MiB, read_user_file

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey


def generate_key(key_type: str) -> PrivateKey:
    if key_type == "ecdsa-p256":
        return ec.generate_private_key(ec.SECP256R1())
    if key_type == "ecdsa-p384":
        return ec.generate_private_key(ec.SECP384R1())
    if key_type in ("rsa-2048", "rsa-4096"):
        return rsa.generate_private_key(public_exponent=65537, key_size=int(key_type.split("-")[1]))
    raise ValueError(f"unknown key type {key_type}")


def key_pem(key: PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def load_ecdsa_key(path: Path, what: str, hint: str) -> ec.EllipticCurvePrivateKey:
    """One of the stack's own ECDSA keys (the local CA's, the ACME account's), read with limits.
    The error names `what` and never shows the key."""
    try:
        key = serialization.load_pem_private_key(read_user_file(path, MiB, ""), password=None)
    except (StackctlError, ValueError, TypeError) as e:
        why = e.message if isinstance(e, StackctlError) else f"not a readable PEM key ({type(e).__name__})"
        raise OperationFailed(f"failed to load {what} {path}: {why}", hint) from e
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise OperationFailed(f"failed to load {what} {path}: not an ECDSA key", hint)
    return key
