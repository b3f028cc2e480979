"""The flows driven with fake edges: `up` against FakeEngine, `replace_certificate` against
FakeRuntimeApi/FakeEngine and a real TLS handshake with ServedBundle (what HAProxy would serve).
The docker tier runs the same flows against the real engine and HAProxy."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from stackctl.certs.inspect import serial_hex
from stackctl.certs.manage import obtain
from stackctl.certs.store import CertStore
from stackctl.config.layout import StackPaths
from stackctl.config.spec import StackSpec, load_spec
from stackctl.core.clock import utcnow
from stackctl.core.errors import OperationFailed
from stackctl.engines.base import ContainerInfo
from stackctl.flows.edges import Edges
from stackctl.flows.replace_certificate import replace_certificate
from stackctl.flows.up import up
from stackctl.health.probe import served_serial
from stackctl.health.target import probe_target
from stackctl.render.haproxy import config_id
from tests.fakes import FakeEngine, FakeRuntimeApi, ServedBundle, fake_edges
from tests.helpers import free_port, hash_tree, run_cli
from tests.standin import http_standin

DOMAIN = "photos.example.com"


def _stack(root: Path, https: int, http: int) -> tuple[StackPaths, StackSpec]:
    assert run_cli("--dir", str(root), "init", "--domain", DOMAIN).code == 0
    (root / "stack.yaml").write_text(
        f"name: flows\ndomain: {DOMAIN}\n"
        f"ports: {{http: {http}, https: {https}, bind: 127.0.0.1, stats: {free_port()}}}\n"
    )
    paths = StackPaths(root)
    return paths, load_spec(paths.spec)


def _history(paths: StackPaths) -> dict[str, object]:
    return dict(json.loads((paths.certs / "renewals.jsonl").read_text().splitlines()[-1]))


def _served(spec: StackSpec, paths: StackPaths) -> str | None:
    return served_serial(probe_target(spec, spec.first_site, CertStore(paths.certs), timeout=2.0))


def _renew(paths: StackPaths, spec: StackSpec, edges: Edges) -> object:
    store = CertStore(paths.certs)
    site = spec.first_site
    return replace_certificate(
        paths, spec, site, lambda: obtain(store, spec, site, utcnow(), edges.issuer_for), "test", edges
    )


# --- up ---------------------------------------------------------------------------------------


def test_up_checks_then_applies_in_order_and_waits_for_the_published_port(tmp_path: Path) -> None:
    http = free_port()
    paths, spec = _stack(tmp_path / "stack", free_port(), http)
    engine, lines = FakeEngine(tmp_path / "stack"), []
    with http_standin(http):
        outcome = up(paths, spec, 30, fake_edges(engine), lines.append, lambda *a: None, verify=False)
    assert engine.calls[:2] == [f"images missing {spec.images.mariadb} {spec.images.photoprism} {spec.images.haproxy}",
                                "ports"]  # fmt: skip
    assert engine.applied == [["mariadb", "photoprism", "haproxy"]] and outcome.probe is None
    assert engine.checked_configs == [(paths.haproxy_cfg).read_text()]  # the config checked is the one written
    assert CertStore(paths.certs).read_site(DOMAIN) is not None
    assert any(line.startswith("Issued a certificate") for line in lines)
    assert oct(paths.certs.stat().st_mode & 0o777) == "0o700"

    engine.checked_configs.clear()  # a second up with nothing changed checks and writes nothing again
    with http_standin(http):
        up(paths, spec, 30, fake_edges(engine), lines.append, lambda *a: None, verify=False)
    assert engine.checked_configs == []


def test_a_config_the_image_rejects_changes_no_file_and_no_container(tmp_path: Path) -> None:
    paths, spec = _stack(tmp_path / "stack", free_port(), free_port())
    engine = FakeEngine(tmp_path / "stack", reject_config="unknown keyword")
    assert run_cli("--dir", str(paths.root), "certs", "create").code == 0
    before = hash_tree(paths.root)
    with pytest.raises(OperationFailed, match="rejects the HAProxy configuration"):
        up(paths, spec, 30, fake_edges(engine), lambda line: None, lambda *a: None, verify=False)
    assert engine.applied == []
    # No file changes (empty mount folders may have been made for the check's one-off container).
    files = {k: v for k, v in hash_tree(paths.root).items() if not v.startswith("dir")}
    assert files == {k: v for k, v in before.items() if not v.startswith("dir")}


def _running_stack(tmp_path: Path, http: int) -> tuple[StackPaths, StackSpec, FakeEngine, FakeRuntimeApi]:
    """A stack `up` has started once: its HAProxy's worker reports the config on disk."""
    paths, spec = _stack(tmp_path / "stack", free_port(), http)
    runtime = FakeRuntimeApi(None)
    engine = FakeEngine(paths.root, runtime=runtime)
    with http_standin(http):
        up(paths, spec, 30, fake_edges(engine, runtime), lambda line: None, lambda *a: None, verify=False)
    runtime.config_id = config_id(paths.haproxy_cfg.read_text())
    return paths, spec, engine, runtime


