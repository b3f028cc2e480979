"""Run h2load against a URL and read requests/s and latency percentiles from its per-request log."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Measurement:
    rps: float | None
    p50_ms: float | None
    p99_ms: float | None
    failed: int
    note: str = ""


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


# With two cores or more, the load generator runs on core 0 and every proxy and backend on core 1:
# neither steals the other's CPU, which is what made the proxy rows noisy.
PINNED = (os.cpu_count() or 1) >= 2 and shutil.which("taskset") is not None
LOAD_CPUS, PROXY_CPUS = "0", "1"


def pinned(argv: list[str], cpus: str) -> list[str]:
    return ["taskset", "-c", cpus, *argv] if PINNED else argv


def run(
    url: str,
    *,
    requests: int,
    clients: int,
    streams: int = 1,
    h1: bool = False,
    threads: int = 1,
    authority: str | None = None,
    close: bool = False,
    timeout: float = 120,
    h3: bool = False,
) -> Measurement:
    """`close`: one request per connection (HTTP/1.1 Connection: close; h2load reconnects each time)."""
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "requests.log"
        argv = ["h2load", "-n", str(requests), "-c", str(clients), "-m", str(streams), "-t", str(threads),
                "--log-file", str(log)]  # fmt: skip
        if h1:
            argv.append("--h1")
        if h3:
            argv.append("--npn-list=h3")
        if authority:
            argv += ["-H", f":authority: {authority}"]
        if close:
            argv += ["-H", "Connection: close"]
        argv.append(url)
        result = subprocess.run(pinned(argv, LOAD_CPUS), capture_output=True, text=True, timeout=timeout, check=False)
        output = result.stdout + result.stderr
        protocol = re.search(r"Application protocol: (\S+)", output)
        wanted = "h3" if h3 else "h2"
        if not h1 and protocol and protocol.group(1) != wanted:
            return Measurement(None, None, None, 0, f"no {wanted} (server negotiated {protocol.group(1)})")
        finished = re.search(r"finished in ([\d.]+)(\w+), ([\d.]+) req/s", output)
        counts = re.search(r"requests: \d+ total, \d+ started, (\d+) done, (\d+) succeeded, (\d+) failed", output)
        codes = re.search(r"status codes: (\d+) 2xx", output)
        if not finished or not counts:
            return Measurement(
                None, None, None, requests, output.strip().splitlines()[-1][:120] if output else "no output"
            )
        ok = int(codes.group(1)) if codes else 0
        failed = int(counts.group(3)) + (int(counts.group(2)) - ok if codes else 0)
        latencies = []
        if log.exists():
            for line in log.read_text().splitlines():
                fields = line.split("\t")
                if len(fields) >= 3 and fields[1].startswith("2"):
                    latencies.append(int(fields[2]) / 1000)
        if not latencies or int(counts.group(2)) == 0:
            return Measurement(None, None, None, failed, "no successful request")
        return Measurement(float(finished.group(3)), _percentile(latencies, 0.5), _percentile(latencies, 0.99), failed)
