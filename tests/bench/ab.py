"""An A/B of stackctl's generated HAProxy config: the one a git revision renders against the working
tree's, side by side on the same HAProxy, certificate and nginx backend, pinned as `make bench` pins,
with the repetitions interleaved. Reports each mode's median requests/s and HAProxy's own CPU time per
request (user + system of its processes, which the machine's other load disturbs far less), each with
its spread, the ratio, and whether the two ranges overlap (then the difference is within the noise).

    python -m tests.bench.ab REV [--repetitions N] [--modes h1,h2]"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import os
import ssl
import statistics
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path

from tests.bench.h2load import PINNED, run
from tests.bench.proxies import (
    BACKEND,
    NAME,
    SMALL_BODY,
    Processes,
    _haproxy,
    _nginx,
    make_certificate,
    stackctl_config,
)
from tests.bench.run import MODES
from tests.helpers import free_port, wait_until

ROOT = Path(__file__).resolve().parents[2]
RENDER = (
    "import sys; from pathlib import Path; from tests.bench.proxies import stackctl_config; "
    "print(stackctl_config(Path(sys.argv[1]), 'old', int(sys.argv[2]), int(sys.argv[3]), Path(sys.argv[4])), end='')"
)


def tree_at(revision: str, folder: Path) -> Path:
    archive = subprocess.run(["git", "archive", revision], cwd=ROOT, check=True, capture_output=True).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(folder, filter="data")
    return folder


def _old_config(tree: Path, work: Path, port: int, backend: int, certs: Path) -> str:
    argv = [sys.executable, "-c", RENDER, str(work), str(port), str(backend), str(certs)]
    return subprocess.run(argv, cwd=tree, env={"PYTHONPATH": str(tree)}, check=True, capture_output=True,
                          text=True).stdout  # fmt: skip


def start_backend(procs: Processes, work: Path) -> int:
    """The nginx both configs proxy to, serving /small and a 1 MB file; returns its port."""
    backend = free_port()
    _nginx(procs, work, "backend", BACKEND.format(port=backend, small=SMALL_BODY, work=work), [backend])
    (work / "www").mkdir()
    (work / "www" / "1mb").write_bytes(os.urandom(1 << 20))
    for path in (work, work / "www", work / "www" / "1mb"):
        os.chmod(path, 0o755)  # nginx's workers run as an unprivileged user
    return backend


def configs(revision: str, work: Path, backend: int) -> dict[str, tuple[int, str]]:
    """ "old" (what `revision` renders) and "new" (the working tree's), each with its port; each config's
    map and pages in a folder of its own, both on the same certificate."""
    cert = make_certificate(work, "ecdsa-p256")
    tree = tree_at(revision, work / "tree")
    old, new = free_port(), free_port()
    (work / "old").mkdir()
    (work / "new").mkdir()
    return {
        "old": (old, _old_config(tree, work / "old", old, backend, cert.bundle_dir)),
        "new": (new, stackctl_config(work / "new", "new", new, backend, cert.bundle_dir)),
    }


def answers(port: int) -> bool:
    ctx = ssl.create_default_context()
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    conn = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=2)
    try:
        conn.request("GET", "/small", headers={"Host": NAME})
        return conn.getresponse().status == 200
    except OSError:
        return False
    finally:
        conn.close()


def _spread(values: list[float]) -> str:
    return f"{statistics.median(values):.0f} [{min(values):.0f}-{max(values):.0f}]"


def arguments(doc: str, count: str, default: int) -> argparse.Namespace:
    """REV, `--<count>` (how much to measure) and --modes, for this tool and tests.bench.cost."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("revision")
    parser.add_argument(f"--{count}", type=int, default=default)
    parser.add_argument("--modes", default="h1,h2", type=lambda text: text.split(","))
    return parser.parse_args()


@contextlib.contextmanager
def compared(revision: str) -> Iterator[tuple[Processes, Path, dict[str, tuple[int, str]]]]:
    """The backend running, and both configs rendered: (processes, work folder, configs)."""
    with tempfile.TemporaryDirectory() as tmp:
        work, procs = Path(tmp), Processes()
        try:
            yield procs, work, configs(revision, work, start_backend(procs, work))
        finally:
            procs.stop()


def main() -> int:
    args = arguments(__doc__ or "", "repetitions", 7)
    modes = args.modes
    with compared(args.revision) as (procs, work, both):
        rps, cpu = _interleaved(procs, work, both, modes, args.repetitions)
    print(f"{args.revision} (old) against the working tree (new), {args.repetitions} interleaved repetitions, "
          f"{'pinned' if PINNED else 'not pinned'}: median [min-max]")  # fmt: skip
    for mode in modes:
        print(f"{mode}: requests/s {_compare(rps, mode)}; HAProxy CPU µs per request {_compare(cpu, mode)}")
    return 0


def _interleaved(
    procs: Processes, work: Path, both: dict[str, tuple[int, str]], modes: list[str], repetitions: int
) -> tuple[dict[tuple[str, str], list[float]], dict[tuple[str, str], list[float]]]:
    """Both HAProxies started, then each mode against each in turn: (requests/s, CPU µs per request)."""
    for label, (port, text) in both.items():
        _haproxy(procs, work, label, text, [port])
        wait_until(lambda p=port: answers(p), 15, f"HAProxy on {port} to reach the backend")  # its health checks
    masters = {label: proc.pid for label, proc in zip(both, procs.running[1:], strict=True)}
    rps: dict[tuple[str, str], list[float]] = {}
    cpu: dict[tuple[str, str], list[float]] = {}
    for _ in range(repetitions):
        for mode in modes:
            for label, (port, _) in both.items():
                options = dict(MODES[mode])
                path = options.pop("path")
                before = _cpu_seconds(masters[label])
                measured = run(f"https://127.0.0.1:{port}{path}", authority=NAME, **options)
                spent = _cpu_seconds(masters[label]) - before
                rps.setdefault((label, mode), []).append(measured.rps or 0.0)
                cpu.setdefault((label, mode), []).append(spent / options["requests"] * 1e6)
    return rps, cpu


def _compare(samples: dict[tuple[str, str], list[float]], mode: str) -> str:
    before, after = samples[("old", mode)], samples[("new", mode)]
    ratio = statistics.median(after) / statistics.median(before)
    overlap = min(after) <= max(before) and min(before) <= max(after)
    return (
        f"old {_spread(before)}, new {_spread(after)}, new/old {ratio:.3f} (ranges {'overlap' if overlap else 'apart'})"
    )


def _cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process and its children (HAProxy's master and its worker)."""
    total = 0.0
    for task in Path(f"/proc/{pid}/task").iterdir():
        fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        for child in (task / "children").read_text().split():
            total += _cpu_seconds(int(child))
    return total


if __name__ == "__main__":
    sys.exit(main())
