"""Where HAProxy binds and finds its files, and whether it also speaks HTTP/3: what a haproxy.cfg is
rendered for (the container by default; tests run HAProxy natively, Swarm mounts secrets)."""

from __future__ import annotations

from dataclasses import dataclass

DOCTOR_SOCKET_NAME = "doctor.sock"


@dataclass(frozen=True)
class HaproxyLayout:
    """Where HAProxy binds and finds its files. The default is the container; tests run it natively."""

    public_bind: str = ""
    http_port: int = 8080
    https_port: int = 8443
    stats_bind: str = ""
    stats_port: int = 8404
    config_dir: str = "/usr/local/etc/haproxy"  # haproxy.cfg and the maintenance pages: one mounted folder
    certs_dir: str = "/usr/local/etc/haproxy-certs/"
    socket_path: str = "/var/run/haproxy/admin.sock"
    backend_address: str | None = None  # every site's server at this address (a native test run)
    stats_users_file: str | None = None  # the stats userlist is in this file of its own (a Swarm secret)
    stats_password_hash: str | None = None  # the stats password's bcrypt hash (one host, once init ran)

    @property
    def doctor_socket_path(self) -> str:
        """`stackctl doctor`'s listener, beside the runtime socket and as private."""
        return f"{self.socket_path.rsplit('/', 1)[0]}/{DOCTOR_SOCKET_NAME}"


CONTAINER_LAYOUT = HaproxyLayout()


@dataclass(frozen=True)
class EdgeFeatures:
    """What the config makes of the HAProxy image it is rendered for."""

    http3: bool = False  # also listen for HTTP/3 over QUIC on the HTTPS port (UDP)
    limited_quic: bool = False  # a build with QUIC_OPENSSL_COMPAT needs `limited-quic` to enable it
    hybrid_groups: bool = False  # OpenSSL 3.5 or later: offer the post-quantum hybrid X25519MLKEM768 first


BASELINE = EdgeFeatures()
