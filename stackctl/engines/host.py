"""The host side of a stack's mounts: bind-mount sources created, and the certificate bundles and the
runtime socket's folder handed to HAProxy's user (keys stay 0600)."""

from __future__ import annotations

import os
from pathlib import Path

from stackctl.core.errors import OperationFailed
from stackctl.core.fsio import PRIVATE_DIR_MODE, ensure_dir
from stackctl.engines.model import Service, haproxy_ids
from stackctl.render.services import HAPROXY_CERTS_DIR, HAPROXY_SOCKET_DIR


def prepare_host_folders(services: list[Service], run_dir: Path) -> None:
    """`run_dir` is the stack folder's run/; HAProxy's user is derived from the stack folder."""
    """Create bind-mount sources; hand the certificate bundles and the socket folder to HAProxy's user."""
    ensure_dir(run_dir, PRIVATE_DIR_MODE)
    for service in services:
        for bind in service.binds:
            if bind.host.exists():
                continue
            ensure_dir(bind.host, PRIVATE_DIR_MODE if bind.host.parent == run_dir else 0o755)
    uid, gid = haproxy_ids(run_dir.parent)
    haproxy = next((s for s in services if s.name == "haproxy"), None)
    if haproxy is None:
        return
    for bind in haproxy.binds:
        if bind.target in (HAPROXY_CERTS_DIR, HAPROXY_SOCKET_DIR):
            ensure_dir(bind.host, PRIVATE_DIR_MODE)
            _hand_over(bind.host, uid, gid)


def _hand_over(folder: Path, uid: int, gid: int) -> None:
    """chown a 0700 folder and its files to HAProxy's user, so it can read 0600 keys and make its socket."""
    if os.geteuid() != 0:
        return  # only root can chown; a non-root caller owns the folder, and HAProxy runs as its owner
    try:
        os.chown(folder, uid, gid)
        for child in folder.iterdir():
            if child.is_file():
                os.chown(child, uid, gid)
    except OSError as e:
        raise OperationFailed(
            f"failed to give {folder} to the HAProxy user {uid}: {e.strerror}",
            "run stackctl as the stack folder's owner or as root",
        ) from e
