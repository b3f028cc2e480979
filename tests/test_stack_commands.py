"""up's companions on both stack shapes, through the fakes: `verify` against a stack served by the real
haproxy, `down` naming what the engine runs a service as, and Swarm's task rows for `status`."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path

import pytest

from stackctl.config.layout import StackPaths
from stackctl.config.spec import load_spec, spec_from_data
from stackctl.core.errors import OperationFailed
from stackctl.engines.base import ContainerInfo
from stackctl.engines.swarm.describe import task_rows
from stackctl.engines.swarm.tasks import TaskInfo
from stackctl.flows.schedule_host import SchedulerHost
from stackctl.flows.up import up
from tests.fakes import FakeEngine, FakeSwarmEngine, fake_edges
from tests.helpers import free_port, run_cli
from tests.live_stack import DOMAIN, live_stack
from tests.standin import http_standin


@pytest.mark.parametrize(("shape", "engine_class"), [("", FakeEngine), ("engine: swarm\n", FakeSwarmEngine)])
def test_verify_checks_every_site_where_the_engine_says_the_stack_answers(
    tmp_path: Path, shape: str, engine_class: type[FakeEngine]
) -> None:
    with live_stack(tmp_path, shape) as (paths, _):
        edges = fake_edges(engine_class(paths.root))
        result = run_cli("--dir", str(paths.root), "verify", "--json", edges=edges)
        plain = run_cli("--dir", str(paths.root), "verify", edges=edges)
    assert result.code == 0, result.out
    document = json.loads(result.out)
    assert list(document["sites"]) == [DOMAIN] and document["ok"] is True
    assert plain.code == 0 and plain.out.rstrip().endswith("verified")


SHAPES = [("", FakeEngine, "containers"), ("engine: swarm\n", FakeSwarmEngine, "services")]


@pytest.mark.parametrize(("shape", "engine_class", "units"), SHAPES)
def test_down_removes_what_runs_and_says_so_in_the_engines_words(
    tmp_path: Path, shape: str, engine_class: type[FakeEngine], units: str
) -> None:
    with live_stack(tmp_path, shape) as (paths, _):
        engine = engine_class(paths.root, running={"haproxy": ContainerInfo("haproxy", "h", "running", "x")})
        first = run_cli("--dir", str(paths.root), "down", edges=fake_edges(engine))
        again = run_cli("--dir", str(paths.root), "down", edges=fake_edges(engine))
    assert first.code == 0 and "Stack live is down. Photos, storage and database folders are kept." in first.out
    assert again.code == 0 and again.out.strip() == f"Stack live has no {units}."


def _task(service: str, node: str, state: str, desired: str, since: str, code: int | None = None) -> TaskInfo:
    return TaskInfo(service, node, state, desired, "", "haproxy:3.2@sha256:00", since, code)


def test_swarm_rows_name_each_task_its_node_a_missing_service_and_the_last_crash_on_that_node() -> None:
    spec = spec_from_data({"domain": DOMAIN, "engine": "swarm", "name": "live"})
    tasks = [
        _task("haproxy", "node-a", "running", "running", "2026-11-29T10:00:00Z"),
        _task("haproxy", "node-b", "running", "running", "2026-11-29T10:00:00Z"),
        _task("haproxy", "node-a", "failed", "shutdown", "2026-11-29T09:59:00Z", 137),
        _task("haproxy", "node-b", "failed", "shutdown", "2026-11-29T09:00:00Z", 1),
        _task("mariadb", "node-a", "running", "running", "2026-11-29T08:00:00Z"),
    ]
    rows = {(r.service, r.node): r for r in task_rows(spec, tasks)}
    assert rows[("photoprism", None)].state == "missing"
    a, b = rows[("haproxy", "node-a")], rows[("haproxy", "node-b")]
    assert (a.name, a.image, a.restarts) == ("live_haproxy", "haproxy:3.2", 2)
    assert a.last_exit is not None and (a.last_exit.code, a.last_exit.at) == (137, "2026-11-29T09:59:00Z")
    assert b.last_exit is not None and b.last_exit.code == 1  # each node's own crash, not the other's
    assert rows[("mariadb", "node-a")].last_exit is None


def _two_photoprism_sites(root: Path, shape: str) -> tuple[StackPaths, int]:
    assert run_cli("--dir", str(root), "init", "--domain", "a.example.com").code == 0
    assert run_cli("--dir", str(root), "sites", "add", "b.example.com").code == 0
    http = free_port()
    text = (root / "stack.yaml").read_text()
    for old, new in ((" http: 80 ", f" http: {http} "), (" https: 443\n", f" https: {free_port()}\n"),
                     (" stats: 8404 ", f" stats: {free_port()} ")):  # fmt: skip
        text = text.replace(old, new)
    (root / "stack.yaml").write_text(text + shape)
    return StackPaths(root), http


@pytest.mark.parametrize(("shape", "engine_class"), [("", FakeEngine), ("engine: swarm\n", FakeSwarmEngine)])
def test_up_gives_each_photoprism_site_a_database_through_mariadbs_container(
    tmp_path: Path, shape: str, engine_class: type[FakeEngine]
) -> None:
    paths, http = _two_photoprism_sites(tmp_path / "stack", shape)
    engine, lines = engine_class(paths.root), []
    with http_standin(http):
        up(paths, load_spec(paths.spec), 30, fake_edges(engine), lines.append, lambda *a: None, verify=False)
    assert engine.ran == ["mariadb"]
    assert "database and user ready for a.example.com, b.example.com" in lines


def test_on_swarm_the_sites_databases_need_mariadbs_task_on_this_node(tmp_path: Path) -> None:
    paths, http = _two_photoprism_sites(tmp_path / "stack", "engine: swarm\n")
    engine = FakeSwarmEngine(paths.root, elsewhere={"mariadb"})
    with http_standin(http), pytest.raises(OperationFailed) as caught:
        up(paths, load_spec(paths.spec), 30, fake_edges(engine), print, lambda *a: None, verify=False)
    assert caught.value.message.startswith("MariaDB runs on another node")
    assert caught.value.hint == "run stackctl up on the node labeled stackctl.data=true"


@pytest.mark.parametrize(("shape", "engine_class"), [("", FakeEngine), ("engine: swarm\n", FakeSwarmEngine)])
def test_status_gathers_what_the_engine_describes_with_haproxys_stats_and_live_https(
    tmp_path: Path, shape: str, engine_class: type[FakeEngine]
) -> None:
    services = ("mariadb", "photoprism", "haproxy")
    running = {s: ContainerInfo(s, f"live-{s}-1", "running", "x") for s in services}
    with live_stack(tmp_path, shape) as (paths, _):
        edges = fake_edges(engine_class(paths.root, running=running))
        result = run_cli("--dir", str(paths.root), "status", "--json", edges=edges)
        board = run_cli("--dir", str(paths.root), "status", edges=edges)
    snapshot = json.loads(result.out)
    assert [c["service"] for c in snapshot["containers"]] == ["mariadb", "photoprism", "haproxy"]
    assert any(b["proxy"] == "photoprism" and b["status"] == "UP" for b in snapshot["backends"])
    assert snapshot["probe"]["ok"] is True and snapshot["sites"][0]["domain"] == DOMAIN
    assert (snapshot["edges"] is not None) == (engine_class is FakeSwarmEngine)
    assert board.code == result.code and board.out.startswith(f"stackctl status: live ({DOMAIN})")


@pytest.mark.parametrize(("shape", "engine_class"), [("", FakeEngine), ("engine: swarm\n", FakeSwarmEngine)])
def test_up_ends_with_every_check_and_ready_at_the_sites_url(
    tmp_path: Path, shape: str, engine_class: type[FakeEngine]
) -> None:
    with live_stack(tmp_path, shape) as (paths, spec):
        result = run_cli("--dir", str(paths.root), "up", edges=fake_edges(engine_class(paths.root)))
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    ready = next(i for i, line in enumerate(lines) if line.startswith("Ready: "))
    assert f"Ready: https://{DOMAIN}:{spec.ports.https}/ (" in lines[ready]
    assert "websocket" in result.out  # the check's lines, one site: every check
    steps = lines[ready + 1 :]  # what to do next: trust, log in, schedule; at most five lines with Ready
    assert len(steps) == 3 and "stackctl certs ca" in steps[0] and "stackctl secrets show admin" in steps[1]
    assert "schedule install" in steps[2] or "Renewal runs by itself" in steps[2]


def test_an_unreadable_schedule_file_leaves_up_successful_and_says_it_cannot_tell(tmp_path: Path) -> None:
    with live_stack(tmp_path / "s", "") as (paths, spec):
        cron_d = tmp_path / "etc/cron.d"
        cron_d.mkdir(parents=True)
        os.mkfifo(cron_d / f"stackctl-{spec.name}")  # a FIFO where the cron file would be: never read
        edges = replace(fake_edges(FakeEngine(paths.root)), scheduler=SchedulerHost(tmp_path / "etc", lambda: False))
        result = run_cli("--dir", str(paths.root), "up", edges=edges)
    assert result.code == 0, result.err
    assert result.out.splitlines()[-1].startswith("Whether renewal runs by itself is unknown: ")


def test_sites_list_shows_each_sites_app_tls_and_container(tmp_path: Path) -> None:
    root = tmp_path / "stack"
    assert run_cli("--dir", str(root), "init", "--domain", "a.example.com").code == 0
    assert (
        run_cli("--dir", str(root), "sites", "add", "media.example.com", "--image", "nginx:1.27", "--port", "80").code
        == 0
    )
    assert (
        run_cli("--dir", str(root), "sites", "add", "nas.example.com", "--upstream", "http://192.168.1.5:5000").code
        == 0
    )
    rows = [line.split() for line in run_cli("--dir", str(root), "sites").out.splitlines()]
    assert rows[0] == ["domain", "aliases", "app", "tls", "container"]
    assert rows[1][:4] == ["a.example.com", "-", "PhotoPrism", "local-ca"]
    assert rows[2][:4] == ["media.example.com", "-", "nginx:1.27", "local-ca"] and rows[3] == ["(port", "80)"]
    assert rows[4][0] == "nas.example.com" and rows[4][-1] == "-"  # reached by its address: no container


def test_the_dashboard_of_several_sites_has_a_row_per_site_with_what_is_wrong(tmp_path: Path) -> None:
    paths, _ = _two_photoprism_sites(tmp_path / "stack", "")
    assert run_cli("--dir", str(paths.root), "certs", "create", "--site", "a.example.com").code == 0
    result = run_cli("--dir", str(paths.root), "status", edges=fake_edges(FakeEngine(paths.root)))
    assert result.code == 1
    rows = {
        line.split()[0]: line
        for line in result.out.splitlines()
        if line.split()[:1] in (["a.example.com"], ["b.example.com"])
    }
    assert set(rows) == {"a.example.com", "b.example.com"}
    assert "FAIL" in rows["a.example.com"] and "none" in rows["b.example.com"]  # b has no certificate yet


def test_verify_of_several_sites_prints_a_line_each_and_the_checks_of_each_that_failed(tmp_path: Path) -> None:
    paths, _ = _two_photoprism_sites(tmp_path / "stack", "")
    result = run_cli("--dir", str(paths.root), "verify", edges=fake_edges(FakeEngine(paths.root)))
    assert result.code == 1
    assert result.out.rstrip().endswith("verification FAILED for a.example.com, b.example.com")
    assert sum("TLS handshake with 127.0.0.1" in line for line in result.out.splitlines()) == 2
