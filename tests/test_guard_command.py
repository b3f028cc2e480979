"""`stackctl guard unban` and status's banned addresses, against a native HAProxy serving the stack's own
haproxy.cfg: on one host, and on a Swarm with an edge node this node cannot reach."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stackctl.config.layout import StackPaths
from stackctl.config.spec import StackSpec
from tests.fakes import FakeEngine, FakeSwarmEngine, fake_edges
from tests.guard_client import login_at
from tests.helpers import run_cli
from tests.live_stack import DOMAIN, live_stack
from tests.standin import STANDIN_PASSWORD

ATTACKER = "127.0.0.3"
FAILURES = 10  # the default


def _ban(paths: StackPaths, spec: StackSpec) -> None:
    cafile = str(paths.root / "certs/ca/ca.crt")
    statuses = [login_at("127.0.0.1", spec.ports.https, ATTACKER, DOMAIN, cafile, "wrong") for _ in range(FAILURES + 1)]
    assert statuses == [401] * FAILURES + [429]


def _logs_in(paths: StackPaths, spec: StackSpec) -> bool:
    cafile = str(paths.root / "certs/ca/ca.crt")
    return login_at("127.0.0.1", spec.ports.https, ATTACKER, DOMAIN, cafile, STANDIN_PASSWORD) == 200


def test_status_lists_the_banned_address_and_unban_lifts_it_on_one_host(tmp_path: Path) -> None:
    with live_stack(tmp_path) as (paths, spec):
        edges = fake_edges(FakeEngine(paths.root))
        _ban(paths, spec)
        status = run_cli("--dir", str(paths.root), "status", "--json", edges=edges)
        banned = json.loads(status.out)["sites"][0]["login_guard"]["banned"]
        assert [(b["address"], b["failures"], b["ban_seconds"]) for b in banned] == [(ATTACKER, FAILURES, 600)]
        assert 590 <= banned[0]["seconds_left"] <= 600
        board = run_cli("--dir", str(paths.root), "status", edges=edges).out
        assert f"{ATTACKER} for 9m more" in board or f"{ATTACKER} for 10m more" in board

        # The IPv4-mapped form names the same client: the table keeps IPv4 clients that way.
        result = run_cli("--dir", str(paths.root), "guard", "unban", f"::ffff:{ATTACKER}", edges=edges)
        assert result.code == 0, result.err
        assert result.out == f"{DOMAIN}: the ban on {ATTACKER} is lifted, and its failed logins are forgotten\n"
        assert _logs_in(paths, spec)
        again = run_cli("--dir", str(paths.root), "guard", "unban", ATTACKER, edges=edges)
        assert again.code == 0 and again.out.endswith(f"{ATTACKER} had no failed logins; nothing to lift\n")


def test_on_a_swarm_unban_lifts_it_here_and_names_the_edge_node_it_cannot_reach(tmp_path: Path) -> None:
    with live_stack(tmp_path, "engine: swarm\n") as (paths, spec):
        edges = fake_edges(FakeSwarmEngine(paths.root, unreachable=["worker-2 (10.0.0.2)"]))
        _ban(paths, spec)
        result = run_cli("--dir", str(paths.root), "guard", "unban", ATTACKER, edges=edges)
        assert result.code == 1
        assert result.err.startswith(f"error: the ban on {ATTACKER} could not be lifted on worker-2 (10.0.0.2): ")
        assert "lifted on this node: manager-1" in result.err and "on that node too" in result.err
        assert _logs_in(paths, spec), "this node's HAProxy let it in again"


@pytest.mark.parametrize(
    ("extra", "argv", "fragment"),
    [
        ("", ["--site", "other.example.com"], "--site other.example.com: no such site"),
        ("guard: {login: off}\n", [], "no site of this stack has its login guard on"),
        ("guard: {login: off}\n", ["--site", DOMAIN], "its login guard is off"),
    ],
)
def test_unban_refuses_a_site_that_bans_no_one(tmp_path: Path, extra: str, argv: list[str], fragment: str) -> None:
    with live_stack(tmp_path, extra) as (paths, _):
        result = run_cli(
            "--dir", str(paths.root), "guard", "unban", ATTACKER, *argv, edges=fake_edges(FakeEngine(paths.root))
        )
    assert result.code == 2 and result.err.startswith("error: ") and fragment in result.err
    assert result.err.count("\n") == 1 and " — " in result.err
