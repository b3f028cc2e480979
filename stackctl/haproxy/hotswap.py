"""Put a new certificate bundle in front of users on a running HAProxy through its runtime API
(`set ssl cert` + `commit ssl cert`). The reload fallback is the engine's (engines/docker/control.py)."""

from __future__ import annotations

from pathlib import Path

from stackctl.core.errors import OperationFailed
from stackctl.haproxy.runtime_api import command


class ApiUnavailable(Exception):
    """The runtime API cannot take this update (unreachable, or the certificate is not loaded yet)."""


def runtime_api_answers(sock: Path) -> bool:
    """Whether HAProxy answers on the stack's runtime socket (it runs, whatever Docker says)."""
    try:
        return "Name: HAProxy" in command(sock, "show info", timeout=2)
    except OperationFailed:
        return False


def swap_via_runtime_api(sock: Path, name: str, bundle_pem: str) -> None:
    """`set ssl cert` + `commit ssl cert`. HAProxy refuses a bundle it cannot use (key mismatch,
    garbage): that refusal raises OperationFailed with its words, and the transaction is aborted."""
    try:
        loaded = command(sock, "show ssl cert", timeout=3)
    except OperationFailed as e:
        raise ApiUnavailable(e.message) from e
    if name not in loaded.split():
        raise ApiUnavailable(f"HAProxy has no certificate named {name} loaded")
    reply = command(sock, f"set ssl cert {name}", payload=bundle_pem, timeout=5)
    if "Transaction created" not in reply and "Transaction updated" not in reply:
        command(sock, f"abort ssl cert {name}", timeout=3)
        raise OperationFailed(
            f"HAProxy refused the new certificate: {' '.join(reply.split())}",
            "check the certificate and key (stackctl certs show)",
        )
    reply = command(sock, f"commit ssl cert {name}", timeout=10)
    if "Success" not in reply:
        command(sock, f"abort ssl cert {name}", timeout=3)
        raise OperationFailed(
            f"HAProxy could not commit the new certificate: {' '.join(reply.split())}",
            "look at the haproxy container's log",
        )
