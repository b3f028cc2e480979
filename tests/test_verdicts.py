"""The verdict names what is wrong, in the words a user acts on: one case per kind of trouble a
container, a Swarm task or a certificate can be in."""

from __future__ import annotations

import pytest

from stackctl.health.model import ContainerStatus, LastExit, StatusSnapshot, UpgradeStatus
from tests.test_status_render import _cert

RUNNING = [
    ContainerStatus("mariadb", "s-mariadb-1", "mariadb:11", "running", "healthy", 60, 0, None),
    ContainerStatus("haproxy", "s-haproxy-1", "haproxy:3.2", "running", None, 60, 0, None),
]


def _verdict(photoprism: ContainerStatus, **kwargs: object) -> str:
    snapshot = StatusSnapshot("s", "photos.example.com", "2026-11-29T10:00:00Z", [*RUNNING, photoprism], **kwargs)  # type: ignore[arg-type]
    return snapshot.verdict


@pytest.mark.parametrize(
    ("row", "words"),
    [
        (ContainerStatus("photoprism", "s_photoprism", "pp", "rejected", None, None, 0, None, node="node-b",
                         error="no suitable node"), "photoprism task on node-b rejected (no suitable node)"),
        (ContainerStatus("photoprism", "p", "pp", "restarting", None, None, 4, None,
                         last_exit=LastExit(137, True, "2026-11-29T09:59:00Z", 30)),
         "photoprism keeps restarting (4 restarts, last exit 30s ago, OOM-killed)"),
        (ContainerStatus("photoprism", "p", "pp", "exited", None, None, 0, 2), "photoprism exited (exit code 2)"),
        (ContainerStatus("photoprism", "p", "pp", "running", "unhealthy", 60, 0, None), "photoprism unhealthy"),
    ],
    ids=["swarm-task", "restarting", "exited", "unhealthy"],
)  # fmt: skip
def test_a_container_in_trouble_is_named_with_what_happened(row: ContainerStatus, words: str) -> None:
    assert words in _verdict(row)


def test_certificates_that_expired_or_are_due_are_named() -> None:
    ok = ContainerStatus("photoprism", "p", "pp", "running", "healthy", 60, 0, None)
    assert "certificate for photos.example.com expired" in _verdict(ok, certificates=[_cert(days_left=-1)])
    assert "certificate due, expires in 12 days" in _verdict(ok, certificates=[_cert(days_left=12, due=True)])


def test_the_upgrade_line_says_the_last_upgrade_and_what_waits() -> None:
    status = UpgradeStatus({"service": "photoprism", "result": "rolled-back", "time": "T"}, ["mariadb"], "C")
    assert status.describe() == "last: photoprism rolled-back at T; update waiting: mariadb (checked C)"
    assert UpgradeStatus(None, None, None).describe() == "no upgrade yet"
