"""Sites without an engine: what stack.yaml accepts and refuses, the host map, a 50-site config through
the real `haproxy -c`, routing of every name through the real haproxy binary, `sites add|rm` keeping
the user's comments, and the status verdict naming the site at fault."""

from __future__ import annotations

import contextlib
import json
import socket
import ssl
import threading
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from stackctl.certs.localca import DEFAULT_CERT_NAME
from stackctl.config.spec import spec_from_data
from stackctl.core.errors import SpecError
from stackctl.health.model import ContainerStatus, SiteStatus, StatusSnapshot
from stackctl.render import render_stack
from stackctl.render.haproxy import HaproxyLayout
from tests.default_cert import answer_without_a_known_name, names_of, served_certificate
from tests.helpers import (
    free_port,
    haproxy_folder_config,
    hash_tree,
    native_haproxy,
    require_tool,
    run_cli,
    self_signed_bundle,
    single_site_yaml,
    wait_for_port,
    write_default_bundle,
)
from tests.specs import example


def _sites(*sites: dict[str, Any], **top: Any) -> dict[str, Any]:
    return {**top, "sites": list(sites)}


PP = {"photoprism": {}}


@pytest.mark.parametrize(
    ("data", "path", "words"),
    [
        (_sites({"domain": "a.example.com", **PP}, {"domain": "a.example.com", **PP}), "sites[1]", "already used"),
        (_sites({"domain": "a.example.com", **PP}, {"domain": "b.example.com", "aliases": ["a.example.com"], **PP}),
         "sites[1]", "name a.example.com is already used by sites[0]"),
        (_sites({"domain": "a.example.com", "photoprism": {"storage": "./s"}},
                {"domain": "b.example.com", "photoprism": {"storage": "s"}}), "sites[1]", "storage folder s"),
        (_sites({"domain": "a.example.com"}), "sites[0]", "exactly one app"),
        (_sites({"domain": "a.example.com", **PP, "upstream": {"url": "http://x:1"}}), "sites[0]", "exactly one app"),
        (_sites({"domain": "a.example.com", "upstream": {"url": "ftp://nas:21"}}), "sites[0].upstream.url",
         "must start with http:// or https://"),
        (_sites({"domain": "a.example.com", "upstream": {"url": "http://nas:5000/admin"}}), "sites[0].upstream.url",
         "without a path"),
        (_sites({"domain": "a.example.com", "upstream": {"image": "nginx:1"}}), "sites[0].upstream.port",
         "is required with image"),
        (_sites({"domain": "a.example.com", "upstream": {"url": "http://nas:5000", "port": 80}}), "sites[0].upstream",
         "only network, health, timeouts, ca_file and verify"),
        (_sites({"domain": "a.example.com", "upstream": {"image": "nginx:1", "port": 80, "network": "media"}}),
         "sites[0].upstream.network", "goes with url"),
        (_sites({"domain": "a.example.com", "upstream": {"url": "http://j:1", "network": "bad name"}}),
         "sites[0].upstream.network", "Docker network name"),
        (_sites({"domain": "a.example.com", "upstream": {"image": "nginx:1", "port": 80, "health": "health"}}),
         "sites[0].upstream.health", "tcp or an HTTP path"),
        (_sites({"domain": "a.example.com", "upstream": {"image": "nginx:1", "port": 80, "volumes": ["/a"]}}),
         "sites[0].upstream.volumes[0]", "HOST_FOLDER:CONTAINER_PATH"),
        (_sites({"domain": "a.example.com", "upstream": {"image": "x:1", "port": 1, "timeouts": {"server": 0}}}),
         "sites[0].upstream.timeouts.server", "number of seconds"),
        ({**_sites({"domain": "a.example.com", **PP}), "photoprism": {}}, "photoprism", "belongs in a site"),
        (_sites({"domain": "a.example.com", "aliases": ["*.example.com"], **PP}), "sites[0].aliases[0]", "DNS-01"),
        ({"sites": []}, "sites", "non-empty list"),
        (_sites({"domain": "a.example.com", "tls": {"source": "acme"}, **PP}), "sites[0].tls.acme.email",
         "is required"),
    ],
)  # fmt: skip
def test_the_sites_list_is_validated_with_the_key_path_and_the_rule(
    data: dict[str, Any], path: str, words: str
) -> None:
    with pytest.raises(SpecError) as caught:
        spec_from_data(data)
    assert caught.value.path == path and words in caught.value.rule, (caught.value.path, caught.value.rule)


