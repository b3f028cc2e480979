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
    def haproxy_cfg(self) -> Path:
        return self.compose_dir / "haproxy" / "haproxy.cfg"

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

    def generated(self) -> dict[str, Path]:
        """Rendered files by their name relative to the stack folder."""
        return {
            "compose/compose.yaml": self.compose_file,
            "compose/haproxy/haproxy.cfg": self.haproxy_cfg,
        }
