"""An A/B of stackctl's generated HAProxy config: the one a git revision renders against the working
tree's, side by side on the same HAProxy, certificate and nginx backend, pinned as `make bench` pins,
with the repetitions interleaved. Reports each mode's median requests/s with its spread and the
ratio, and whether the two ranges overlap (then the difference is within the noise).

    python -m tests.bench.ab REV [--repetitions N] [--modes h1,h2]"""

from __future__ import annotations

import argparse
import http.client
import os
import ssl
import statistics
import subprocess
import sys
import tarfile
import tempfile
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


def _tree_at(revision: str, folder: Path) -> Path:
    archive = subprocess.run(["git", "archive", revision], cwd=ROOT, check=True, capture_output=True).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(folder, filter="data")
    return folder


def _old_config(tree: Path, work: Path, port: int, backend: int, certs: Path) -> str:
    argv = [sys.executable, "-c", RENDER, str(work), str(port), str(backend), str(certs)]
    return subprocess.run(argv, cwd=tree, env={"PYTHONPATH": str(tree)}, check=True, capture_output=True,
                          text=True).stdout  # fmt: skip


def _answers(port: int) -> bool:
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("revision")
    parser.add_argument("--repetitions", type=int, default=7)
    parser.add_argument("--modes", default="h1,h2")
    args = parser.parse_args()
    modes = args.modes.split(",")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        tree = _tree_at(args.revision, work / "tree")
        cert = make_certificate(work, "ecdsa-p256")
        backend, old, new = free_port(), free_port(), free_port()
        procs = Processes()
        try:
            _nginx(procs, work, "backend", BACKEND.format(port=backend, small=SMALL_BODY, work=work), [backend])
            (work / "www").mkdir()
            (work / "www" / "1mb").write_bytes(os.urandom(1 << 20))
            for path in (work, work / "www", work / "www" / "1mb"):
                os.chmod(path, 0o755)  # nginx's workers run as an unprivileged user
            (work / "old").mkdir()
            (work / "new").mkdir()  # each config's map and pages in a folder of its own
            _haproxy(procs, work, "old", _old_config(tree, work / "old", old, backend, cert.bundle_dir), [old])
            _haproxy(procs, work, "new", stackctl_config(work / "new", "new", new, backend, cert.bundle_dir), [new])
            for port in (old, new):  # HAProxy's first health checks mark the backend up
                wait_until(lambda p=port: _answers(p), 15, f"HAProxy on {port} to reach the backend")
            samples: dict[tuple[str, str], list[float]] = {}
            for _ in range(args.repetitions):
                for mode in modes:
                    for label, port in (("old", old), ("new", new)):
                        options = dict(MODES[mode])
                        path = options.pop("path")
                        measured = run(f"https://127.0.0.1:{port}{path}", authority=NAME, **options)
                        samples.setdefault((label, mode), []).append(measured.rps or 0.0)
        finally:
            procs.stop()
    print(f"{args.revision} (old) against the working tree (new), {args.repetitions} interleaved repetitions, "
          f"{'pinned' if PINNED else 'not pinned'}; requests/s median [min-max]")  # fmt: skip
    for mode in modes:
        before, after = samples[("old", mode)], samples[("new", mode)]
        ratio = statistics.median(after) / statistics.median(before)
        overlap = min(after) <= max(before) and min(before) <= max(after)
        print(f"{mode}: old {_spread(before)}, new {_spread(after)}, new/old {ratio:.3f}, "
              f"ranges {'overlap' if overlap else 'apart'}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
