"""https:// upstreams: the keys that go with them, what haproxy.cfg and HAProxy's folder get on one host
and on a Swarm, and the check before `up` changes anything (against the upstream app serving HTTPS on
127.0.0.1; the native tests run HAProxy itself against it)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from stackctl.config.spec import load_spec, spec_from_data
from stackctl.flows.upstream_tls import check_https_upstreams
from stackctl.render import render_stack
from tests.certfactory import make_cert
from tests.fakes import FakeEngine, fake_edges
from tests.helpers import hash_tree, run_cli
from tests.test_https_upstream_native import APP_HOST, https_app

PHOTOS, APP = "photos.example.com", "app.example.com"
CA_NAME = "upstream-ca-app-example-com.pem"


def _stack(root: Path, port: int, upstream: str) -> Path:
    assert run_cli("--dir", str(root), "init", "--domain", PHOTOS).code == 0
    (root / "stack.yaml").write_text(
        f"name: tls\nsites:\n  - domain: {PHOTOS}\n    photoprism: {{}}\n  - domain: {APP}\n"
        f'    upstream: {{url: "https://{APP_HOST}:{port}", network: apps, health: /health{upstream}}}\n'
    )
    return root


def _engine(root: Path) -> FakeEngine:
    """An engine that finds secure-app at 127.0.0.1 on the user's network `apps`."""
    return FakeEngine(root, on_networks={("apps", APP_HOST): "127.0.0.1"})


def test_a_self_signed_upstream_is_refused_before_anything_changes(tmp_path: Path) -> None:
    with https_app(tmp_path) as port:
        root = _stack(tmp_path / "stack", port, "")
        before = hash_tree(root)
        result = run_cli("--dir", str(root), "up", edges=fake_edges(_engine(root)))
    assert result.code != 0 and hash_tree(root) == before
    (line,) = result.err.strip().splitlines()
    assert line.startswith(f"error: {APP}: the certificate of https://{APP_HOST}:{port} does not verify against ")
    assert "this host's trust store" in line and " — set upstream.ca_file to the CA that signed it" in line
    assert "upstream.verify: false" in line


def test_with_its_ca_file_the_upstream_passes_and_haproxy_gets_the_ca(tmp_path: Path) -> None:
    with https_app(tmp_path) as port:
        root = _stack(tmp_path / "stack", port, f", ca_file: {tmp_path / 'ca.pem'}")
        reported: list[str] = []
        check_https_upstreams(root, load_spec(root / "stack.yaml"), _engine(root), reported.append)
        assert reported == []
        assert run_cli("--dir", str(root), "render").code == 0
    assert (root / "compose/haproxy" / CA_NAME).read_bytes() == (tmp_path / "ca.pem").read_bytes()
    cfg = (root / "compose/haproxy/haproxy.cfg").read_text()
    assert (
        f"ssl verify required ca-file /usr/local/etc/haproxy/{CA_NAME} sni str({APP_HOST}) check-sni {APP_HOST} "
        f"verifyhost {APP_HOST}"
    ) in cfg


def test_an_upstream_this_host_cannot_reach_is_left_to_haproxys_check_and_said_so(tmp_path: Path) -> None:
    root = _stack(tmp_path / "stack", 8443, "")
    reported: list[str] = []
    check_https_upstreams(root, load_spec(root / "stack.yaml"), FakeEngine(root), reported.append)
    assert len(reported) == 1 and "cannot be reached from this host" in reported[0], reported


def test_verify_false_takes_any_certificate_and_gets_no_ca_file() -> None:
    spec = spec_from_data(
        {"sites": [{"domain": APP, "upstream": {"url": "https://192.168.1.5:5001", "verify": False}}]}
    )
    files = render_stack(spec)
    assert " ssl verify none" in files["compose/haproxy/haproxy.cfg"]
    assert "sni" not in files["compose/haproxy/haproxy.cfg"].split("server ", 2)[-1]  # an address has no name
    assert not any("upstream-ca" in name for name in files)


def test_on_a_swarm_the_ca_file_is_a_config_of_haproxys(tmp_path: Path) -> None:
    root = _stack(tmp_path / "stack", 5001, f", ca_file: {tmp_path / 'ca.pem'}")
    (tmp_path / "ca.pem").write_bytes(make_cert("NAS CA", ca=True).cert_pem)
    spec = root / "stack.yaml"
    spec.write_text("engine: swarm\n" + spec.read_text())
    assert run_cli("--dir", str(root), "certs", "create").code == 0  # a Swarm's certificates are secrets
    result = run_cli("--dir", str(root), "render")
    assert result.code == 0, result.err
    assert (root / "compose/haproxy" / CA_NAME).read_bytes() == (tmp_path / "ca.pem").read_bytes()
    compose = (root / "compose/compose.yaml").read_text()
    assert f"target: /usr/local/etc/haproxy/{CA_NAME}" in compose, compose


@pytest.mark.parametrize(
    ("upstream", "key", "said"),
    [
        ({"url": "http://nas:5000", "ca_file": "ca.pem"}, "upstream.ca_file", "goes with url: https://"),
        ({"url": "http://nas:5000", "verify": False}, "upstream.verify", "goes with url: https://"),
        ({"url": "https://nas:5001", "ca_file": "ca.pem", "verify": False}, "upstream.verify", "ca_file would not"),
        ({"url": "https://192.168.1.5:5001"}, "upstream.url", "cannot be checked by name"),
        ({"url": "https://nas:5001", "verify": "no"}, "upstream.verify", "must be true or false"),
        ({"url": "ftp://nas:21"}, "upstream.url", "must start with http:// or https://"),
    ],
)
def test_keys_that_do_not_go_together_are_refused_naming_the_key(
    tmp_path: Path, upstream: dict[str, object], key: str, said: str
) -> None:
    import yaml

    root = tmp_path / "stack"
    assert run_cli("--dir", str(root), "init", "--domain", PHOTOS).code == 0
    data = {"sites": [{"domain": PHOTOS, "photoprism": {}}, {"domain": APP, "upstream": upstream}]}
    (root / "stack.yaml").write_text(yaml.safe_dump(data))
    result = run_cli("--dir", str(root), "render")
    assert result.code == 2 and f"sites[1].{key}" in result.err and said in result.err, result.err
    assert len(result.err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("make", "said"),
    [
        (lambda path: None, "does not exist — fix the path, or create the file"),
        (lambda path: os.mkfifo(path), "is not a file — fix the path"),
        (
            lambda path: path.write_text("not a certificate\n"),
            "holds no PEM certificate — give the CA certificate (PEM) that signed the service's certificate",
        ),
    ],
)
def test_a_ca_file_that_is_missing_a_fifo_or_no_certificate_is_refused_and_nothing_is_written(
    tmp_path: Path, make: Callable[[Path], object], said: str
) -> None:
    ca_file = tmp_path / "ca.pem"
    make(ca_file)
    root = _stack(tmp_path / "stack", 8443, f", ca_file: {ca_file}")
    before = hash_tree(root)
    result = run_cli("--dir", str(root), "render")
    assert result.code == 2 and hash_tree(root) == before
    assert result.err == f"error: stack.yaml: sites[1].upstream.ca_file: {ca_file} {said}\n", result.err
