"""The dashboard rendered to text (fixed width, no colour), golden-checked, and the verdicts."""

from __future__ import annotations

import io
import socket
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from stackctl.health.model import BackendStatus, CertificateStatus, ContainerStatus, LastExit, StatusSnapshot
from stackctl.health.probe import Check, ProbeResult
from stackctl.ui.dashboard import build_dashboard
from tests.helpers import run_cli

GOLDEN = Path(__file__).parent / "golden" / "status"
AT = "2026-11-27T12:00:00Z"


def _containers(photoprism_state: str = "running", health: str = "healthy") -> list[ContainerStatus]:
    return [
        ContainerStatus("mariadb", "photoprism-mariadb-1", "mariadb:11", "running", "healthy", 7200, 0, None),
        ContainerStatus(
            "photoprism", "photoprism-photoprism-1", "photoprism/photoprism:latest", photoprism_state,
            health if photoprism_state == "running" else "unhealthy",
            3600 if photoprism_state == "running" else None, 1, None if photoprism_state == "running" else 137,
        ),
        ContainerStatus("haproxy", "photoprism-haproxy-1", "haproxy:3.2", "running", None, 7100, 0, None),
    ]  # fmt: skip


def _backends(server: str = "UP") -> list[BackendStatus]:
    return [
        BackendStatus("https", "FRONTEND", "frontend", "OPEN", "", 3, 1204, 12, 4, 0),
        BackendStatus(
            "photoprism", "photoprism", "server", server, "L7OK" if server == "UP" else "L4CON", 3, 1180, 12, 4, 0
        ),
        BackendStatus("photoprism", "BACKEND", "backend", server, "", 3, 1180, 12, 4, 0),
    ]  # fmt: skip


def _cert(days_left: int = 60, due: bool = False) -> CertificateStatus:
    return CertificateStatus(**{
        "domain": "photos.example.com", "names": ["photos.example.com"], "source": "local-ca",
        "issuer": "stackctl photoprism CA", "serial": "4f2a9c0d11e2b3a4c5d6e7f8091a2b3c", "key_type": "ecdsa-p256",
        "not_before": "2026-11-01T00:00:00Z", "not_after": "2027-01-30T00:00:00Z", "days_left": days_left,
        "renew_after": "2026-12-31T00:00:00Z", "due": due, "fingerprint_sha256": "AB:CD",
        "path": "certs/sites/photos.example.com/cert.pem",
        "last_renewal": {"time": "2026-11-01T00:00:05Z", "result": "ok", "path": "runtime-api", "duration_s": 0.4},
    })  # fmt: skip


def _probe(ok: bool = True) -> ProbeResult:
    checks = [
        Check("certificate", True, "trusted, valid for photos.example.com"),
        Check("status", ok, "GET /api/v1/status -> " + ("200" if ok else "503")),
        Check("served_certificate", True, "serving 4f2a9c0d11e2b3a4c5d6e7f8091a2b3c"),
    ]
    return ProbeResult("https://photos.example.com/", checks, tls_version="TLSv1.3", alpn="h2")


def _snapshot(**kwargs: Any) -> StatusSnapshot:
    base: dict[str, Any] = {
        "stack": "photoprism", "domain": "photos.example.com", "generated_at": AT,
        "containers": _containers(), "backends": _backends(), "certificates": [_cert()],
        "probe": _probe(), "drift": [],
    }  # fmt: skip
    base.update(kwargs)
    return StatusSnapshot(**base)


SNAPSHOTS = {
    "healthy": _snapshot(),
    "photoprism-down": _snapshot(containers=_containers("exited"), backends=_backends("DOWN"), probe=_probe(False)),
    "certificate-due": _snapshot(certificates=[_cert(days_left=5, due=True)]),
    "docker-unreachable": _snapshot(
        containers=None,
        drift=["compose/compose.yaml"],
        unknown={"containers": "failed to connect to the Docker engine at unix:///var/run/docker.sock"},
    ),
    "source-timed-out": _snapshot(backends=None, unknown={"haproxy": "no answer within 2s"}),
    "never-started": _snapshot(
        containers=[
            ContainerStatus(s, f"photoprism-{s}-1", None, "missing", None, None, 0, None)
            for s in ("mariadb", "photoprism", "haproxy")
        ],
        backends=None,
        probe=None,
        certificates=[],
        unknown={"haproxy": "failed to reach the HAProxy runtime API", "probe": "connection refused"},
    ),
}


def _render(snapshot: StatusSnapshot) -> str:
    out = io.StringIO()
    Console(file=out, width=80, color_system=None, force_terminal=False).print(build_dashboard(snapshot))
    return out.getvalue()


@pytest.mark.parametrize("name", sorted(SNAPSHOTS))
def test_dashboard_matches_golden_at_80_columns(name: str, update_golden: bool) -> None:
    text = _render(SNAPSHOTS[name])
    golden = GOLDEN / f"{name}.txt"
    if update_golden:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(text)
    assert text == golden.read_text(), f"dashboard {name} differs from {golden}"
    assert max(len(line) for line in text.splitlines()) <= 80


def test_verdicts_say_what_is_wrong_first() -> None:
    assert SNAPSHOTS["healthy"].verdict == "healthy" and SNAPSHOTS["healthy"].healthy
    down = SNAPSHOTS["photoprism-down"].verdict
    assert down.startswith("degraded: photoprism exited") and "backend photoprism/photoprism DOWN" in down
    assert SNAPSHOTS["certificate-due"].verdict == "degraded: certificate due, expires in 5 days"
    assert SNAPSHOTS["docker-unreachable"].verdict.startswith("degraded: Docker unreachable")
    assert "haproxy unknown (no answer within 2s)" in SNAPSHOTS["source-timed-out"].verdict
    assert SNAPSHOTS["never-started"].verdict.startswith("down: not running")
    for snapshot in SNAPSHOTS.values():
        data = snapshot.as_json()
        assert {
            "healthy",
            "verdict",
            "containers",
            "backends",
            "certificates",
            "probe",
            "drift",
            "generated_at",
        } <= set(data)


