"""An HTTPS upstream's certificate as HAProxy will judge it: one handshake with its host name as SNI,
checked against that name and the same CA file."""

from __future__ import annotations

import socket
import ssl
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class UpstreamHandshake:
    verified: bool
    detail: str  # the verification's reason when not verified; what could not be reached, and why


def upstream_handshake(address: str, port: int, host: str, cafile: Path, timeout: float = 5.0) -> UpstreamHandshake:
    """A TLS handshake with host:port at `address`. Raises OSError when nothing answers there."""
    ctx = ssl.create_default_context(cafile=str(cafile))
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    with socket.create_connection((address, port), timeout=timeout) as raw:
        try:
            with ctx.wrap_socket(raw, server_hostname=host):
                return UpstreamHandshake(True, "verified")
        except ssl.SSLCertVerificationError as e:
            return UpstreamHandshake(False, str(e.verify_message))
        except ssl.SSLError as e:
            return UpstreamHandshake(False, f"no TLS handshake ({e.reason or e})")
