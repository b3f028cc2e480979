"""Backup and restore throughput and peak memory on a SQLite stack folder with incompressible
"originals", against `tar | gzip -1` and `tar | zstd -1` of the same files.

Run alone: `.venv/bin/python -m tests.bench.backup [SIZE_MB]` (default 2048). `make bench` runs it
with BENCH_BACKUP_MB (default 512)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
STACKCTL = str(ROOT / ".venv/bin/stackctl")


def _make_stack(folder: Path, size_mb: int) -> None:
    subprocess.run([STACKCTL, "--dir", str(folder), "init", "--domain", "photos.example.com"], check=True,
                   stdout=subprocess.DEVNULL)  # fmt: skip
    spec = folder / "stack.yaml"
    spec.write_text(spec.read_text().replace("kind: mariadb", "kind: sqlite"))
    from stackctl.config.spec import load_spec
    from stackctl.flows.dumps import photoprism_sites

    site = photoprism_sites(load_spec(spec))[0]
    assert site.photoprism is not None
    originals = folder / site.photoprism.originals  # where the site's originals are (init's sites form)
    originals.mkdir(parents=True, exist_ok=True)
    block = os.urandom(1 << 20)  # photos do not compress; one random block, shifted per file
    for i in range(size_mb // 8):
        with open(originals / f"photo-{i:05d}.jpg", "wb") as out:
            for j in range(8):
                out.write(block[j + i % 7 :] + block[: j + i % 7])


def _timed(argv: list[str]) -> tuple[float, float]:
    """Seconds, and this child's own peak RSS in MB (wait4 reports it per child)."""
    started = time.monotonic()
    child = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise RuntimeError(f"{argv[:3]} failed with {child.returncode}")
    return time.monotonic() - started, round(usage.ru_maxrss / 1024, 1)


def measure(size_mb: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="stackctl-bench-backup-") as tmp:
        work = Path(tmp)
        stack = work / "stack"
        _make_stack(stack, size_mb)
        secret = work / "passphrase"
        secret.write_text("a benchmark passphrase\n")
        total = sum(p.stat().st_size for p in stack.rglob("*") if p.is_file()) / 1e6
        archive = work / "b.stackctl-backup"
        backup_s, backup_rss = _timed(
            [STACKCTL, "--dir", str(stack), "backup", "--with-originals", "--passphrase-file", str(secret),
             "--to", str(archive)]
        )  # fmt: skip
        restore_s, restore_rss = _timed(
            [STACKCTL, "restore", str(archive), "--dir", str(work / "restored"), "--passphrase-file", str(secret),
             "--no-up"]
        )  # fmt: skip
        shutil.rmtree(work / "restored")
        if archive.stat().st_size < 0.9 * size_mb * 1e6:  # photos do not compress: the originals must be in it
            raise RuntimeError(f"the archive holds {archive.stat().st_size / 1e6:.0f} MB of {size_mb} MB of originals")
        gzip_s, _ = _timed(["sh", "-c", f"tar -C {stack} -cf - . | gzip -1 > {work}/t.tar.gz"])
        zstd_s, _ = _timed(["sh", "-c", f"tar -C {stack} -cf - . | zstd -1 -q -o {work}/t.tar.zst"])
        gunzip_s, _ = _timed(["sh", "-c", f"mkdir {work}/x && gzip -dc {work}/t.tar.gz | tar -C {work}/x -xf -"])
    return {
        "size_mb": round(total, 1),
        "backup_mb_s": round(total / backup_s, 1), "restore_mb_s": round(total / restore_s, 1),
        "tar_gzip1_mb_s": round(total / gzip_s, 1), "tar_zstd1_mb_s": round(total / zstd_s, 1),
        "untar_gzip_mb_s": round(total / gunzip_s, 1),
        "encryption_overhead_vs_gzip1": round(backup_s / gzip_s - 1, 3),
        "backup_peak_rss_mb": backup_rss, "restore_peak_rss_mb": restore_rss,
    }  # fmt: skip


if __name__ == "__main__":
    print(json.dumps(measure(int(sys.argv[1]) if len(sys.argv) > 1 else 2048), indent=1))
