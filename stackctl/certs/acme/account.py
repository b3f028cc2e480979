"""The stack's ACME account: one key (0600) created once, a registration per directory, reused."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from josepy.b64 import b64encode
from josepy.jwk import JWK, JWKEC

from stackctl.certs.keys import load_ecdsa_key
from stackctl.core.errors import StackctlError
from stackctl.core.fsio import PRIVATE_DIR_MODE, PRIVATE_FILE_MODE, MiB, atomic_write, ensure_dir, read_user_file


@dataclass(frozen=True)
class AccountFiles:
    certs_root: Path

    @property
    def folder(self) -> Path:
        return self.certs_root / "acme"

    @property
    def key(self) -> Path:
        return self.folder / "account.key"

    def registration(self, directory_url: str) -> Path:
        digest = hashlib.sha256(directory_url.encode()).hexdigest()[:16]
        return self.folder / f"account-{digest}.json"


def load_or_create_key(files: AccountFiles) -> JWKEC:
    """The account key, created on first use. Creating it needs no network."""
    if files.key.exists():
        key = load_ecdsa_key(
            files.key, "the ACME account key", "restore it from a backup, or delete it to register a new account"
        )
        return JWKEC(key=key)
    ensure_dir(files.certs_root, PRIVATE_DIR_MODE)
    ensure_dir(files.folder, PRIVATE_DIR_MODE)
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    atomic_write(files.key, pem, PRIVATE_FILE_MODE)
    return JWKEC(key=key)


def thumbprint(jwk: JWK) -> str:
    """RFC 7638 thumbprint, base64url: the second half of every HTTP-01 key authorization."""
    return b64encode(jwk.thumbprint()).decode()


def existing_thumbprint(certs_root: Path) -> str | None:
    files = AccountFiles(certs_root)
    return thumbprint(load_or_create_key(files)) if files.key.exists() else None


def saved_account_uri(files: AccountFiles, directory_url: str) -> str | None:
    try:
        data = json.loads(read_user_file(files.registration(directory_url), MiB, ""))
    except (StackctlError, ValueError):
        return None
    uri = data.get("uri")
    return str(uri) if uri else None


def save_account_uri(files: AccountFiles, directory_url: str, uri: str, email: str | None) -> None:
    payload = {"directory": directory_url, "uri": uri, "email": email}
    atomic_write(files.registration(directory_url), json.dumps(payload, indent=2) + "\n", PRIVATE_FILE_MODE)
