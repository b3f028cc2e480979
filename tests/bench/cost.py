"""What a request costs HAProxy in CPU instructions, counted by valgrind's callgrind: the config a git
revision renders against the working tree's. Instruction counts do not depend on what else the machine
runs, so a difference of a few percent shows, where requests/s on a shared machine vary by 15%
between two runs of the same config (tests.bench.ab). The counters are zeroed once HAProxy is up and
dumped after the load, so start-up and health checks before it do not count.

    python -m tests.bench.cost REV [--requests N] [--modes h1,h2]"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tests.bench.ab import answers, arguments, compared
from tests.bench.proxies import NAME
from tests.bench.run import MODES
from tests.helpers import wait_for_port, wait_until

CLIENTS = {"h1": 4, "h2": 4, "handshake": 4, "1mb": 2}


def _load(port: int, mode: str, requests: int) -> None:
    options = dict(MODES[mode])
    argv = ["h2load", "-n", str(requests), "-c", str(CLIENTS[mode]), "-m", str(options.get("streams", 1)),
            "-H", f":authority: {NAME}"]  # fmt: skip
    if options.get("h1"):
        argv.append("--h1")
    if options.get("close"):
        argv += ["-H", "Connection: close"]
    out = subprocess.run([*argv, f"https://127.0.0.1:{port}{options['path']}"], capture_output=True, text=True,
                         timeout=1800, check=False).stdout  # fmt: skip
    if f"{requests} succeeded" not in out:
        raise RuntimeError(f"h2load against {port} ({mode}): {out.strip().splitlines()[-3:]}")


def _totals(dump: Path) -> int:
    return next(int(line.split()[1]) for line in dump.read_text().splitlines() if line.startswith("totals:"))


def measure(label: str, port: int, cfg: Path, work: Path, modes: list[str], requests: int) -> dict[str, Path]:
    """Each mode's callgrind dump of `requests` requests against HAProxy on `cfg`, under valgrind."""
    out = work / f"callgrind-{label}"
    argv = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", shutil.which("haproxy") or "haproxy",
            "-db", "-f", str(cfg)]  # fmt: skip
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={"STATS_PASSWORD": "b"})
    dumps = {}
    try:
        wait_for_port(port, timeout=300)
        wait_until(lambda: answers(port), 120, f"HAProxy on {port} to reach the backend", every=0.5)
        for number, mode in enumerate(modes, start=1):
            subprocess.run(["callgrind_control", "--zero", str(proc.pid)], check=True, capture_output=True)
            _load(port, mode, requests)
            subprocess.run(["callgrind_control", "--dump", str(proc.pid)], check=True, capture_output=True)
            dumps[mode] = Path(f"{out}.{number}")
            wait_until(dumps[mode].exists, 60, f"callgrind's dump {dumps[mode]}")
    finally:
        proc.terminate()
        proc.wait(timeout=120)
    return dumps


def main() -> int:
    args = arguments(__doc__ or "", "requests", 4000)
    found = {}
    with compared(args.revision) as (_, work, both):
        for label, (port, text) in both.items():
            cfg = work / f"haproxy-{label}.cfg"
            cfg.write_text(text)
            found[label] = {mode: _totals(dump) for mode, dump in measure(label, port, cfg, work, args.modes,
                                                                          args.requests).items()}  # fmt: skip
    print(f"{args.revision} (old) against the working tree (new): HAProxy instructions per request, "
          f"{args.requests} requests per mode, counted by callgrind")  # fmt: skip
    for mode in args.modes:
        old, new = (found[label][mode] / args.requests for label in ("old", "new"))
        print(f"{mode}: old {old:,.0f}, new {new:,.0f}, new/old {new / old:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
