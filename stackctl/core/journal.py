"""Append-only JSON-lines files (renewals.jsonl, upgrades.jsonl): one write per entry, read with limits."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from stackctl.core.fsio import PRIVATE_DIR_MODE, MiB, ensure_dir, read_user_file

JOURNAL_MAX_BYTES = 16 * MiB


def append_entry(path: Path, entry: dict[str, Any], folder_mode: int = PRIVATE_DIR_MODE) -> None:
    """A single write of one line, so readers never see half an entry."""
    ensure_dir(path.parent, folder_mode)
    line = (json.dumps(entry, sort_keys=True) + "\n").encode()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line)
        os.fsync(fd)
    finally:
        os.close(fd)


def read_entries(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    raw = read_user_file(path, JOURNAL_MAX_BYTES, "", f"move {path.name} away")
    result = []
    for line in raw.decode(errors="replace").splitlines():
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue  # a damaged line must not hide the others
        if isinstance(entry, dict):
            result.append(entry)
    return result