def test_a_site_tls_overrides_the_stack_wide_one_key_by_key() -> None:
    acme = {"email": "ops@example.com", "directory": "https://acme.example.net/dir"}
    spec = spec_from_data(
        _sites(
            {"domain": "a.example.com", **PP},
            {"domain": "b.example.com", "tls": {"source": "acme", "acme": {"agree_tos": True}}, **PP},
            tls={"key_type": "rsa-2048", "acme": acme},
        )
    )
    first, second = spec.sites
    assert first.tls.source == "local-ca" and first.tls.key_type == "rsa-2048"
    assert second.tls.source == "acme" and second.tls.key_type == "rsa-2048"
    assert second.tls.acme.email == "ops@example.com" and second.tls.acme.agree_tos
    assert second.names == ("b.example.com",)


def test_the_single_site_form_is_one_site_that_keeps_its_names() -> None:
    spec = example("minimal")
    (site,) = spec.sites
    assert spec.legacy and site.backend == "photoprism" and site.service == "photoprism"
    assert site.database_name == "photoprism" and site.secrets_file == "secrets/photoprism.env"
    grown = example("single-plus-host-app")
    assert [s.backend for s in grown.sites] == ["photoprism", "upstream-nas-example-com", "upstream-media-example-com"]
    assert grown.sites[1].service is None  # reached at an address, no container
    compose = yaml.safe_load(render_stack(grown)["compose/compose.yaml"])
    assert compose["services"]["haproxy"]["networks"] == ["photoprism", "media"]
    assert compose["networks"]["media"] == {"external": True}  # the user's: never created or removed


def test_long_domains_get_short_unique_names() -> None:
    long_a, long_b = "a" * 50 + ".example.com", "a" * 50 + ".example.org"
    spec = spec_from_data(_sites({"domain": long_a, **PP}, {"domain": long_b, **PP}))
    slugs = [s.slug for s in spec.sites]
    assert len(set(slugs)) == 2 and all(len(s) <= 40 for s in slugs)
    assert all(len(s.database_name) <= 64 and len(s.backend) <= 63 for s in spec.sites)


def test_the_host_map_routes_every_name_and_alias_to_its_sites_backend() -> None:
    spec = example("three-sites")
    files = render_stack(spec)
    routes = dict(line.split() for line in files["compose/haproxy/hosts.map"].splitlines()[1:])
    assert routes == {name: site.backend for site in spec.sites for name in site.names}
    cfg = files["compose/haproxy/haproxy.cfg"]
    assert all(f"backend {site.backend}\n" in cfg for site in spec.sites)
    assert cfg.count("map(/usr/local/etc/haproxy/hosts.map)") == 2  # one lookup per frontend, whatever the count


def _fifty_sites() -> dict[str, Any]:
    sites = [{"domain": f"site{i:02d}.example.com", **PP} for i in range(25)]
    sites += [{"domain": f"app{i:02d}.example.com", "upstream": {"image": "nginx:1", "port": 80}} for i in range(25)]
    return _sites(*sites, network={"subnet": "10.88.0.0/24"})


