"""Which key exchange group a TLS handshake with the stack negotiates (X25519MLKEM768, X25519, ...).
Python's ssl module cannot tell; pyOpenSSL can, on the OpenSSL that cryptography ships, which offers
the hybrid post-quantum group as a browser does."""

from __future__ import annotations

import select
import socket
import time

from OpenSSL import SSL


def negotiated_group(address: str, port: int, domain: str, timeout: float) -> str | None:
    """The group of one handshake (no request is sent), or None when there is no handshake to ask."""
    ctx = SSL.Context(SSL.TLS_CLIENT_METHOD)
    ctx.set_min_proto_version(SSL.TLS1_2_VERSION)
    deadline = time.monotonic() + timeout
    try:
        with socket.create_connection((address, port), timeout=timeout) as raw:
            raw.setblocking(False)
            conn = SSL.Connection(ctx, raw)
            conn.set_tlsext_host_name(domain.encode("idna"))
            conn.set_connect_state()
            while True:
                try:
                    conn.do_handshake()
                    break
                except SSL.WantReadError:
                    ready = select.select([raw], [], [], max(0.0, deadline - time.monotonic()))[0]
                except SSL.WantWriteError:
                    ready = select.select([], [raw], [], max(0.0, deadline - time.monotonic()))[1]
                if not ready:
                    return None  # timed out
            return conn.get_group_name()
    except (OSError, SSL.Error):
        return None
