"""Many sites: command latency on a running stack of 20 and of 50 sites (no-op `up`, `status --json`,
`certs renew --force --site X` until X serves its new certificate), on the test images."""

from __future__ import annotations

import re
import statistics
import subprocess
from pathlib import Path
from typing import Any

from tests.bench.commands import stackctl, timed
from tests.bench.spread import Judged, judged

SITE_COUNTS = (20, 50)  # 20: the targets; 50: measured, no target
PHOTOPRISM_SITES = 2  # the rest are the small upstream app: the commands' work is per site either way
ROOT = Path(__file__).resolve().parents[2]


def many_site_stack(work: Path, sites: int) -> Path:
    folder = work / f"sites{sites}"
    folder.mkdir(parents=True)
    subprocess.run(stackctl(folder, "init", "--domain", "site00.example.com"), check=True, stdout=subprocess.DEVNULL)
    text = (folder / "stack.yaml").read_text()
    for old, new in (
        ("name: photoprism ", f"name: benchsites{sites} "), ("http: 80 ", "http: 38080 "),
        ("https: 443", "https: 38443"), ("bind: 0.0.0.0", "bind: 127.0.0.1"), ("stats: 8404", "stats: 38404"),
        ('"haproxy:3.2"', '"stackctl-test/haproxy:3.2"'),
        ('"photoprism/photoprism:latest"', '"stackctl-test/photoprism:standin"'),
        ('"mariadb:11"', '"stackctl-test/mariadb:11.8"'), ("pull: missing", "pull: never"),
    ):  # fmt: skip
        text = text.replace(old, new, 1)
    (folder / "stack.yaml").write_text(re.sub(r"subnet: \S+", "subnet: 10.231.9.0/24", text))
    for i in range(1, sites):
        extra = (
            []
            if i < PHOTOPRISM_SITES
            else ["--image", "stackctl-test/upstream:1", "--port", "8080", "--health", "/health"]
        )
        subprocess.run(stackctl(folder, "sites", "add", f"site{i:02d}.example.com", *extra), check=True,
                       stdout=subprocess.DEVNULL)  # fmt: skip
    return folder


def _walls(argv: list[str], runs: int, ok: tuple[int, ...] = (0,)) -> tuple[list[float], float]:
    """Each run's wall time, and the peak RSS of all runs."""
    walls, peaks = [], []
    for _ in range(runs):
        wall, rss, _, code, _ = timed(argv)
        if code not in ok:
            raise RuntimeError(f"{' '.join(argv[3:])} failed with exit code {code}")
        walls.append(round(wall, 3))
        peaks.append(rss)
    return walls, round(max(peaks), 1)


def measure(work: Path, sites: int, runs: int = 5) -> dict[str, Any]:
    folder = many_site_stack(work, sites)
    try:
        wall, _, _, code, _ = timed(stackctl(folder, "up", "--timeout", "900"))
        if code != 0:
            raise RuntimeError(f"up of the {sites}-site stack failed with exit code {code}")
        up_runs, up_rss = _walls(stackctl(folder, "up"), runs)
        status_runs, status_rss = _walls(stackctl(folder, "status", "--json"), runs)
        renew_runs, _ = _walls(stackctl(folder, "certs", "renew", "--force", "--site", "site07.example.com"), runs)
        return {
            "sites": sites, "photoprism_sites": PHOTOPRISM_SITES, "first_up_s": round(wall, 1),
            "noop_up_s": statistics.median(up_runs), "noop_up_runs_s": up_runs, "noop_up_peak_rss_mb": up_rss,
            "status_json_s": statistics.median(status_runs), "status_json_runs_s": status_runs,
            "status_peak_rss_mb": status_rss, "renew_site_s": statistics.median(renew_runs),
            "renew_site_runs_s": renew_runs,
        }  # fmt: skip
    finally:
        subprocess.run(stackctl(folder, "down"), check=False, stdout=subprocess.DEVNULL)


# (label, runs key, limit at 20 sites)
_COMMANDS = (
    ("no-op up", "noop_up_runs_s", 1.0),
    ("status --json", "status_json_runs_s", 1.0),
    ("certs renew --force --site X (until X serves it)", "renew_site_runs_s", 2.0),
)


def targets(by_count: dict[str, dict[str, Any]]) -> list[Judged]:
    """The 20-site targets; the 50-site figures beside them, with no target of their own."""
    out = []
    for count, sites in by_count.items():
        judged_here = count == str(SITE_COUNTS[0])
        for label, key, limit in _COMMANDS:
            name = f"{count} sites: {label}" + (f" <= {limit}s" if judged_here else "")
            ok = (lambda s, lim=limit: s <= lim) if judged_here else None
            out.append(judged(name, sites[key], ok, "s", 3))
    return out
