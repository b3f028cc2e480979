"""h3 rows: stackctl's HAProxy (the Debian 13 image, QUIC) over h3 against its own h2, and Caddy's
HTTP/3 in front of the same PhotoPrism stand-in. h2 through h2load; h3 through tests.bench.h3load
(aioquic: Debian's h2load has no QUIC), which is the bottleneck; the same h3 client for both servers."""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from stackctl.health.h3 import h3_get
from tests.bench import commands
from tests.bench.h2load import Measurement, run
from tests.bench.h3load import run_h3
from tests.helpers import free_port, wait_for_port, wait_until

DOMAIN = "photos.localhost"
LOAD = {"requests": 20000, "clients": 8, "streams": 10}


def _stack(work: Path) -> Path:
    folder = work / "h3"
    commands.demo_like_stack(folder, "benchh3", "48", "10.231.11.0/24")
    done = subprocess.run(commands.stackctl(folder, "up"), capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(done.stderr)
    return folder


def _standin_address() -> str:
    import docker

    networks = docker.from_env().containers.get("benchh3-photoprism-1").attrs["NetworkSettings"]["Networks"]
    return str(next(iter(networks.values()))["IPAddress"])


def _caddy(work: Path, backend: str, certs: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    caddyfile = work / "Caddyfile"
    site = certs / "sites" / DOMAIN
    caddyfile.write_text(
        "{\n  auto_https off\n  admin off\n}\n"
        f"https://{DOMAIN}:{port} {{\n  tls {site / 'cert.pem'} {site / 'key.pem'}\n"
        f"  reverse_proxy {backend}:2342\n}}\n"
    )
    proc = subprocess.Popen(["caddy", "run", "--config", str(caddyfile), "--adapter", "caddyfile"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    wait_for_port(port)
    wait_until(lambda: _answers_h3(port, certs), 10, "Caddy to answer HTTP/3")
    return proc, port


def _answers_h3(port: int, certs: Path) -> bool:
    try:
        return h3_get("127.0.0.1", port, DOMAIN, str(certs / "ca/ca.crt"), 2.0, "/health").status == 200
    except OSError:
        return False


def _row(m: Measurement) -> dict[str, Any]:
    return {"rps": m.rps, "p50_ms": m.p50_ms, "p99_ms": m.p99_ms, "failed": m.failed, "note": m.note}


def measure() -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="stackctl-bench-h3-") as tmp:
        work = Path(tmp)
        folder = _stack(work)
        try:
            cafile = str(folder / "certs/ca/ca.crt")
            result = {
                "stackctl_h2_h2load": _row(run("https://127.0.0.1:48443/health", authority=DOMAIN, **LOAD)),
                "stackctl_h3_aioquic": _row(run_h3(48443, DOMAIN, cafile)),
            }
            caddy, port = _caddy(work, _standin_address(), folder / "certs")
            try:
                result["caddy_h3_aioquic"] = _row(run_h3(port, DOMAIN, cafile))
            finally:
                caddy.terminate()
                caddy.wait(timeout=10)
        finally:
            subprocess.run(commands.stackctl(folder, "down"), capture_output=True, check=False)
    return result


if __name__ == "__main__":
    print(json.dumps(measure(), indent=1))
