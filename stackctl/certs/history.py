"""The renewal history: one JSON line per certificate swap, in certs/renewals.jsonl."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from stackctl.config.layout import StackPaths
from stackctl.core.fsio import PRIVATE_DIR_MODE, MiB, ensure_dir, read_user_file

HISTORY_MAX_BYTES = 16 * MiB


def history_path(paths: StackPaths) -> Path:
    return paths.certs / "renewals.jsonl"


def record(paths: StackPaths, entry: dict[str, Any]) -> None:
    """Append one entry. A single write of one line, so readers never see half an entry."""
    path = history_path(paths)
    ensure_dir(path.parent, PRIVATE_DIR_MODE)
    line = (json.dumps(entry, sort_keys=True) + "\n").encode()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line)
        os.fsync(fd)
    finally:
        os.close(fd)


def entries(paths: StackPaths) -> list[dict[str, Any]]:
    path = history_path(paths)
    if not path.exists():
        return []
    lines = (
        read_user_file(path, HISTORY_MAX_BYTES, "", "move certs/renewals.jsonl away")
        .decode(errors="replace")
        .splitlines()
    )
    result = []
    for line in lines:
        try:
            result.append(json.loads(line))
        except json.JSONDecodeError:
            continue  # a damaged line must not hide the others
    return result


def last_renewal(paths: StackPaths, domain: str) -> dict[str, Any] | None:
    mine = [e for e in entries(paths) if e.get("domain") == domain]
    return mine[-1] if mine else None
