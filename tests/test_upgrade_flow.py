"""`upgrade` driven through the fakes: FakeEngine stands in for Docker (images, containers, a container
that never becomes healthy), while the HTTPS check after each step is real: the Debian haproxy binary
serves the stack's certificate on loopback in front of a PhotoPrism stand-in."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from stackctl.config.layout import StackPaths
from stackctl.config.spec import StackSpec
from stackctl.core.errors import OperationFailed
from stackctl.engines.base import ContainerInfo, ImageDetails
from stackctl.flows.edges import Edges
from stackctl.flows.upgrade import check_updates, upgrade_waiting
from stackctl.haproxy.runtime_api import socket_path
from stackctl.haproxy.socket_api import SocketRuntimeApi
from tests.fakes import FakeEngine, FakeSwarmEngine, fake_edges
from tests.helpers import run_cli
from tests.live_stack import live_stack

OLD = ImageDetails("sha256:" + "a" * 64, None, "2026-01-01T00:00:00Z", "250101")
NEW = ImageDetails("sha256:" + "b" * 64, None, "2026-11-01T00:00:00Z", "261101")


@dataclass
class Served:
    paths: StackPaths
    spec: StackSpec
    engine: FakeEngine


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    """A stack whose HTTPS answers for real; its PhotoPrism runs OLD, and NEW was pulled."""
    with live_stack(tmp_path) as (paths, spec):
        engine = FakeEngine(paths.root, images={spec.images.photoprism: NEW, OLD.id: OLD, NEW.id: NEW})
        engine.running = {
            "photoprism": ContainerInfo("photoprism", "live-photoprism-1", "running", "h", image_id=OLD.id)
        }
        yield Served(paths, spec, engine)


def _upgrade(served: Served, lines: list[str], real_runtime: bool = False) -> list[str]:
    edges = Edges(engine=lambda spec: served.engine) if real_runtime else fake_edges(served.engine)
    found = check_updates(served.paths, served.spec, ["photoprism"], edges, lambda *progress: None)
    assert [(f.service, f.waiting) for f in found] == [("photoprism", True)]
    done = upgrade_waiting(served.paths, served.spec, found, 30, edges, lines.append)
    return [item.service for item in done]


def _log(paths: StackPaths) -> list[dict[str, object]]:
    return [json.loads(line) for line in (paths.root / "upgrades.jsonl").read_text().splitlines()]


def test_an_upgrade_dumps_the_database_replaces_the_container_and_verifies_https(served: Served) -> None:
    lines: list[str] = []
    assert _upgrade(served, lines, real_runtime=True) == ["photoprism"]
    # HAProxy's real runtime API: the site answered the maintenance page while its container was replaced,
    # and its server is back in service afterwards.
    assert "HAProxy answers the maintenance page while photoprism is replaced" in lines
    stats = SocketRuntimeApi(socket_path(served.paths.run)).stats()
    assert [s.status for s in stats if s.proxy == "photoprism" and s.kind == "server"] == ["UP"]
    engine = served.engine
    assert engine.ran == ["mariadb"]  # the dump, before the new container
    assert any(line.startswith(f"dumped the database of {served.spec.first_site.domain} to ") for line in lines)
    assert [d.name.endswith(".sql") for d in (served.paths.root / "backups").iterdir()] == [True]
    assert engine.applied[-1][-1] == "recreate photoprism"
    assert engine.running["photoprism"].image_id == NEW.id
    last = _log(served.paths)[-1]
    assert (last["event"], last["result"], last["service"]) == ("upgrade", "upgraded", "photoprism")
    # The rollback tag was there during the upgrade and is gone after it.
    assert any(t.startswith("stackctl-rollback/live-photoprism:") for t in engine.tags)
    assert not any(r.startswith("stackctl-rollback/") for r in engine.images)


def test_a_new_image_that_never_becomes_healthy_is_rolled_back_with_its_database(served: Served) -> None:
    engine = served.engine
    engine.unhealthy = {NEW.id}
    lines: list[str] = []
    with pytest.raises(OperationFailed) as caught:
        _upgrade(served, lines)
    message = caught.value.message
    assert message.startswith("upgrading photoprism to bbbbbbbbbbbb (version 261101) failed: photoprism did not")
    assert message.endswith("rolled back to aaaaaaaaaaaa (version 250101) and verified over HTTPS")
    assert engine.ran == ["mariadb", "mariadb"]  # the dump, then the same dump loaded back
    assert engine.running["photoprism"].image_id == OLD.id  # the old image serves again
    assert "remove photoprism" in engine.calls
    last = _log(served.paths)[-1]
    assert (last["event"], last["result"]) == ("rollback", "rolled-back")


def test_a_rollback_that_fails_too_says_so_and_where_the_dump_is(served: Served) -> None:
    engine = served.engine
    engine.unhealthy = {NEW.id, OLD.id}
    with pytest.raises(OperationFailed) as caught:
        _upgrade(served, [])
    message = caught.value.message
    assert "the rollback failed too (photoprism did not become healthy); the dump is " in message
    assert str(served.paths.root / "backups") in message
    assert "the old one (aaaaaaaaaaaa (version 250101)) serves" in caught.value.hint


def test_upgrade_check_exits_100_while_an_update_waits_and_0_after(served: Served) -> None:
    root, engine = str(served.paths.root), served.engine
    result = run_cli("--dir", root, "upgrade", "--check", "photoprism", edges=fake_edges(engine))
    assert result.code == 100, result.err
    assert f"photoprism: update waiting ({served.spec.images.photoprism})" in result.out
    assert "  running:   aaaaaaaaaaaa, version 250101, created 2026-01-01T00:00:00Z" in result.out
    assert result.out.rstrip().endswith("update waiting: photoprism")
    result = run_cli("--dir", root, "upgrade", "photoprism", edges=fake_edges(engine))
    assert result.code == 0, result.err
    assert "Upgraded photoprism; HTTPS verified." in result.out
    engine.images[served.spec.images.mariadb] = OLD
    every = run_cli("--dir", root, "upgrade", "--check", edges=fake_edges(engine)).out.splitlines()
    assert f"mariadb: not running ({served.spec.images.mariadb})" in every  # no container: nothing to compare
    assert f"haproxy: image not here (pull: never) ({served.spec.images.haproxy})" in every
    result = run_cli("--dir", root, "upgrade", "--check", "photoprism", edges=fake_edges(engine))
    assert (result.code, result.out.rstrip().splitlines()[-1]) == (0, "every service runs its newest image")
    status = json.loads(run_cli("--dir", root, "status", "--json", edges=fake_edges(engine)).out)["upgrade"]
    assert status["waiting"] == [] and status["last"]["service"] == "photoprism"
    assert (status["last"]["result"], status["last"]["from"], status["last"]["to"]) == ("upgraded", "250101", "261101")


def test_upgrade_check_on_swarm_compares_what_the_services_run_and_rolls_nothing(tmp_path: Path) -> None:
    with live_stack(tmp_path, "engine: swarm\n") as (paths, spec):
        engine = FakeSwarmEngine(paths.root, images={spec.images.photoprism: NEW, OLD.id: OLD, NEW.id: NEW})
        engine.running = {"photoprism": ContainerInfo("photoprism", "live_photoprism", "running", "h", image_id=OLD.id)}
        result = run_cli("--dir", str(paths.root), "upgrade", "--check", edges=fake_edges(engine))
    assert result.code == 100, result.err
    assert f"photoprism: update waiting ({spec.images.photoprism})" in result.out
    assert engine.applied == [] and engine.deployed_files == []


def test_after_an_upgrade_the_old_image_goes_only_when_this_stack_pulled_it(served: Served) -> None:
    engine, reference = served.engine, served.spec.images.photoprism
    engine.images[reference] = OLD
    engine.pulls = [reference]  # this stack pulled the image it runs now
    check_updates(served.paths, served.spec, ["photoprism"], fake_edges(engine), lambda *progress: None)
    engine.images[reference] = NEW
    lines: list[str] = []
    assert _upgrade(served, lines) == ["photoprism"]
    assert "removed the old image aaaaaaaaaaaa (version 250101)" in lines
    assert f"removed {OLD.id}" in engine.tags
