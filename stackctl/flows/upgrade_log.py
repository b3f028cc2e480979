"""upgrades.jsonl: every pull, check, upgrade and rollback, one JSON line each."""

from __future__ import annotations

from typing import Any

from stackctl.config.layout import StackPaths
from stackctl.core.clock import timestamp
from stackctl.core.journal import append_entry, read_entries
from stackctl.engines.base import Engine


def record(paths: StackPaths, entry: dict[str, Any]) -> None:
    append_entry(paths.upgrades_log, entry, folder_mode=0o755)


def entries(paths: StackPaths) -> list[dict[str, Any]]:
    return read_entries(paths.upgrades_log)


def record_pulls(engine: Engine, paths: StackPaths, pulled: list[str]) -> None:
    for reference in pulled:
        details = engine.image_details(reference)
        if details is not None:
            record(paths, {"event": "pull", "time": timestamp(), "image": reference, "id": details.id})


def pulled_image_ids(paths: StackPaths) -> set[str]:
    """Images this stack pulled: the only ones an upgrade may remove."""
    return {str(e["id"]) for e in entries(paths) if e.get("event") == "pull" and e.get("id")}


def last_event(paths: StackPaths, *events: str) -> dict[str, Any] | None:
    found = [e for e in entries(paths) if e.get("event") in events]
    return found[-1] if found else None
