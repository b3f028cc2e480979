"""`secrets rotate database` refuses what it cannot do before anything changes, and moves a backend's
traffic in the one order that drops no request (the real run is in the docker tier)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from stackctl.core.clock import Deadline
from stackctl.core.errors import OperationFailed
from stackctl.flows.handover import NEXT_SERVER, move_traffic
from tests.bad_input.conftest import Folder
from tests.fakes import FakeRuntimeApi


def _edit(folder: Folder, **top: object) -> None:
    data = yaml.safe_load((folder.root / "stack.yaml").read_text())
    data.update(top)
    (folder.root / "stack.yaml").write_text(yaml.safe_dump(data))


def test_swarm_is_refused_with_the_reason(folder: Folder) -> None:
    _edit(folder, engine="swarm")
    folder.refuses("secrets", "rotate", "database", fragment="not available with engine: swarm")


def test_sqlite_has_no_password_to_rotate(folder: Folder) -> None:
    _edit(folder, database={"kind": "sqlite"})
    folder.refuses("secrets", "rotate", "database", fragment="a SQLite database has no password")


def test_a_site_that_is_not_photoprism_is_refused(folder: Folder) -> None:
    data = yaml.safe_load((folder.root / "stack.yaml").read_text())
    data["sites"].append({"domain": "media.example.com", "upstream": {"url": "http://192.0.2.1:8096"}})
    (folder.root / "stack.yaml").write_text(yaml.safe_dump(data))
    folder.refuses("secrets", "rotate", "database", "--site", "media.example.com", fragment="not a PhotoPrism site")
    folder.refuses("secrets", "rotate", "database", "--site", "nobody.example.com", fragment="no such site")


def test_traffic_moves_to_a_temporary_server_before_the_configured_one_changes(tmp_path: Path) -> None:
    runtime = FakeRuntimeApi(None)
    move_traffic(runtime, "photoprism-a", "a", "10.0.0.9", 2342, Deadline(5), lambda line: None)
    assert runtime.server_states == [
        f"photoprism-a/{NEXT_SERVER} added at 10.0.0.9:2342",
        f"photoprism-a/{NEXT_SERVER} ready",  # the new container takes new requests...
        "photoprism-a/a drain",  # ...while the old one finishes its own
        "photoprism-a/a addr 10.0.0.9:2342",
        "photoprism-a/a ready",
        f"photoprism-a/{NEXT_SERVER} drain",
        f"photoprism-a/{NEXT_SERVER} maint",
        f"photoprism-a/{NEXT_SERVER} deleted",
    ]


class _RefusesAddress(FakeRuntimeApi):
    def set_server_address(self, backend: str, server: str, address: str, port: int) -> None:
        if address == "10.0.0.9":
            raise OperationFailed("HAProxy refused to point it there", "look at the log")
        super().set_server_address(backend, server, address, port)


def test_a_refused_move_leaves_the_configured_server_serving_and_no_temporary_one(tmp_path: Path) -> None:
    runtime = _RefusesAddress(None)
    with pytest.raises(OperationFailed, match="refused to point"):
        move_traffic(runtime, "photoprism-a", "a", "10.0.0.9", 2342, Deadline(5), lambda line: None)
    assert runtime.server_states[-4:] == [
        "photoprism-a/a addr 10.0.0.2:2342",  # back where it was
        "photoprism-a/a ready",
        f"photoprism-a/{NEXT_SERVER} maint",
        f"photoprism-a/{NEXT_SERVER} deleted",
    ]