def _with_alias(paths: StackPaths) -> StackSpec:
    paths.spec.write_text(paths.spec.read_text() + "aliases: [photo.example.com]\n")
    return load_spec(paths.spec)


def test_a_config_change_reloads_the_kept_haproxy_and_confirms_the_new_config(tmp_path: Path) -> None:
    http = free_port()
    paths, _, engine, runtime = _running_stack(tmp_path, http)
    spec, lines = _with_alias(paths), []
    with http_standin(http):
        up(paths, spec, 30, fake_edges(engine, runtime), lines.append, lambda *a: None, verify=False)
    assert engine.calls[-1] == "reload flows-haproxy-1" and "reloaded haproxy (config changed)" in lines
    assert not any(line.startswith("recreating") for line in lines)
    assert runtime.config_id == config_id(paths.haproxy_cfg.read_text())
    assert "photo.example.com photoprism" in (paths.haproxy_folder / "hosts.map").read_text()
    assert "photo.example.com" in engine.checked_folders[-1]["hosts.map"]  # checked in the image before it was written

    engine.calls.clear()  # nothing changed: nothing reloads
    with http_standin(http):
        up(paths, spec, 30, fake_edges(engine, runtime), lines.append, lambda *a: None, verify=False)
    assert not any(call.startswith("reload") for call in engine.calls)


def test_an_unconfirmed_reload_puts_the_old_config_back_and_fails(tmp_path: Path) -> None:
    http = free_port()
    paths, _, engine, runtime = _running_stack(tmp_path, http)
    before, live_before = paths.haproxy_cfg.read_text(), runtime.config_id
    engine.reloads_take = False  # the new worker never reports the new config
    spec = _with_alias(paths)
    with http_standin(http), pytest.raises(OperationFailed, match="did not confirm the new configuration"):
        up(paths, spec, 30, fake_edges(engine, runtime), lambda line: None, lambda *a: None, verify=False)
    assert paths.haproxy_cfg.read_text() == before and runtime.config_id == live_before
    assert [c for c in engine.calls if c.startswith("reload")] == ["reload flows-haproxy-1"] * 2


def test_photoprism_is_drained_while_its_container_is_replaced(tmp_path: Path) -> None:
    http = free_port()
    paths, _, engine, runtime = _running_stack(tmp_path, http)
    paths.spec.write_text(paths.spec.read_text() + "photoprism: {env: {PHOTOPRISM_READONLY: 'true'}}\n")
    runtime.server_states.clear()
    with http_standin(http):
        up(paths, load_spec(paths.spec), 30, fake_edges(engine, runtime), print, lambda *a: None, verify=False)
    assert runtime.server_states[:2] == ["photoprism/photoprism maint", "photoprism/photoprism ready"]
    # and every `up` ends a drain an interrupted run may have left
    assert runtime.server_states[2:] == ["photoprism/photoprism ready"]


def test_up_with_an_imported_source_and_no_certificate_says_what_to_do(tmp_path: Path) -> None:
    paths, _ = _stack(tmp_path / "stack", free_port(), free_port())
    paths.spec.write_text(paths.spec.read_text() + "tls: {source: import}\n")
    with pytest.raises(Exception, match="no certificate was imported"):
        up(paths, load_spec(paths.spec), 30, fake_edges(FakeEngine(paths.root)), print, lambda *a: None)


# --- replace_certificate ---------------------------------------------------------------------------


@pytest.fixture
def running(tmp_path: Path) -> Iterator[tuple[StackPaths, StackSpec, ServedBundle]]:
    """A stack whose certificate exists and is served by ServedBundle on its HTTPS port."""
    with ServedBundle(b"") as served:
        paths, spec = _stack(tmp_path / "stack", served.port, free_port())
        assert run_cli("--dir", str(paths.root), "certs", "create").code == 0
        assert run_cli("--dir", str(paths.root), "render").code == 0
        served.bundle = CertStore(paths.certs).bundle(DOMAIN).read_bytes()
        yield paths, spec, served


