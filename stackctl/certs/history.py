"""The renewal history: one JSON line per certificate swap, in certs/renewals.jsonl."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from stackctl.config.layout import StackPaths
from stackctl.core.journal import append_entry, read_entries


def history_path(paths: StackPaths) -> Path:
    return paths.certs / "renewals.jsonl"


def record(paths: StackPaths, entry: dict[str, Any]) -> None:
    append_entry(history_path(paths), entry)


def entries(paths: StackPaths) -> list[dict[str, Any]]:
    return read_entries(history_path(paths))


def last_renewal(paths: StackPaths, domain: str) -> dict[str, Any] | None:
    mine = [e for e in entries(paths) if e.get("domain") == domain]
    return mine[-1] if mine else None