def test_a_fifty_site_config_with_fifty_certificates_passes_haproxy_check(tmp_path: Path) -> None:
    import subprocess

    spec = spec_from_data(_fifty_sites())
    certs = tmp_path / "certs"
    certs.mkdir()
    for site in spec.sites:
        (certs / f"{site.domain}.pem").write_bytes(self_signed_bundle(list(site.names)))
    write_default_bundle(certs)
    layout = HaproxyLayout(certs_dir=f"{certs}/", socket_path=str(tmp_path / "admin.sock"))
    cfg = tmp_path / "haproxy.cfg"
    cfg.write_text(haproxy_folder_config(spec, layout, tmp_path))
    result = subprocess.run(
        [require_tool("haproxy"), "-c", "-f", str(cfg)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert len((tmp_path / "hosts.map").read_text().splitlines()) == 51  # a header and one line per name
    text = cfg.read_text()
    assert text.count("\nbackend ") - text.count("\nbackend login-guard-") == 50  # one per site, besides tables


class _Named(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = json.dumps({"app": self.server.app_name, "host": self.headers["Host"]}).encode()  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@contextlib.contextmanager
def _apps(names: list[str]) -> Iterator[dict[str, int]]:
    """A small HTTP server per name that answers with its name: name -> port."""
    servers = []
    for name in names:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Named)
        server.app_name = name  # type: ignore[attr-defined]
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
    try:
        yield {name: s.server_address[1] for name, s in zip(names, servers, strict=True)}
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()


def _get(port: int, host: str, cafile: Path) -> tuple[int, str]:
    ctx = ssl.create_default_context(cafile=str(cafile))
    ctx.check_hostname = False  # each site's throwaway certificate is its own root here; SNI still picks it
    request = f"GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode()
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
        ctx.wrap_socket(raw, server_hostname=host) as tls,
    ):
        tls.sendall(request)
        reply = b""
        while chunk := tls.recv(65536):
            reply += chunk
    head, _, body = reply.decode().partition("\r\n\r\n")
    return int(head[9:12]), body


def test_the_real_haproxy_routes_every_name_and_wildcard_to_its_own_app(tmp_path: Path) -> None:
    acme = {"source": "acme", "acme": {"email": "a@example.com", "challenge": "dns-01",
                                       "dns": {"server": "192.0.2.53", "key_name": "k"}}}  # fmt: skip
    with _apps(["one", "two", "three"]) as ports:
        spec = spec_from_data(
            _sites(
                {"domain": "one.example.com", "aliases": ["uno.example.com"],
                 "upstream": {"url": f"http://127.0.0.1:{ports['one']}"}},
                {"domain": "two.example.com", "upstream": {"url": f"http://127.0.0.1:{ports['two']}"}},
                {"domain": "three.example.net", "aliases": ["*.apps.example.net"], "tls": acme,
                 "upstream": {"url": f"http://127.0.0.1:{ports['three']}"}},
                ports={"https": free_port(), "http": free_port(), "stats": free_port()},
            )
        )  # fmt: skip
        certs = tmp_path / "certs"
        certs.mkdir()
        bundles = b""
        write_default_bundle(certs)
        for site in spec.sites:
            bundle = self_signed_bundle(list(site.names))
            (certs / f"{site.domain}.pem").write_bytes(bundle)
            bundles += bundle.split(b"-----BEGIN PRIVATE KEY-----")[0]
        (tmp_path / "roots.pem").write_bytes(bundles)
        layout = HaproxyLayout(
            public_bind="127.0.0.1", http_port=spec.ports.http, https_port=spec.ports.https,
            stats_bind="127.0.0.1", stats_port=spec.ports.stats, certs_dir=f"{certs}/",
            socket_path=str(tmp_path / "admin.sock"),
        )  # fmt: skip
        cfg = haproxy_folder_config(spec, layout, tmp_path)
        with native_haproxy(cfg, tmp_path, {"STATS_PASSWORD": "x"}, []):
            wait_for_port(spec.ports.https)
            for host, app in (("one.example.com", "one"), ("UNO.example.com", "one"), ("two.example.com", "two"),
                              ("three.example.net", "three"), ("photos.apps.example.net", "three")):  # fmt: skip
                status, body = _get(spec.ports.https, host, tmp_path / "roots.pem")
                assert status == 200 and json.loads(body)["app"] == app, (host, status, body)
            # An unknown name gets the stack's own certificate (trusted by no one) and the 404 page.
            assert names_of(served_certificate(spec.ports.https, "nobody.example.com")) == {DEFAULT_CERT_NAME}
            assert answer_without_a_known_name(spec.ports.https, "nobody.example.com", "nobody.example.com")[0] == 404


def _stack_folder(root: Path) -> Path:
    root.mkdir()
    assert run_cli("--dir", str(root), "init", "--domain", "photos.example.com").code == 0
    return root


def test_sites_add_and_rm_keep_every_comment_and_write_the_new_sites_secrets(tmp_path: Path) -> None:
    root = _stack_folder(tmp_path / "stack")
    before = (root / "stack.yaml").read_text()
    result = run_cli("--dir", str(root), "sites", "add", "bob.example.com", "--alias", "b.example.com")
    assert result.code == 0, result.err
    after = (root / "stack.yaml").read_text()
    assert after.startswith(before.rstrip("\n"))  # everything above, comments included, as it was
    assert (root / "secrets/sites/bob-example-com.env").stat().st_mode & 0o777 == 0o600
    listed = json.loads(run_cli("--dir", str(root), "sites", "--json").out)["sites"]
    assert [(s["domain"], s["kind"]) for s in listed] == [("photos.example.com", "photoprism"),
                                                         ("bob.example.com", "photoprism")]  # fmt: skip
    result = run_cli("--dir", str(root), "sites", "rm", "bob.example.com")
    assert result.code == 0 and "./sites/bob-example-com/originals" in result.out
    assert (root / "stack.yaml").read_text() == before


def test_a_single_site_stack_gains_a_site_and_keeps_its_own(tmp_path: Path) -> None:
    root = tmp_path / "stack"
    root.mkdir()
    (root / "stack.yaml").write_text(single_site_yaml("photos.example.com"))
    assert run_cli("--dir", str(root), "init").code == 0
    result = run_cli(
        "--dir", str(root), "sites", "add", "nas.example.com", "--upstream", "http://host.docker.internal:5000"
    )
    assert result.code == 0, result.err
    text = (root / "stack.yaml").read_text()
    assert text.startswith(single_site_yaml("photos.example.com").rstrip("\n"))
    assert "import: null" in text and "email: null" in text  # ruamel would write `key:` for None
    refused = run_cli("--dir", str(root), "sites", "rm", "photos.example.com")
    assert refused.code == 2 and "top-level site" in refused.err


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["add", "photos.example.com"], "already served by the site photos.example.com"),
        (["add", "bad..example.com"], "each label"),
        (["add", "x.example.com", "--image", "nginx:1"], "--image and --port go together"),
        (["add", "x.example.com", "--upstream", "ftp://nas"], "must start with http://"),
        (["rm", "nobody.example.com"], "no such site"),
        (["rm", "photos.example.com"], "the only site"),
    ],
)
def test_bad_sites_commands_are_one_line_and_change_nothing(tmp_path: Path, argv: list[str], words: str) -> None:
    root = _stack_folder(tmp_path / "stack")
    before = hash_tree(root)
    result = run_cli("--dir", str(root), "sites", *argv)
    assert result.code == 2 and words in result.err and len(result.err.strip().splitlines()) == 1, result.err
    assert hash_tree(root) == before


