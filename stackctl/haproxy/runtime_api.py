"""HAProxy's runtime API over the stack's unix socket (run/haproxy/admin.sock)."""

from __future__ import annotations

import csv
import io
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from stackctl.core.errors import OperationFailed

SOCKET_NAME = "admin.sock"


def socket_path(run_dir: Path) -> Path:
    return run_dir / "haproxy" / SOCKET_NAME


def command(sock_path: Path, line: str, payload: str | None = None, timeout: float = 5.0) -> str:
    """Send one command (with an optional multi-line payload, `<<` syntax) and return the reply."""
    text = f"{line} <<\n{payload.rstrip(chr(10))}\n\n" if payload is not None else f"{line}\n"
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.settimeout(timeout)
            conn.connect(str(sock_path))
            conn.sendall(text.encode())
            chunks = []
            while chunk := conn.recv(65536):
                chunks.append(chunk)
    except OSError as e:
        raise OperationFailed(
            f"failed to reach the HAProxy runtime API at {sock_path}: {e.strerror or e}",
            "check that the stack runs (stackctl status)",
        ) from e
    return b"".join(chunks).decode(errors="replace")


@dataclass(frozen=True)
class ProxyStat:
    """One row of `show stat`: a frontend, a backend or a server."""

    proxy: str
    name: str  # FRONTEND, BACKEND or a server name
    kind: str  # frontend, backend, server
    status: str  # UP, DOWN, MAINT, OPEN, ...
    check: str
    current_sessions: int
    total_sessions: int
    request_rate: int
    responses_4xx: int
    responses_5xx: int


def _int(value: str | None) -> int:
    try:
        return int(value or 0)
    except ValueError:
        return 0


def parse_show_stat(csv_text: str) -> list[ProxyStat]:
    """Rows of `show stat` (the same CSV as the stats page's `;csv`)."""
    body = csv_text.lstrip("# ").strip()
    rows = []
    for row in csv.DictReader(io.StringIO(body)):
        if not row.get("pxname"):
            continue
        rows.append(
            ProxyStat(
                proxy=row["pxname"],
                name=row["svname"],
                kind={"FRONTEND": "frontend", "BACKEND": "backend"}.get(row["svname"], "server"),
                status=(row.get("status") or "").split(" ")[0],
                check=(row.get("check_status") or "").strip(),
                current_sessions=_int(row.get("scur")),
                total_sessions=_int(row.get("stot")),
                request_rate=_int(row.get("req_rate") or row.get("rate")),
                responses_4xx=_int(row.get("hrsp_4xx")),
                responses_5xx=_int(row.get("hrsp_5xx")),
            )
        )
    return rows


def show_stat(sock_path: Path, timeout: float = 3.0) -> list[ProxyStat]:
    return parse_show_stat(command(sock_path, "show stat", timeout=timeout))


class RuntimeApi(Protocol):
    """HAProxy's runtime API at one socket, as the flows use it (`socket_api.SocketRuntimeApi`)."""

    def answers(self) -> bool:
        """Whether the socket answers a command."""

    def swap_certificate(self, name: str, bundle_pem: str) -> None:
        """Raises ApiUnavailable when the API cannot take it, OperationFailed when HAProxy refuses it."""

    def stats(self, timeout: float = 3.0) -> list[ProxyStat]:
        """`show stat`: every frontend, backend and server."""

    def environment(self, name: str) -> str | None:
        """A variable of the serving worker's environment, or None when it does not answer or has none."""

    def set_server_state(self, backend: str, server: str, state: str) -> None:
        """`set server <backend>/<server> state ready|drain|maint`; raises OperationFailed when refused."""

    def set_server_address(self, backend: str, server: str, address: str, port: int) -> None:
        """`set server <backend>/<server> addr <address> port <port>`; raises OperationFailed when refused."""

    def server_address(self, backend: str, server: str) -> str | None:
        """The address a server sends to now, or None when HAProxy has none (or no such server)."""

    def add_server(self, backend: str, server: str, address: str, port: int) -> None:
        """A server added to a running backend (in maintenance until set ready); raises OperationFailed."""

    def delete_server(self, backend: str, server: str) -> None:
        """Remove a server added with add_server (it must be in maintenance); raises OperationFailed."""
