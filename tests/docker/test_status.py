"""stackctl status against real containers: healthy, photoprism stopped, certificate not served, down."""

from __future__ import annotations

import json
import os
import pty
import select
import signal
import subprocess
import sys
import time

from stackctl.certs.manage import issue
from stackctl.certs.store import CertStore
from stackctl.config.spec import load_spec
from stackctl.core.clock import utcnow
from tests.docker.conftest import Stack
from tests.helpers import default_sigint, wait_until


def _status(stack: Stack) -> tuple[int, dict[str, object]]:
    code, out, err = stack.cli("status", "--json")
    assert "Traceback" not in err
    return code, json.loads(out)


def test_status_follows_the_stack_through_its_life(stack_each_haproxy: Stack) -> None:
    stack = stack_each_haproxy  # the stats come from each HAProxy version's runtime API
    code, data = _status(stack)
    assert code == 1 and str(data["verdict"]).startswith("down: not running")

    stack.up()
    code, data = _status(stack)
    assert code == 0, data["verdict"]
    assert data["healthy"] is True and data["verdict"] == "healthy"
    servers = [b for b in data["backends"] if b["kind"] == "server"]  # type: ignore[union-attr]
    assert servers and all(b["status"] == "UP" for b in servers)
    assert all(c["state"] == "running" for c in data["containers"])  # type: ignore[union-attr]
    assert data["probe"]["ok"] is True  # type: ignore[index]

    # A certificate replaced on disk but not served (as another tool renewing files would leave it):
    # the most common silent failure elsewhere.
    spec = load_spec(stack.root / "stack.yaml")
    issue(CertStore(stack.root / "certs"), spec, spec.first_site, utcnow())
    code, data = _status(stack)
    assert code == 1 and "served certificate is not the one on disk" in str(data["verdict"])
    assert stack.cli("certs", "renew", "--force")[0] == 0  # the live swap makes them agree again
    assert _status(stack)[0] == 0

    stack.container("photoprism").stop(timeout=3)
    seen: dict[str, object] = {}

    def photoprism_down() -> bool:
        seen["code"], seen["data"] = _status(stack)
        data = seen["data"]
        servers = [b for b in data["backends"] or [] if b["kind"] == "server"]  # type: ignore[index,union-attr]
        return bool(servers) and servers[0]["status"] == "DOWN"

    wait_until(photoprism_down, 20, "status to show the photoprism server DOWN", every=0.5)
    code, data = seen["code"], seen["data"]
    assert code == 1 and "photoprism" in str(data["verdict"]).split(";")[0]

    assert stack.cli("down")[0] == 0
    code, data = _status(stack)
    assert code == 1 and "not running" in str(data["verdict"])


def test_status_watch_refreshes_and_exits_cleanly_on_ctrl_c(stack: Stack) -> None:
    stack.up()
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "stackctl", "--dir", str(stack.root), "status", "--watch", "--interval", "0.5"],
        stdin=follower, stdout=follower, stderr=follower, env={**os.environ, "TERM": "xterm", "COLUMNS": "80"},
        preexec_fn=default_sigint,
    )  # fmt: skip
    os.close(follower)
    output = b""
    deadline = time.monotonic() + 20
    while output.count(b"stackctl status:") < 3 and time.monotonic() < deadline:
        if select.select([leader], [], [], 0.5)[0]:
            output += os.read(leader, 65536)
    proc.send_signal(signal.SIGINT)
    code = proc.wait(timeout=10)
    while select.select([leader], [], [], 0.2)[0]:
        try:
            chunk = os.read(leader, 65536)
        except OSError:
            break
        if not chunk:
            break
        output += chunk
    os.close(leader)
    assert output.count(b"stackctl status:") >= 3, output[-500:]
    assert code == 0
    assert b"Traceback" not in output
    assert output.rstrip().endswith(b"\x1b[?25h") or b"\x1b[?25h" in output[-50:]  # cursor shown again
