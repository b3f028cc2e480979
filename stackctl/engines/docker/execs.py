"""Commands run inside a service's container, with a host file as their stdin or stdout. Used for
database dumps and restores, which can be larger than memory: both directions stream in chunks."""

from __future__ import annotations

import os
import socket
import struct
from pathlib import Path

import docker

from stackctl.core.errors import OperationFailed
from stackctl.core.fsio import PRIVATE_FILE_MODE
from stackctl.engines.docker.client import docker_call

CHUNK = 1 << 20
_ERROR_TAIL = 2000


def _read_frames(raw: socket.socket, stdout: int | None) -> bytes:
    """Docker's multiplexed stream: 8-byte headers (stream, size). stdout to the fd, stderr kept."""
    stderr, buffer = b"", b""
    while True:
        chunk = raw.recv(CHUNK)
        if not chunk:
            return stderr
        buffer += chunk
        while len(buffer) >= 8:
            kind, size = struct.unpack(">BxxxL", buffer[:8])
            if len(buffer) < 8 + size:
                break
            payload, buffer = buffer[8 : 8 + size], buffer[8 + size :]
            if kind == 1 and stdout is not None:
                os.write(stdout, payload)
            elif kind == 2:
                stderr = (stderr + payload)[-_ERROR_TAIL:]


def exec_in(
    client: docker.DockerClient, container: str, argv: list[str], stdin: Path | None, stdout: Path | None
) -> None:
    action = f"run {argv[0]} in {container}"
    with docker_call(action, f"look at: docker logs {container}"):
        exec_id = client.api.exec_create(container, argv, stdin=stdin is not None, stdout=True, stderr=True)["Id"]
        conn = client.api.exec_start(exec_id, socket=True)
    raw = getattr(conn, "_sock", None)  # the SDK wraps the hijacked connection in a SocketIO
    if not isinstance(raw, socket.socket):
        raise OperationFailed(f"failed to {action}: the Docker connection is not a socket", "use a local engine")
    out_fd = None if stdout is None else os.open(stdout, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE_MODE)
    try:
        if stdin is not None:
            with open(stdin, "rb") as source:
                while chunk := source.read(CHUNK):
                    raw.sendall(chunk)
            raw.shutdown(socket.SHUT_WR)
        errors = _read_frames(raw, out_fd)
        if out_fd is not None:
            os.fsync(out_fd)
    except OSError as e:
        raise OperationFailed(f"failed to {action}: {e.strerror or e}", f"look at: docker logs {container}") from e
    finally:
        raw.close()
        if out_fd is not None:
            os.close(out_fd)
    with docker_call(action):
        code = client.api.exec_inspect(exec_id).get("ExitCode")
    if code != 0:
        last = errors.decode(errors="replace").strip().splitlines()
        raise OperationFailed(
            f"{argv[0]} in {container} failed (exit code {code}): {last[-1] if last else 'no message'}",
            f"look at: docker logs {container}",
        )
