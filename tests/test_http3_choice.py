"""`ports.http3` against what the HAProxy image can do, asked once per image ID during `up` (FakeEngine
answers `haproxy -vv` as a QUIC build or not): auto follows the image, true on an image without QUIC
is refused before anything is written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from stackctl.config.layout import StackPaths
from stackctl.config.spec import load_spec
from stackctl.core.errors import InvalidInput
from stackctl.engines.base import ImageDetails
from stackctl.flows.up import up
from tests.fakes import FakeEngine, fake_edges
from tests.helpers import free_port, hash_tree, run_cli
from tests.standin import http_standin

IMAGE = ImageDetails("sha256:" + "c" * 64, None, "2026-11-01T00:00:00Z", "3.2")


def _stack(root: Path, http3: str, http: int) -> StackPaths:
    assert run_cli("--dir", str(root), "init", "--domain", "photos.example.com").code == 0
    (root / "stack.yaml").write_text(
        "name: quic\ndomain: photos.example.com\n"
        f"ports: {{http: {http}, https: {free_port()}, bind: 127.0.0.1, stats: {free_port()}, http3: {http3}}}\n"
    )
    return StackPaths(root)


def test_auto_asks_the_image_once_and_publishes_udp_when_it_has_quic(tmp_path: Path) -> None:
    http = free_port()
    paths = _stack(tmp_path / "stack", "auto", http)
    spec = load_spec(paths.spec)
    engine = FakeEngine(paths.root, images={spec.images.haproxy: IMAGE}, quic=(True, False))
    with http_standin(http):
        up(paths, spec, 30, fake_edges(engine), print, lambda *a: None, verify=False)
        up(paths, spec, 30, fake_edges(engine), print, lambda *a: None, verify=False)
    assert engine.calls.count(f"haproxy -vv {spec.images.haproxy}") == 1  # cached by image ID
    cached = json.loads((paths.compose_dir / ".haproxy-features.json").read_text())
    assert (cached["id"], cached["quic"]) == (IMAGE.id, True)
    ports = yaml.safe_load(paths.compose_file.read_text())["services"]["haproxy"]["ports"]
    assert any(str(p).endswith("/udp") for p in ports)
    assert "alpn h3" in paths.haproxy_cfg.read_text()


def test_true_on_an_image_without_quic_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    http = free_port()
    paths = _stack(tmp_path / "stack", "true", http)
    spec = load_spec(paths.spec)
    engine = FakeEngine(paths.root, images={spec.images.haproxy: IMAGE})
    before = hash_tree(paths.root)
    with http_standin(http), pytest.raises(InvalidInput) as caught:
        up(paths, spec, 30, fake_edges(engine), print, lambda *a: None, verify=False)
    assert (
        caught.value.message
        == f"ports.http3 is true but {spec.images.haproxy} has no QUIC (haproxy -vv lists no +QUIC)"
    )
    assert hash_tree(paths.root) == before and engine.applied == []
