"""The renewal history: one JSON line per certificate swap, in certs/renewals.jsonl."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from stackctl.fsio import PRIVATE_DIR_MODE, ensure_dir
from stackctl.layout import StackPaths


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
    try:
        lines = history_path(paths).read_text().splitlines()
    except FileNotFoundError:
        return []
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
