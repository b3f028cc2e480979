"""The machine's schedulers as `schedule` uses them: its /etc, whether systemd runs it, and systemctl.
The CLI uses this machine's; a test passes its own folder and a fake systemctl (through Edges)."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from stackctl.core.errors import OperationFailed

SYSTEMCTL_TIMEOUT_S = 60


def systemd_is_running() -> bool:
    """Whether systemd is PID 1 (as sd_booted(3) tells)."""
    return Path("/run/systemd/system").is_dir()


def cron_is_installed() -> bool:
    """Whether a cron daemon is installed to read /etc/cron.d (Debian's cron, or cronie's crond)."""
    return any(shutil.which(name) or Path(f"/usr/sbin/{name}").exists() for name in ("cron", "crond"))


def run_systemctl(argv: list[str]) -> None:
    try:
        done = subprocess.run(["systemctl", *argv], capture_output=True, text=True, timeout=SYSTEMCTL_TIMEOUT_S)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise OperationFailed(f"systemctl {' '.join(argv)} failed: {e}", "see: journalctl -xe") from e
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise OperationFailed(f"systemctl {' '.join(argv)} failed: {last}", "see: journalctl -xe")


@dataclass(frozen=True)
class SchedulerHost:
    etc: Path = Path("/etc")
    systemd_running: Callable[[], bool] = field(default=systemd_is_running)
    systemctl: Callable[[list[str]], None] = field(default=run_systemctl)
    cron_installed: Callable[[], bool] = field(default=cron_is_installed)

    @property
    def units(self) -> Path:
        return self.etc / "systemd" / "system"

    @property
    def cron_d(self) -> Path:
        return self.etc / "cron.d"
