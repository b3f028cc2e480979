"""Where a stack's files live, relative to the stack folder."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class StackPaths:
    root: Path

    @property
    def spec(self) -> Path:
        return self.root / "stack.yaml"

    @property
    def compose_dir(self) -> Path:
        return self.root / "compose"

    @property
    def compose_file(self) -> Path:
        return self.compose_dir / "compose.yaml"

    @property
    def haproxy_folder(self) -> Path:
        """Generated; mounted into the HAProxy container as a folder."""
        return self.compose_dir / "haproxy"

    @property
    def haproxy_cfg(self) -> Path:
        return self.haproxy_folder / "haproxy.cfg"

    @property
    def backups(self) -> Path:
        """0700: database dumps taken before upgrades."""
        return self.root / "backups"

    @property
    def upgrades_log(self) -> Path:
        return self.root / "upgrades.jsonl"

    @property
    def certs(self) -> Path:
        return self.root / "certs"

    @property
    def secrets(self) -> Path:
        return self.root / "secrets"

    @property
    def run(self) -> Path:
        """0700 folder on the host; the HAProxy runtime socket lives in run/haproxy/."""
        return self.root / "run"
