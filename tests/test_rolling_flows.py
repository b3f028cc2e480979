"""The same flows on the Swarm shape (`engine: swarm`), through FakeSwarmEngine: HAProxy rolls onto new
secrets instead of reloading, and Swarm rolls a failing update back itself. HTTPS is checked for real,
against the Debian haproxy (up, upgrade) or a TLS server holding what HAProxy would serve (renewal).
The swarm tier runs these flows against a real Swarm."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from stackctl.certs.inspect import serial_hex
from stackctl.certs.manage import obtain
from stackctl.certs.store import CertStore
from stackctl.config.layout import StackPaths
from stackctl.config.spec import StackSpec, load_spec
from stackctl.core.clock import utcnow
from stackctl.core.errors import InvalidInput, OperationFailed
from stackctl.engines.base import ContainerInfo
from stackctl.flows.replace_certificate import Replaced, replace_certificate
from stackctl.flows.rolling_upgrade import roll_upgrade
from stackctl.flows.up import up
from tests.fakes import FakeRuntimeApi, FakeSwarmEngine, ServedBundle, fake_edges
from tests.helpers import free_port, run_cli
from tests.live_stack import DOMAIN, live_stack

SWARM = "engine: swarm\n"


def test_up_deploys_the_swarm_form_and_verifies_https_without_a_reload(tmp_path: Path) -> None:
    with live_stack(tmp_path, SWARM) as (paths, spec):
        engine, lines = FakeSwarmEngine(paths.root), []
        outcome = up(paths, spec, 30, fake_edges(engine), lines.append, lambda *progress: None)
    assert outcome.probe is not None and outcome.probe.ok, outcome.probe
    assert list(outcome.site_probes) == [DOMAIN]
    assert engine.applied == [["mariadb", "photoprism", "haproxy"]]
    assert engine.checked_configs == [] and not any(c.startswith("reload") for c in engine.calls)
    compose = yaml.safe_load((paths.root / "compose/compose.yaml").read_text())
    assert set(compose["secrets"]) and all(s.get("external") for s in compose["secrets"].values())
    assert engine.deployed_files[0]["compose/compose.yaml"] == (paths.root / "compose/compose.yaml").read_text()
    assert "wrote compose/compose.yaml" in lines


def test_an_upgrade_swarm_rolls_back_loads_the_dump_back_and_says_so(tmp_path: Path) -> None:
    with live_stack(tmp_path, SWARM) as (paths, spec):
        engine = FakeSwarmEngine(paths.root, rolls_back={"photoprism"})
        lines: list[str] = []
        with pytest.raises(OperationFailed) as caught:
            roll_upgrade(paths, spec, ["photoprism"], 30, fake_edges(engine), lines.append, lambda *progress: None)
    message = caught.value.message
    assert message.startswith("Swarm rolled back live_photoprism: its new task failed (task: non-zero exit (1))")
    assert "the previous image serves again (HTTPS verified)" in message
    assert f"the database of {DOMAIN} is back as it was before" in message
    assert f"the dumps are kept in {paths.root / 'backups'}" in message
    assert engine.ran == ["mariadb", "mariadb"]  # the dump, then loading it back through MariaDB's client
    assert "docker service ps --no-trunc live_photoprism" in caught.value.hint


def test_an_upgrade_swarm_rolls_back_says_which_dump_it_could_not_load_back(tmp_path: Path) -> None:
    with live_stack(tmp_path, SWARM) as (paths, spec):
        engine = FakeSwarmEngine(paths.root, rolls_back={"photoprism"})
        original = engine.run_in

        def fails_the_second(spec: StackSpec, service: str, argv: list[str], stdin: Path | None = None,
                             stdout: Path | None = None) -> None:  # fmt: skip
            if stdin is not None:
                engine.failing[service] = "ERROR 1045: access denied"
            original(spec, service, argv, stdin, stdout)

        engine.run_in = fails_the_second  # type: ignore[method-assign]
        with pytest.raises(OperationFailed) as caught:
            roll_upgrade(paths, spec, ["photoprism"], 30, fake_edges(engine), print, lambda *progress: None)
    message = caught.value.message
    assert "loading the database back failed (" in message and "ERROR 1045: access denied" in message
    assert f"load {paths.root / 'backups'}" in message


def test_an_upgrade_rolls_each_chosen_service_and_names_an_unknown_one(tmp_path: Path) -> None:
    with live_stack(tmp_path, SWARM) as (paths, spec):
        engine = FakeSwarmEngine(paths.root)
        rolled = roll_upgrade(paths, spec, ["haproxy"], 30, fake_edges(engine), print, lambda *progress: None)
        assert rolled == ["haproxy"] and engine.ran == []  # HAProxy changes no database: no dump
        with pytest.raises(InvalidInput, match="no service 'nginx'"):
            roll_upgrade(paths, spec, ["nginx"], 30, fake_edges(engine), print, lambda *progress: None)


def _renew_on_swarm(tmp_path: Path, api_answers: bool, unreachable: list[str]) -> tuple[Replaced, FakeSwarmEngine]:
    with ServedBundle(b"") as served:
        root = tmp_path / "stack"
        assert run_cli("--dir", str(root), "init", "--domain", DOMAIN).code == 0
        (root / "stack.yaml").write_text(
            f"name: live\ndomain: {DOMAIN}\n{SWARM}"
            f"ports: {{http: {free_port()}, https: {served.port}, stats: {free_port()}}}\n"
        )
        assert run_cli("--dir", str(root), "certs", "create").code == 0
        paths = StackPaths(root)
        spec = load_spec(paths.spec)
        store = CertStore(paths.certs)
        served.bundle = store.bundle(DOMAIN).read_bytes()
        running = {"haproxy": ContainerInfo("haproxy", "live_haproxy", "running", "x")}
        engine = FakeSwarmEngine(root, served, running, unreachable=unreachable)
        edges = fake_edges(engine, FakeRuntimeApi(served, answering=api_answers))
        site = spec.first_site
        replaced = replace_certificate(
            paths, spec, site, lambda: obtain(store, spec, site, utcnow(), edges.issuer_for), "test", edges
        )
    leaf = store.read_site(DOMAIN)
    assert leaf is not None and replaced.new_serial == serial_hex(leaf.leaf)  # proven served at every address
    assert replaced.old_serial != replaced.new_serial and engine.applied == [["haproxy"]]
    return replaced, engine


def test_a_renewal_on_swarm_hands_the_certificate_to_haproxy_live_and_keeps_its_tasks(tmp_path: Path) -> None:
    replaced, engine = _renew_on_swarm(tmp_path, api_answers=True, unreachable=[])
    assert replaced.path == "runtime-api" and replaced.note is None
    assert engine.held == [True]  # the new secret is created, the tasks take it at their next roll


def test_a_renewal_rolls_haproxy_when_an_edge_nodes_runtime_api_is_out_of_reach(tmp_path: Path) -> None:
    replaced, engine = _renew_on_swarm(tmp_path, api_answers=True, unreachable=["edge-2"])
    assert replaced.path == "swarm-roll" and engine.held == [False]
    assert replaced.note is not None and "the runtime API of HAProxy on edge-2 cannot be reached" in replaced.note


def test_a_renewal_rolls_haproxy_when_this_nodes_runtime_api_does_not_answer(tmp_path: Path) -> None:
    replaced, engine = _renew_on_swarm(tmp_path, api_answers=False, unreachable=[])
    assert replaced.path == "swarm-roll" and engine.held == [False]
    assert replaced.note is not None and "manager-1 (no answer on the socket)" in replaced.note


def test_a_renewal_on_swarm_without_a_manager_to_ask_fails_and_keeps_the_served_certificate(tmp_path: Path) -> None:
    with ServedBundle(b"") as served:
        root = tmp_path / "stack"
        assert run_cli("--dir", str(root), "init", "--domain", DOMAIN).code == 0
        ports = f"ports: {{http: {free_port()}, https: {served.port}, stats: {free_port()}}}\n"
        (root / "stack.yaml").write_text(f"name: live\ndomain: {DOMAIN}\n{SWARM}{ports}")
        assert run_cli("--dir", str(root), "certs", "create").code == 0
        store = CertStore(root / "certs")
        served.bundle = store.bundle(DOMAIN).read_bytes()
        before = store.read_site(DOMAIN)
        result = run_cli("--dir", str(root), "certs", "renew", "--force", edges=fake_edges())  # no engine answers
    assert result.code == 1
    assert "HAProxy is serving but the Swarm cannot be asked about it: failed to connect" in result.err
    after = store.read_site(DOMAIN)
    assert before is not None and after is not None and serial_hex(after.leaf) == serial_hex(before.leaf)


def test_the_upgrade_command_on_swarm_says_what_swarm_rolled(tmp_path: Path) -> None:
    with live_stack(tmp_path, SWARM) as (paths, _):
        engine = FakeSwarmEngine(paths.root)
        rolled = run_cli("--dir", str(paths.root), "upgrade", "haproxy", edges=fake_edges(engine))
        engine.rolls_back = {"haproxy"}
        refused = run_cli("--dir", str(paths.root), "upgrade", "haproxy", edges=fake_edges(engine))
    assert rolled.code == 0 and rolled.out.rstrip().endswith("Swarm rolled haproxy onto the new image")
    assert refused.code == 1 and refused.err.startswith("error: Swarm rolled back live_haproxy: its new task failed")
