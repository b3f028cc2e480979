"""certs renew on a running stack: under continuous load, zero failed requests, a new serial served;
both through the runtime API and through the seamless reload; failures keep the old certificate."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from stackctl.certs.store import CertStore
from stackctl.config.spec import load_spec
from stackctl.health.probe import served_serial
from stackctl.health.target import probe_target
from tests.docker.conftest import HAPROXY_IMAGES, Stack, make_stack
from tests.fakes import broken_key_edges
from tests.helpers import hash_tree
from tests.load import renew_under_load

DOMAIN = "photos.example.com"


@pytest.fixture(scope="module", params=HAPROXY_IMAGES, ids=lambda image: image.rsplit(":", 1)[1])
def live(
    request: pytest.FixtureRequest, docker_client: docker.DockerClient, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """A running stack per HAProxy version: renewal through the runtime API and the reload on each."""
    with make_stack(docker_client, tmp_path_factory.mktemp("renew") / "stack", haproxy=request.param) as stack:
        stack.up()
        yield stack


def _served(stack: Stack) -> str | None:
    spec = load_spec(stack.root / "stack.yaml")
    return served_serial(probe_target(spec, spec.first_site, CertStore(stack.root / "certs")))


def _last_history(stack: Stack) -> dict[str, object]:
    lines = (stack.root / "certs" / "renewals.jsonl").read_text().splitlines()
    return dict(json.loads(lines[-1]))


def _renew_under_load(stack: Stack) -> dict[str, object]:
    measured = renew_under_load(stack, stack.ca)
    print(f"renewal under load: {measured}")
    return _last_history(stack)


def test_renew_through_the_runtime_api_drops_no_request(live: Stack) -> None:
    entry = _renew_under_load(live)
    assert entry["path"] == "runtime-api" and entry["result"] == "ok"


def test_renew_through_a_seamless_reload_drops_no_request(live: Stack) -> None:
    sock = live.root / "run" / "haproxy" / "admin.sock"
    hidden = sock.with_name("hidden.sock")
    sock.rename(hidden)  # the runtime API cannot be reached: renewal must fall back to SIGUSR2
    try:
        entry = _renew_under_load(live)
    finally:
        hidden.rename(sock)
    assert entry["path"] == "reload" and entry["result"] == "ok"


def _certs_state(root: Path) -> dict[str, str]:
    return {k: v for k, v in hash_tree(root / "certs").items() if k != "renewals.jsonl"}


def test_a_broken_new_certificate_keeps_the_old_one_served_and_on_disk(live: Stack) -> None:
    before_serial, before_files = _served(live), _certs_state(live.root)
    code, _, err = live.cli("certs", "renew", "--force", edges=broken_key_edges())
    assert code == 1 and "still on disk and served" in err
    assert len(err.strip().splitlines()) == 1
    assert _served(live) == before_serial
    assert _certs_state(live.root) == before_files
    assert str(_last_history(live)["result"]).startswith("failed")


def _on_disk_serial(stack: Stack) -> str | None:
    site = CertStore(stack.root / "certs").read_site(DOMAIN)
    return format(site.leaf.serial_number, "x") if site else None


def test_renewal_that_cannot_reach_haproxy_exits_1_and_keeps_the_old_certificate(
    live: Stack, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Docker unreachable (e.g. no access to its socket) and the runtime socket hidden: HAProxy still
    serves this stack's certificate, so the renewal must not claim success on disk alone."""
    served_before, disk_before, files_before = _served(live), _on_disk_serial(live), _certs_state(live.root)
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")
    sock = live.root / "run" / "haproxy" / "admin.sock"
    hidden = sock.with_name("hidden.sock")
    sock.rename(hidden)
    try:
        code, out, err = live.cli("certs", "renew", "--force")
    finally:
        hidden.rename(sock)
    assert code == 1, out
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and " — " in lines[0], err
    assert "runtime API" in lines[0] and "Docker engine" in lines[0]
    assert "Renewed" not in out
    assert _served(live) == served_before and _on_disk_serial(live) == disk_before
    assert _certs_state(live.root) == files_before
    entry = _last_history(live)
    assert str(entry["result"]).startswith("failed: HAProxy is running but cannot be given the new certificate")
    assert entry["old_serial"] == disk_before


def test_renew_if_due_when_nothing_is_due_is_silent_and_swaps_nothing(live: Stack) -> None:
    before = _served(live)
    code, out, err = live.cli("certs", "renew", "--if-due")
    assert (code, out, err) == (0, "", "")
    assert _served(live) == before


def test_status_and_show_report_the_last_renewal(live: Stack) -> None:
    _, out, _ = live.cli("status", "--json")
    last = json.loads(out)["certificates"][0]["last_renewal"]
    assert last["new_serial"] and last["path"] in ("runtime-api", "reload")
    code, out, _ = live.cli("certs", "show", "--json")
    assert code == 0 and json.loads(out)["certificates"][0]["last_renewal"] == last
    code, out, _ = live.cli("certs", "show")
    assert "last renewal" in out