def _site(domain: str, **changes: Any) -> SiteStatus:
    site = SiteStatus(domain, "photoprism", f"photoprism-{domain}", f"photoprism-{domain}", "UP", 80, None)
    return replace(site, **changes)


def test_the_verdict_names_the_site_at_fault() -> None:
    running = [ContainerStatus(f"photoprism-{d}", d, None, "running", "healthy", 5.0, 0, None) for d in "ab"]
    snapshot = StatusSnapshot("s", "a", "now", containers=running, backends=[], certificates=[], drift=[])
    snapshot.sites = [_site("a"), _site("b", backend_status="DOWN")]
    assert snapshot.verdict == "degraded: site b: backend DOWN"
    snapshot.sites = [_site("a", certificate_days_left=None), _site("b")]
    assert snapshot.problems() == ["site a: no certificate (run stackctl certs create --site a)"]
    document = snapshot.as_json()
    assert document["domain"] == "a" and [s["healthy"] for s in document["sites"]] == [False, True]


def test_a_name_that_starts_with_a_digit_is_still_resolved_through_dockers_dns() -> None:
    spec = spec_from_data(
        _sites(
            {"domain": "a.example.com", "upstream": {"url": "http://1vault:8200", "network": "tools"}},
            {"domain": "b.example.com", "upstream": {"url": "http://10.0.0.5:80"}},
        )
    )
    cfg = render_stack(spec)["compose/haproxy/haproxy.cfg"]
    resolved = "resolvers docker resolve-prefer ipv4 init-addr"
    assert f"server app ipv4@1vault:8200 check inter 2s fall 2 rise 2 {resolved}" in cfg
    assert "server app 10.0.0.5:80 check inter 2s fall 2 rise 2 init-addr" in cfg  # an address: nothing to resolve
