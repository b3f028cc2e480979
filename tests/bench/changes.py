"""Changes under load on a stack of the test images: a config change (h1 and h2 clients), PhotoPrism
recreated, and an HAProxy image upgrade. The clients reconnect the way browsers do (tests.load,
tests.h2client); the figures are what such a client sees."""

from __future__ import annotations

import re
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

from tests.bench import commands
from tests.h2client import H2Load
from tests.helpers import wait_until
from tests.load import FreshConnections

DOMAIN = "photos.localhost"


def _up(folder: Path, *extra: str) -> float:
    started = time.monotonic()
    done = subprocess.run(commands.stackctl(folder, *extra), capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(extra)} failed: {done.stderr.strip()}")
    return time.monotonic() - started


def _edit(folder: Path, pattern: str, replacement: str) -> None:
    spec = folder / "stack.yaml"
    text, count = re.subn(pattern, replacement, spec.read_text(), count=1)
    if count != 1:
        raise RuntimeError(f"{pattern!r} not in {spec}")
    spec.write_text(text)


def _alias_live_after(https: int, cafile: str, alias: str, started: float, stop: threading.Event) -> list[float]:
    """Seconds from `started` until a request for `alias` is answered with 200 (polled every 20 ms)."""
    import socket
    import ssl

    found: list[float] = []
    ctx = ssl.create_default_context(cafile=cafile)
    while not stop.is_set() and not found:
        try:
            with (
                socket.create_connection(("127.0.0.1", https), timeout=2) as raw,
                ctx.wrap_socket(raw, server_hostname=alias) as tls,
            ):
                tls.sendall(f"GET /api/v1/status HTTP/1.1\r\nHost: {alias}\r\nConnection: close\r\n\r\n".encode())
                if tls.recv(12).startswith(b"HTTP/1.1 200"):
                    found.append(time.monotonic() - started)
        except (OSError, ssl.SSLError):
            pass
        time.sleep(0.02)
    return found


def _one_config_change(folder: Path, https: int, cafile: str, alias: str) -> dict[str, Any]:
    _edit(folder, r"aliases: \[([^\]]*)\]", lambda m: f"aliases: [{m.group(1)}{', ' if m.group(1) else ''}{alias}]")
    with H2Load(https, DOMAIN, cafile) as h2, FreshConnections(https, DOMAIN, cafile) as h1:
        wait_until(lambda: h2.stats.ok > 200 and h1.ok > 10, 30, "load before the change")
        stop = threading.Event()
        started = time.monotonic()
        live: list[float] = []
        poller = threading.Thread(target=lambda: live.extend(_alias_live_after(https, cafile, alias, started, stop)))
        poller.start()
        seconds = _up(folder, "up")
        wait_until(lambda: bool(live), 10, "the alias to answer")
        stop.set()
        poller.join()
        after = time.monotonic()
        wait_until(lambda: h2.stats.ok_after(after) > 200 and h1.ok_after(after) > 10, 30, "load after")
    return {"change": f"alias {alias}", "up_s": round(seconds, 2), "live_after_s": round(live[0], 2),
            "h2_ok": h2.stats.ok, "h2_failed": len(h2.stats.failures), "h1_ok": h1.ok,
            "h1_failed": len(h1.failures)}  # fmt: skip


def config_changes(folder: Path, https: int, rounds: int = 3) -> list[dict[str, Any]]:
    cafile = str(folder / "certs/ca/ca.crt")
    return [_one_config_change(folder, https, cafile, f"a{i}.photos.localhost") for i in range(rounds)]


def photoprism_recreations(folder: Path, https: int, stack: str, rounds: int = 3) -> list[dict[str, Any]]:
    """PhotoPrism's container recreated by an environment change, `rounds` times (set, unset, set)."""
    envs = ("env: {}", "env: {PHOTOPRISM_READONLY: true}")
    results = []
    for round_ in range(rounds):
        old, new = envs if round_ % 2 == 0 else envs[::-1]
        results.append(photoprism_recreation(folder, https, stack, old, new))
    return results


def photoprism_recreation(folder: Path, https: int, stack: str, old_env: str, new_env: str) -> dict[str, Any]:
    import docker

    cafile = str(folder / "certs/ca/ca.crt")
    _edit(folder, re.escape(old_env), new_env)
    with FreshConnections(https, DOMAIN, cafile, threads=4, acceptable=lambda r: r[9:12] in (b"200", b"503")) as load:
        wait_until(lambda: load.ok > 20, 30, "load before the change")
        seconds = _up(folder, "up")
        after = time.monotonic()
        wait_until(lambda: load.ok_after(after) > 20, 30, "load after")
    unavailable = [t for t, status in load.timeline if status == "503"]
    errors = [status for _, status in load.timeline if not status.isdigit()]
    attrs = docker.from_env().containers.get(f"{stack}-photoprism-1").attrs
    started = commands._ts(attrs["State"]["StartedAt"])
    healthy = min(commands._ts(e["End"]) for e in attrs["State"]["Health"]["Log"] if e.get("ExitCode") == 0)
    window = round(max(unavailable) - min(unavailable), 2) if unavailable else 0.0
    return {"up_s": round(seconds, 2), "window_503_s": window,
            "responses_503": len(unavailable), "responses_200": load.statuses.get(200, 0),
            "connection_errors": len(errors), "photoprism_start_to_healthy_s": round(healthy - started, 2)}  # fmt: skip


def haproxy_upgrade(folder: Path, https: int, image: str) -> dict[str, Any]:
    """`upgrade haproxy` to a new image under the same tag: how long connections were refused."""
    import docker

    client = docker.from_env()
    reference = "stackctl-bench/haproxy:current"
    client.images.get(image).tag(reference)
    _edit(folder, r'haproxy: "[^"]+"', f'haproxy: "{reference}"')
    _up(folder, "up")
    import io

    new, _ = client.images.build(fileobj=io.BytesIO(f"FROM {image}\nLABEL bench.release=2\n".encode()), rm=True)
    new.tag(reference)
    cafile = str(folder / "certs/ca/ca.crt")
    with FreshConnections(https, DOMAIN, cafile, threads=4) as load:
        wait_until(lambda: load.ok > 20, 30, "load before the upgrade")
        seconds = _up(folder, "upgrade", "haproxy")
        after = time.monotonic()
        wait_until(lambda: load.ok_after(after) > 20, 30, "load after")
    failed = [t for t, status in load.timeline if status != "200"]
    return {"upgrade_s": round(seconds, 2), "refused_window_s": round(max(failed) - min(failed), 2) if failed else 0.0,
            "failed_requests": len(failed), "ok_requests": load.ok}  # fmt: skip


def measure_changes(work: Path) -> dict[str, Any]:
    """A fresh stack of the test images on its own ports, changed three ways, then removed."""
    folder = work / "changes"
    text = commands.demo_like_stack(folder, "benchchg", "38", "10.231.9.0/24", "aliases: []\nphotoprism: {env: {}}\n")
    try:
        _up(folder, "up")
        image = re.search(r'haproxy: "([^"]+)"', text)
        assert image is not None
        return {
            "config_change": config_changes(folder, 38443),
            "photoprism_recreation": photoprism_recreations(folder, 38443, "benchchg"),
            "haproxy_upgrade": haproxy_upgrade(folder, 38443, image.group(1)),
        }
    finally:
        subprocess.run(commands.stackctl(folder, "down"), capture_output=True, check=False)
