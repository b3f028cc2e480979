"""The runtime API client over a real unix socket: what `RuntimeApi` promises, through `command`."""

from __future__ import annotations

from pathlib import Path

from stackctl.core.errors import OperationFailed
from stackctl.haproxy.hotswap import runtime_api_answers, swap_via_runtime_api
from stackctl.haproxy.runtime_api import ProxyStat, command, show_stat


class SocketRuntimeApi:
    """HAProxy's runtime API at one socket: is it there, what it serves, a certificate swap."""

    def __init__(self, sock: Path) -> None:
        self.sock = sock

    def answers(self) -> bool:
        return runtime_api_answers(self.sock)

    def swap_certificate(self, name: str, bundle_pem: str) -> None:
        """Raises ApiUnavailable when the API cannot take it, OperationFailed when HAProxy refuses it."""
        swap_via_runtime_api(self.sock, name, bundle_pem)

    def stats(self, timeout: float = 3.0) -> list[ProxyStat]:
        return show_stat(self.sock, timeout)

    def environment(self, name: str) -> str | None:
        """A variable of the serving worker's environment (`setenv` in haproxy.cfg sets them), or None
        when the worker does not answer or has no such variable."""
        try:
            reply = command(self.sock, f"show env {name}", timeout=2)
        except OperationFailed:
            return None
        key, sep, value = reply.strip().partition("=")
        return value if sep and key == name else None

    def set_server_state(self, backend: str, server: str, state: str) -> None:
        """`set server <backend>/<server> state ready|drain|maint`."""
        reply = command(self.sock, f"set server {backend}/{server} state {state}", timeout=3).strip()
        if reply:
            raise OperationFailed(
                f"HAProxy refused to set {backend}/{server} to {state}: {' '.join(reply.split())}",
                "look at the haproxy container's log",
            )
