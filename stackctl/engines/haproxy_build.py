"""What `haproxy -vv` says about a HAProxy build, as far as the config depends on it: QUIC (and
OpenSSL's compatibility layer for it) and the OpenSSL version it runs on. Pure."""

from __future__ import annotations

import re
from dataclasses import dataclass

# "OpenSSL version" up to HAProxy 3.1, "SSL library version" from 3.2 on (which may be AWS-LC or wolfSSL).
_RUNNING_ON = re.compile(r"Running on (?:OpenSSL|SSL library) version : OpenSSL (\d+)\.(\d+)\.(\d+)")
HYBRID_GROUPS_FROM = (3, 5, 0)  # OpenSSL offers X25519MLKEM768 from 3.5 on


@dataclass(frozen=True)
class HaproxyBuild:
    quic: bool = False
    quic_openssl_compat: bool = False
    openssl: tuple[int, int, int] | None = None  # the version it runs on; None when it does not say

    @property
    def hybrid_groups(self) -> bool:
        """Whether its OpenSSL has the hybrid post-quantum group X25519MLKEM768."""
        return self.openssl is not None and self.openssl >= HYBRID_GROUPS_FROM

    @property
    def openssl_text(self) -> str | None:
        return ".".join(map(str, self.openssl)) if self.openssl else None


def parse_haproxy_vv(text: str) -> HaproxyBuild:
    features = next((line for line in text.splitlines() if "Feature list" in line), "").split()
    running = _RUNNING_ON.search(text)
    version = (int(running.group(1)), int(running.group(2)), int(running.group(3))) if running else None
    return HaproxyBuild("+QUIC" in features, "+QUIC_OPENSSL_COMPAT" in features, version)


def parse_openssl_text(text: object) -> tuple[int, int, int] | None:
    """A version as the features file keeps it ("3.6.0"), or None for anything else."""
    match = re.fullmatch(r"(\d{1,3})\.(\d{1,3})\.(\d{1,3})", text) if isinstance(text, str) else None
    return (int(match.group(1)), int(match.group(2)), int(match.group(3))) if match else None
