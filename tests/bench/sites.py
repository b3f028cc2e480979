"""Many sites: command latency on a running 20-site stack (no-op `up`, `status --json`, `certs renew
--force --site X` until X serves its new certificate), on the test images."""

from __future__ import annotations

import re
import statistics
import subprocess
from pathlib import Path
from typing import Any

from tests.bench.commands import stackctl, timed

SITES = 20
PHOTOPRISM_SITES = 2  # the rest are the small upstream app: the commands' work is per site either way
ROOT = Path(__file__).resolve().parents[2]


def twenty_site_stack(work: Path) -> Path:
    folder = work / "sites20"
    folder.mkdir(parents=True)
    subprocess.run(stackctl(folder, "init", "--domain", "site00.example.com"), check=True, stdout=subprocess.DEVNULL)
    text = (folder / "stack.yaml").read_text()
    for old, new in (
        ("name: photoprism ", "name: benchsites "), ("http: 80 ", "http: 38080 "), ("https: 443", "https: 38443"),
        ("bind: 0.0.0.0", "bind: 127.0.0.1"), ("stats: 8404", "stats: 38404"),
        ('"haproxy:3.2"', '"stackctl-test/haproxy:3.2"'),
        ('"photoprism/photoprism:latest"', '"stackctl-test/photoprism:standin"'),
        ('"mariadb:11"', '"stackctl-test/mariadb:11.8"'), ("pull: missing", "pull: never"),
    ):  # fmt: skip
        text = text.replace(old, new, 1)
    (folder / "stack.yaml").write_text(re.sub(r"subnet: \S+", "subnet: 10.231.9.0/24", text))
    for i in range(1, SITES):
        extra = (
            []
            if i < PHOTOPRISM_SITES
            else ["--image", "stackctl-test/upstream:1", "--port", "8080", "--health", "/health"]
        )
        subprocess.run(stackctl(folder, "sites", "add", f"site{i:02d}.example.com", *extra), check=True,
                       stdout=subprocess.DEVNULL)  # fmt: skip
    return folder


def _median_wall(argv: list[str], runs: int, ok: tuple[int, ...] = (0,)) -> tuple[float, float]:
    walls, peaks = [], []
    for _ in range(runs):
        wall, rss, _, code, _ = timed(argv)
        if code not in ok:
            raise RuntimeError(f"{' '.join(argv[3:])} failed with exit code {code}")
        walls.append(wall)
        peaks.append(rss)
    return round(statistics.median(walls), 3), round(max(peaks), 1)


def measure(work: Path, runs: int = 5) -> dict[str, Any]:
    folder = twenty_site_stack(work)
    try:
        wall, _, _, code, _ = timed(stackctl(folder, "up", "--timeout", "600"))
        if code != 0:
            raise RuntimeError(f"up of the {SITES}-site stack failed with exit code {code}")
        up_s, up_rss = _median_wall(stackctl(folder, "up"), runs)
        status_s, status_rss = _median_wall(stackctl(folder, "status", "--json"), runs)
        renew_s, _ = _median_wall(stackctl(folder, "certs", "renew", "--force", "--site", "site07.example.com"), runs)
        return {
            "sites": SITES, "photoprism_sites": PHOTOPRISM_SITES, "first_up_s": round(wall, 1),
            "noop_up_s": up_s, "noop_up_peak_rss_mb": up_rss, "status_json_s": status_s,
            "status_peak_rss_mb": status_rss, "renew_site_s": renew_s,
        }  # fmt: skip
    finally:
        subprocess.run(stackctl(folder, "down"), check=False, stdout=subprocess.DEVNULL)


def targets(sites: dict[str, Any]) -> list[tuple[str, str, bool | None]]:
    return [
        (f"{SITES} sites: no-op up <= 1.0s", f"{sites['noop_up_s']}s", sites["noop_up_s"] <= 1.0),
        (f"{SITES} sites: status --json <= 1.0s", f"{sites['status_json_s']}s", sites["status_json_s"] <= 1.0),
        (f"{SITES} sites: certs renew --force --site X <= 2s (until X serves it)", f"{sites['renew_site_s']}s",
         sites["renew_site_s"] <= 2.0),
    ]  # fmt: skip
