"""Command rows: median wall time and peak RSS of stackctl commands on a running demo stack."""

from __future__ import annotations

import contextlib
import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class CommandRow:
    command: str
    median_s: float
    peak_rss_mb: float
    runs_s: tuple[float, ...]  # each run's wall time, in order


def timed(argv: list[str], cwd: Path | None = None) -> tuple[float, float, float, int, str]:
    """(wall seconds, peak RSS MB, CPU seconds, exit code, stdout) of one run."""
    started = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    out = proc.stdout.read() if proc.stdout else b""
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    return wall, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime, proc.returncode, out.decode()


def stackctl(demo: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "stackctl", "--dir", str(demo), *args]


def measure(demo: Path, runs: int = 5) -> list[CommandRow]:
    rows = []
    cases = [
        ("--help", stackctl(demo, "--help")),
        ("render", stackctl(demo, "render")),
        ("certs show", stackctl(demo, "certs", "show")),
        ("status --json", stackctl(demo, "status", "--json")),
        ("up (no-op)", stackctl(demo, "up")),
        ("certs renew --force", stackctl(demo, "certs", "renew", "--force")),
    ]
    for name, argv in cases:
        walls, peaks = [], []
        for _ in range(runs):
            wall, rss, _, code, _ = timed(argv)
            if code not in (0, 1) or (name != "status --json" and code != 0):
                raise RuntimeError(f"{name} failed with exit code {code}")
            walls.append(wall)
            peaks.append(rss)
        rows.append(CommandRow(name, round(statistics.median(walls), 3), round(max(peaks), 1),
                               tuple(round(w, 3) for w in walls)))  # fmt: skip
    return rows


def watch_cpu(demo: Path, seconds: float = 20.0) -> dict[str, float]:
    """CPU share of `status --watch --interval 2` over `seconds`, and its peak RSS."""
    import pty
    import select
    import signal

    leader, follower = pty.openpty()
    proc = subprocess.Popen(stackctl(demo, "status", "--watch", "--interval", "2"),
                            stdin=follower, stdout=follower, stderr=follower)  # fmt: skip
    os.close(follower)
    started = time.perf_counter()
    deadline = started + seconds
    while time.perf_counter() < deadline:
        try:
            os.read(leader, 65536)
        except OSError:
            break
    proc.send_signal(signal.SIGINT)
    # Keep reading until it exits: its last frame on the way out must not block on a full terminal.
    while True:
        pid, _, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        ready, _, _ = select.select([leader], [], [], 0.1)
        if ready:
            with contextlib.suppress(OSError):
                os.read(leader, 65536)
    os.close(leader)
    wall = time.perf_counter() - started
    return {
        "cpu_percent_of_one_core": round(100 * (usage.ru_utime + usage.ru_stime) / wall, 2),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
        "seconds": round(wall, 1),
    }


def cold_up(folder: Path) -> dict[str, float]:
    """`up` on a fresh project with images present: total time, and the part the containers need
    themselves (start to first passing health check, summed in start order)."""
    import docker

    wall, _, _, code, _ = timed(stackctl(folder, "up"))
    if code != 0:
        raise RuntimeError("cold up failed")
    client = docker.from_env()
    name = json.loads(subprocess.run(stackctl(folder, "status", "--json"), capture_output=True, check=False).stdout)[
        "stack"
    ]
    inherent = 0.0
    for service in ("mariadb", "photoprism", "haproxy"):
        try:
            attrs = client.containers.get(f"{name}-{service}-1").attrs
        except docker.errors.NotFound:
            continue
        started = _ts(attrs["State"]["StartedAt"])
        log = (attrs["State"].get("Health") or {}).get("Log") or []
        ok = [_ts(entry["End"]) for entry in log if entry.get("ExitCode") == 0]
        if ok:
            inherent += min(ok) - started
    subprocess.run(stackctl(folder, "down"), capture_output=True, check=False)
    return {"total_s": round(wall, 2), "containers_s": round(inherent, 2), "overhead_s": round(wall - inherent, 2)}


def _ts(text: str) -> float:
    import datetime as dt

    return dt.datetime.fromisoformat(text[:26].rstrip("Z") + "+00:00").timestamp()


def demo_like_stack(folder: Path, name: str, port_prefix: str, subnet: str, extra: str = "") -> str:
    """A stack folder like `make demo`'s, on ports <prefix>080/<prefix>443/<prefix>404 and its own
    subnet, initialised (secrets); returns its stack.yaml text."""
    folder.mkdir(parents=True)
    text = (
        (Path(__file__).resolve().parents[2] / "tests/demo/stack.yaml")
        .read_text()
        .replace("name: demo", f"name: {name}")
    )
    for port in ("080", "443", "404"):
        text = text.replace(f"18{port}", f"{port_prefix}{port}")
    text += f"{extra}network: {{subnet: {subnet}}}\n"
    (folder / "stack.yaml").write_text(text)
    subprocess.run(stackctl(folder, "init"), check=True, stdout=subprocess.DEVNULL)
    return text
