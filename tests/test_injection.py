"""No stack.yaml value can add a line to haproxy.cfg or a key to compose.yaml: every string key gets a
newline, a `:`, a `#`, a quote, a `%` and a `${` appended, and is either refused or rendered inert."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml

from stackctl.config.spec import spec_from_data
from stackctl.core.errors import SpecError
from stackctl.render import render_stack

PAYLOADS = ["\n.notice injected\n", "\nx-injected: 1", ":/etc:rw", " #x", '"', "'", "%[env(STATS_PASSWORD)]", "${HOME}"]

BASE: dict[str, Any] = {
    "name": "photos",
    "domain": "photos.example.com",
    "aliases": ["www.photos.example.com"],
    "ports": {"http": 80, "https": 443, "bind": "127.0.0.1", "stats": 8404},
    "tls": {"source": "acme", "key_type": "ecdsa-p256",
            "acme": {"email": "me@example.com", "directory": "https://acme.example.com/dir", "ca_bundle": "./ca.pem"}},
    "images": {"haproxy": "haproxy:3.2", "photoprism": "photoprism/photoprism:latest", "mariadb": "mariadb:11"},
    "pull": "missing",
    "photoprism": {"originals": "./originals", "storage": "./storage", "import": "./import", "admin_user": "admin",
                   "env": {"PHOTOPRISM_READONLY": "true"}},
    "database": {"kind": "mariadb", "path": "./database"},
    "network": {"subnet": "172.30.7.0/24"},
}  # fmt: skip


def _string_keys(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(node, dict):
        return [p for key, value in node.items() for p in _string_keys(value, (*path, key))]
    if isinstance(node, list):
        return [p for i, value in enumerate(node) for p in _string_keys(value, (*path, i))]
    return [path] if isinstance(node, str) else []


def _set(data: dict[str, Any], path: tuple[Any, ...], value: Any) -> None:
    node: Any = data
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value


def _key_paths(node: Any, path: str = "") -> set[str]:
    if isinstance(node, dict):
        return {path} | {p for k, v in node.items() for p in _key_paths(v, f"{path}.{k}")}
    if isinstance(node, list):
        return {path} | {p for i, v in enumerate(node) for p in _key_paths(v, f"{path}[{i}]")}
    return {path}


def _render(data: dict[str, Any]) -> tuple[list[str], dict[str, Any]]:
    files = render_stack(spec_from_data(data), "thumbprint")
    cfg = files["compose/haproxy/haproxy.cfg"].splitlines()
    return cfg, yaml.safe_load(files["compose/compose.yaml"])


BASE_CFG, BASE_COMPOSE = _render(BASE)
CASES = [(path, payload) for path in _string_keys(BASE) for payload in PAYLOADS]
ENV_KEY = ("photoprism", "env", "PHOTOPRISM_READONLY")


@pytest.mark.parametrize(("path", "payload"), CASES, ids=[f"{'.'.join(map(str, p))}+{s!r}" for p, s in CASES])
def test_value_is_refused_or_rendered_inert(path: tuple[Any, ...], payload: str) -> None:
    data = copy.deepcopy(BASE)
    original = data
    for key in path:
        original = original[key]
    value = f"{original}{payload}"
    _set(data, path, value)
    try:
        cfg, compose = _render(data)
    except SpecError:
        return  # refused: the value never reaches a file
    assert len(cfg) == len(BASE_CFG), f"{path}: haproxy.cfg gained or lost a line"
    assert [line.split()[:1] for line in cfg] == [line.split()[:1] for line in BASE_CFG], path
    assert _key_paths(compose) == _key_paths(BASE_COMPOSE), f"{path}: compose.yaml gained or lost a key"
    # What was accepted appears verbatim, as one value (a `$` doubled so `docker compose` keeps it).
    text = render_stack(spec_from_data(data), "thumbprint")["compose/compose.yaml"]
    if path == ENV_KEY:
        assert compose["services"]["photoprism"]["environment"]["PHOTOPRISM_READONLY"] == value.replace("$", "$$")
    assert "${HOME}" not in text.replace("$${HOME}", "")


@pytest.mark.parametrize("payload", PAYLOADS)
def test_env_names_with_a_payload_are_refused(payload: str) -> None:
    data = copy.deepcopy(BASE)
    data["photoprism"]["env"] = {f"PHOTOPRISM_X{payload}": "1"}
    with pytest.raises(SpecError):
        spec_from_data(data)


def test_what_is_accepted_is_rendered_inert_not_refused_wholesale() -> None:
    """The test above could pass by refusing everything: make sure common harmless values get through."""
    accepted = []
    for path, payload in CASES:
        data = copy.deepcopy(BASE)
        original = data
        for key in path:
            original = original[key]
        _set(data, path, f"{original}{payload}")
        try:
            spec_from_data(data)
            accepted.append((path, payload))
        except SpecError:
            pass
    assert (ENV_KEY, "${HOME}") in accepted and (ENV_KEY, " #x") in accepted
    assert (("photoprism", "originals"), " #x") in accepted  # a folder name may hold a '#'
    assert not any("\n" in payload for _, payload in accepted if _ != ENV_KEY)