def test_a_hanging_source_is_unknown_and_does_not_hang_the_command(
    stack_dir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A runtime socket that accepts and never answers, and no Docker engine: status still returns."""
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")
    sock_dir = stack_dir / "run" / "haproxy"
    sock_dir.mkdir(parents=True)
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(sock_dir / "admin.sock"))
    server.listen()
    held: list[socket.socket] = []
    threading.Thread(target=lambda: held.append(server.accept()[0]), daemon=True).start()
    started = time.monotonic()
    result = run_cli("--dir", str(stack_dir), "status", "--json")
    elapsed = time.monotonic() - started
    server.close()
    assert result.code == 1
    assert elapsed < 8
    import json

    data = json.loads(result.out)
    assert data["healthy"] is False and "Docker unreachable" in data["verdict"]
    assert "no answer within" in data["unknown"]["haproxy"] or "timed out" in data["unknown"]["haproxy"]


def _swarm_tasks(haproxy_state: str = "running", error: str | None = None) -> list[ContainerStatus]:
    return [
        ContainerStatus("mariadb", "photoprism_mariadb", "mariadb:11", "running", None, 7200, 0, None, "node-a"),
        ContainerStatus("haproxy", "photoprism_haproxy", "haproxy:3.2", "running", None, 7100, 0, None, "node-a"),
        ContainerStatus("haproxy", "photoprism_haproxy", "haproxy:3.2", haproxy_state, None, None, 2, None, "node-b",
                        error),
    ]  # fmt: skip


def test_swarm_dashboard_shows_tasks_per_node_and_each_edge_node() -> None:
    snapshot = _snapshot(containers=_swarm_tasks(), edges={"127.0.0.1": _probe(), "10.0.0.2": _probe()},
                         on_edge_nodes=True)  # fmt: skip
    text = _render(snapshot)
    assert "Services (Swarm tasks)" in text and "Edge nodes (HTTPS)" in text
    assert "node-b" in text and "10.0.0.2" in text
    assert snapshot.healthy


def test_swarm_verdict_names_the_failing_task_and_edge_node() -> None:
    snapshot = _snapshot(
        containers=_swarm_tasks("failed", "port 443 is already in use"),
        edges={"127.0.0.1": _probe(), "10.0.0.2": _probe(ok=False)},
        on_edge_nodes=True,
    )
    assert "haproxy task on node-b failed (port 443 is already in use)" in snapshot.verdict
    assert "edge node 10.0.0.2: HTTPS failed" in snapshot.verdict
    assert "port 443 is already in use" in _render(snapshot)


def test_a_dual_stack_dashboard_shows_https_on_each_address_and_names_the_one_that_fails() -> None:
    snapshot = _snapshot(edges={"127.0.0.1": _probe(), "::1": _probe(ok=False)})
    text = _render(snapshot)
    assert "Containers" in text and "Addresses (HTTPS)" in text and "Swarm" not in text
    assert "address ::1: HTTPS failed" in snapshot.verdict and not snapshot.healthy


def _with(service: str, **changes: Any) -> list[ContainerStatus]:
    return [replace(c, **changes) if c.service == service else c for c in _containers()]


def test_a_recent_crash_is_named_but_a_healed_stack_stays_healthy() -> None:
    crashed = LastExit(137, False, "2026-11-27T11:58:00Z", 120.0)
    snapshot = _snapshot(containers=_with("haproxy", restarts=1, last_exit=crashed, restart_policy="always"))
    assert snapshot.healthy
    assert snapshot.verdict == "healthy; noted: haproxy restarted 2m ago, exit code 137"
    assert "haproxy last exited 2m ago, exit code 137" in _render(snapshot)
    data = snapshot.as_json()
    assert data["notices"] == ["haproxy restarted 2m ago, exit code 137"]
    assert data["containers"][2]["restarts"] == 1 and data["containers"][2]["last_exit"]["code"] == 137


def test_an_old_crash_is_shown_but_not_named_and_repeats_are_counted() -> None:
    old = LastExit(0, False, "2026-11-27T10:00:00Z", 7200.0)
    assert _snapshot(containers=_with("mariadb", last_exit=old)).verdict == "healthy"
    oom = LastExit(None, True, "2026-11-27T11:59:30Z", 30.0)
    verdict = _snapshot(containers=_with("photoprism", restarts=4, last_exit=oom)).verdict
    assert verdict == "healthy; noted: photoprism restarted 4 times, last 30s ago, OOM-killed"


def test_a_crash_loop_and_a_policy_that_may_not_restart_are_problems() -> None:
    looping = _with("photoprism", state="restarting", restarts=6, last_exit=LastExit(1, False, AT, 3.0))
    verdict = _snapshot(containers=looping).verdict
    assert verdict.startswith("degraded: photoprism keeps restarting (6 restarts, last exit 3s ago, exit code 1)")
    marked = _snapshot(containers=_with("haproxy", restart_policy="unless-stopped"))
    assert not marked.healthy
    assert "haproxy may not be restarted after a crash or reboot (restart policy unless-stopped): run stackctl up" in (
        marked.verdict
    )
