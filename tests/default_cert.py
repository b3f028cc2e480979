"""What a client that names no site gets: the certificate `openssl s_client` is shown with no SNI or an
unknown name, and the answer to a request over that connection."""

from __future__ import annotations

import contextlib
import re
import socket
import ssl
import subprocess

from cryptography import x509

PEM = re.compile(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.S)


def served_certificate(port: int, servername: str | None) -> x509.Certificate:
    """The leaf `openssl s_client` receives from 127.0.0.1:port, sending `servername` (or no SNI)."""
    argv = ["openssl", "s_client", "-connect", f"127.0.0.1:{port}"]
    argv += ["-servername", servername] if servername else ["-noservername"]
    done = subprocess.run(argv, input=b"", capture_output=True, timeout=20, check=False)
    found = PEM.search(done.stdout.decode(errors="replace"))
    assert found, f"no certificate from openssl s_client: {done.stderr.decode(errors='replace')[-400:]}"
    return x509.load_pem_x509_certificate(found.group(0).encode())


def names_of(cert: x509.Certificate) -> set[str]:
    found = {a.value for a in cert.subject if isinstance(a.value, str)}
    with contextlib.suppress(x509.ExtensionNotFound):
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        found |= set(names.get_values_for_type(x509.DNSName))
    return {str(n) for n in found}


def answer_without_a_known_name(port: int, servername: str | None, host: str) -> tuple[int, bytes]:
    """Status line code and body of GET / over TLS with `servername` (None: no SNI) and Host `host`."""
    ctx = ssl.create_default_context()
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE  # the default certificate is not trusted
    with (
        socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
        ctx.wrap_socket(raw, server_hostname=servername) as tls,
    ):
        tls.sendall(f"GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := tls.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), body
