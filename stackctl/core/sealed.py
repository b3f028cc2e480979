"""An encrypted, authenticated byte stream, written and read in chunks so memory stays flat.

Layout: MAGIC, a header (salt and scrypt parameters, JSON), then chunks of `4-byte length +
AES-256-GCM ciphertext`. Each chunk's nonce is a random 4-byte prefix and the chunk number; its
associated data is the header, the chunk number and whether it is the last chunk. So a flipped byte,
a reordered, dropped or truncated chunk, or a wrong passphrase all fail authentication."""

from __future__ import annotations

import json
import os
import struct
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from stackctl.core.errors import InvalidInput

MAGIC = b"STACKCTL-SEALED\x01"
CHUNK = 1 << 20
SCRYPT_N, SCRYPT_R, SCRYPT_P = 1 << 16, 8, 1  # 64 MiB, a fraction of a second
_TAG = 16
_HINT = "check the passphrase and that the file is complete and unchanged (compare its size and SHA-256)"


class SealError(InvalidInput):
    """Wrong passphrase, or the sealed file is damaged: the user's input, exit 2."""

    def __init__(self, message: str) -> None:
        super().__init__(message, _HINT)


def _key(passphrase: bytes, salt: bytes, n: int, r: int, p: int) -> bytes:
    return Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(passphrase)


def _aad(header: bytes, index: int, last: bool) -> bytes:
    return header + struct.pack(">Q?", index, last)


class SealedWriter:
    """A write-only file object: bytes written to it are sealed into `out` chunk by chunk."""

    def __init__(self, out: BinaryIO, passphrase: bytes) -> None:
        salt = os.urandom(16)
        self.header = json.dumps({"kdf": "scrypt", "salt": salt.hex(), "n": SCRYPT_N, "r": SCRYPT_R,
                                  "p": SCRYPT_P, "cipher": "aes-256-gcm", "chunk": CHUNK}).encode()  # fmt: skip
        self.aead = AESGCM(_key(passphrase, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P))
        self.prefix = os.urandom(4)
        self.out, self.index, self.buffer = out, 0, bytearray()
        out.write(MAGIC + struct.pack(">I", len(self.header)) + self.header)

    def _seal(self, data: bytes, last: bool) -> None:
        nonce = self.prefix + struct.pack(">Q", self.index)
        sealed = self.aead.encrypt(nonce, data, _aad(self.header, self.index, last))
        self.out.write(struct.pack(">I", len(nonce) + len(sealed)) + nonce + sealed)
        self.index += 1

    def write(self, data: bytes) -> int:
        self.buffer += data
        while len(self.buffer) > CHUNK:
            self._seal(bytes(self.buffer[:CHUNK]), last=False)
            del self.buffer[:CHUNK]
        return len(data)

    def close(self) -> None:
        """Seals what is left as the last chunk (possibly empty): without it a reader sees truncation."""
        self._seal(bytes(self.buffer), last=True)
        self.buffer.clear()

    def flush(self) -> None:
        pass


class SealedReader:
    """A read-only file object over a sealed stream; raises SealError at the first bad byte."""

    def __init__(self, source: BinaryIO, passphrase: bytes) -> None:
        self.source = source
        if source.read(len(MAGIC)) != MAGIC:
            raise SealError("not a stackctl backup, or not an encrypted one (no stackctl header)")
        (size,) = struct.unpack(">I", self._exactly(4))
        if size > 4096:
            raise SealError("the backup's header is damaged")
        self.header = self._exactly(size)
        try:
            params = json.loads(self.header)
            salt = bytes.fromhex(params["salt"])
            n, r, p = int(params["n"]), int(params["r"]), int(params["p"])
        except (ValueError, KeyError, TypeError):
            raise SealError("the backup's header is damaged") from None
        if not (2 <= n <= 1 << 20 and 1 <= r <= 32 and 1 <= p <= 16):
            raise SealError("the backup's header asks for unreasonable key derivation parameters")
        self.aead = AESGCM(_key(passphrase, salt, n, r, p))
        self.index, self.buffer, self.done = 0, b"", False

    def _exactly(self, count: int) -> bytes:
        data = self.source.read(count)
        if len(data) != count:
            raise SealError("the backup is truncated")
        return data

    def _next_chunk(self) -> None:
        (size,) = struct.unpack(">I", self._exactly(4))
        if size > CHUNK + _TAG + 12:
            raise SealError("the backup is damaged (a chunk has an impossible size)")
        nonce = self._exactly(12)
        if size < 12 + _TAG:
            raise SealError("the backup is damaged (a chunk has an impossible size)")
        sealed = self._exactly(size - 12)
        for last in (False, True):
            try:
                plain = self.aead.decrypt(nonce, sealed, _aad(self.header, self.index, last))
            except InvalidTag:
                continue
            self.index += 1
            self.buffer += plain
            if last:
                if self.source.read(1):
                    raise SealError("the backup has bytes after its end")
                self.done = True
            return
        if self.index == 0:
            raise SealError("wrong passphrase, or the backup is damaged")
        raise SealError(f"the backup is damaged (chunk {self.index} fails authentication)")

    def read(self, size: int = -1) -> bytes:
        while not self.done and (size < 0 or len(self.buffer) < size):
            self._next_chunk()
        if size < 0:
            data, self.buffer = self.buffer, b""
        else:
            data, self.buffer = self.buffer[:size], self.buffer[size:]
        return data