def _on_disk(paths: StackPaths) -> str:
    site = CertStore(paths.certs).read_site(DOMAIN)
    assert site is not None
    return serial_hex(site.leaf)


def test_nothing_running_means_a_disk_only_renewal(tmp_path: Path) -> None:
    paths, spec = _stack(tmp_path / "stack", free_port(), free_port())
    replaced = _renew(paths, spec, fake_edges())
    assert replaced.path == "disk" and _history(paths)["result"] == "ok"  # type: ignore[attr-defined]


def test_the_runtime_api_swap_is_proven_by_the_served_serial(
    running: tuple[StackPaths, StackSpec, ServedBundle],
) -> None:
    paths, spec, served = running
    runtime = FakeRuntimeApi(served)
    replaced = _renew(paths, spec, fake_edges(runtime=runtime))
    assert replaced.path == "runtime-api"  # type: ignore[attr-defined]
    assert _served(spec, paths) == _on_disk(paths) == replaced.new_serial  # type: ignore[attr-defined]
    assert runtime.swaps == [f"/usr/local/etc/haproxy-certs/{DOMAIN}.pem"]


def test_without_the_runtime_api_the_engine_reloads(running: tuple[StackPaths, StackSpec, ServedBundle]) -> None:
    paths, spec, served = running
    engine = FakeEngine(paths.root, served, {"haproxy": ContainerInfo("haproxy", "flows-haproxy-1", "running", "x")})
    replaced = _renew(paths, spec, fake_edges(engine, FakeRuntimeApi(served, answering=False)))
    assert replaced.path == "reload" and "reload flows-haproxy-1" in engine.calls  # type: ignore[attr-defined]
    assert _served(spec, paths) == replaced.new_serial  # type: ignore[attr-defined]


def test_a_refused_certificate_keeps_the_old_one_on_disk_and_served(
    running: tuple[StackPaths, StackSpec, ServedBundle],
) -> None:
    paths, spec, served = running
    before, files = _on_disk(paths), hash_tree(paths.certs)
    with pytest.raises(OperationFailed) as caught:
        _renew(paths, spec, fake_edges(runtime=FakeRuntimeApi(served, behaviours=["refuse"]), broken_key=True))
    assert "still on disk and served" in caught.value.hint
    assert _on_disk(paths) == _served(spec, paths) == before
    assert {k: v for k, v in hash_tree(paths.certs).items() if k != "renewals.jsonl"} == {
        k: v for k, v in files.items() if k != "renewals.jsonl"
    }
    assert str(_history(paths)["result"]).startswith("failed: HAProxy refused")


def test_haproxy_running_but_unreachable_is_a_failure_not_a_disk_renewal(
    running: tuple[StackPaths, StackSpec, ServedBundle],
) -> None:
    paths, spec, _ = running
    before = _on_disk(paths)
    with pytest.raises(OperationFailed, match="cannot be given the new certificate"):
        _renew(paths, spec, fake_edges())  # no runtime API, no engine, but the old certificate is served
    assert _on_disk(paths) == _served(spec, paths) == before
    entry = _history(paths)
    assert entry["old_serial"] == before and "Docker engine" in str(entry["result"])


def test_a_rollback_that_fails_too_is_reported_with_the_original_error(
    running: tuple[StackPaths, StackSpec, ServedBundle],
) -> None:
    paths, spec, served = running
    runtime = FakeRuntimeApi(served, behaviours=["serve-other", "refuse"])
    with pytest.raises(OperationFailed) as caught:
        _renew(paths, spec, fake_edges(runtime=runtime))
    assert (
        "still serves serial" in caught.value.message and "putting the old one back also failed" in caught.value.message
    )
    assert "rollback failed" in str(_history(paths)["result"])


def test_a_failed_issuance_is_recorded_and_changes_no_certificate(tmp_path: Path) -> None:
    paths, spec = _stack(tmp_path / "stack", free_port(), free_port())

    def refuse() -> tuple[object, str]:
        raise OperationFailed("the CA refused", "try later")

    with pytest.raises(OperationFailed):
        replace_certificate(paths, spec, spec.first_site, refuse, "test", fake_edges())  # type: ignore[arg-type]
    assert _history(paths)["result"] == "failed: the CA refused"
    assert CertStore(paths.certs).read_site(DOMAIN) is None
