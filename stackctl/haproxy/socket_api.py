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
        self._expect(f"set server {backend}/{server} state {state}", f"set {backend}/{server} to {state}", ("",))

    def set_server_address(self, backend: str, server: str, address: str, port: int) -> None:
        self._expect(
            f"set server {backend}/{server} addr {address} port {port}",
            f"point {backend}/{server} at {address}:{port}",
            ("IP changed from", "no need to change the addr"),
        )

    def server_address(self, backend: str, server: str) -> str | None:
        """The address a server sends to now (`show servers state`), or None when HAProxy has none."""
        for line in command(self.sock, f"show servers state {backend}", timeout=3).splitlines():
            fields = line.split()
            if len(fields) > 4 and not line.startswith("#") and fields[1] == backend and fields[3] == server:
                return None if fields[4] in ("-", "0.0.0.0") else fields[4]
        return None

    def add_server(self, backend: str, server: str, address: str, port: int) -> None:
        self._expect(f"add server {backend}/{server} {address}:{port}", f"add {backend}/{server}", ("New server",))

    def delete_server(self, backend: str, server: str) -> None:
        self._expect(f"del server {backend}/{server}", f"delete {backend}/{server}", ("Server deleted",))

    def _expect(self, line: str, what: str, accepted: tuple[str, ...]) -> None:
        """Run a command whose reply starts with one of `accepted` ("" for an empty reply)."""
        reply = command(self.sock, line, timeout=3).strip()
        if not any(reply.startswith(a) if a else not reply for a in accepted):
            raise OperationFailed(
                f"HAProxy refused to {what}: {' '.join(reply.split())[:200]}", "look at the haproxy container's log"
            )
