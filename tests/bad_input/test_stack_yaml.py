"""Every key of the README's stack.yaml table with values that must be refused: wrong types, injected
newlines and control characters, `:` in paths, managed PhotoPrism variables, out-of-range numbers."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.bad_input.conftest import DOMAIN, Folder

NL = "\n.if\n.endif"  # a value ending in lines HAProxy would run
INJECT = [NL, "\n", "\r\nx: 1", "\x00", "\t"]

BAD_VALUES: dict[str, list[Any]] = {
    "name": ["Photos", "-photos", "photo prism", "a" * 64, 123, [], {}, "photo:x", *(f"photo{s}" for s in INJECT)],
    "domain": [
        *(f"{DOMAIN}{s}" for s in INJECT), f" {DOMAIN}", "photos example.com", "*.example.com", "127.0.0.1",
        f"{DOMAIN}:443", f"https://{DOMAIN}", "photos..example.com", "-photos.example.com", 42, [], {},
        "ph%otos.example.com", "ph#otos.example.com", 'ph"otos.example.com', "ph${x}.example.com",
        "phötos.example.com", "example.123", "a" * 300,
    ],
    "aliases": [
        "a.example.com", [f"a.example.com{NL}"], [DOMAIN], ["a.example.com", "a.example.com"], [1],
        [["x.example.com"]], [{"a": 1}], ["a b.example.com"], ["x.example.com:80"], ["*.example.com"],
    ],
    "ports.http": ["80", -1, 0, 65536, 80.5, True, [80], "80\n", None],
    "ports.https": ["443", -1, 0, 65536, 443.0, False, {"a": 1}, 80],
    "ports.bind": [127, "localhost", "127.0.0.1\n", "0.0.0.0:80", "[::1]", "::0001", "fe80::1%lo", "127.000.000.001",
                   "300.1.1.1", True, "127.0.0.1 ", [], [127], ["127.0.0.1", "127.0.0.1"], ["0.0.0.0", "127.0.0.1"],
                   ["::1", "::"], ["127.0.0.1", "::1\n"], [f"127.0.0.{i}" for i in range(1, 10)], {"a": 1}],
    "ports.stats": [443, 80, "x", 0, 70000],
    "tls.source": ["letsencrypt", "ACME", 1, "acme\n", None],
    "tls.key_type": ["ed25519", "rsa-1024", "ecdsa-p521", "", 256],
    "tls.acme.email": ["not-an-email", "a@b.co\nBcc: x@y.zz", "a b@c.de", 5, ["a@b.co"], "a@b.co\n"],
    "tls.acme.directory": ["http://acme.example.com/dir", "https://", "https://x y/dir", "https://a.example\n",
                           "ftp://acme.example.com", 1, "letsencrypt-prod"],
    "tls.acme.ca_bundle": ["/etc/ssl/a:b", "a\nb", 5, ""],
    "tls.acme.agree_tos": ["yes", 1, "true"],
    "tls.acme.challenge": ["dns", "tls-alpn-01", 1, "dns-01\n"],
    "tls.profile": ["old", "Modern", "modern\n", " modern", 1, True, ["modern"], ""],
    "tls.acme.dns.provider": ["bind", 1, "rfc2136\n"],
    "tls.acme.dns.server": ["ns1.example.com", "192.0.2.1:0", "192.0.2.1:99999", "192.0.2.1\n", 5, "192.0.2.1:53x"],
    "tls.acme.dns.key_name": ["a b", "k\n", 5],
    "tls.acme.dns.key_algorithm": ["hmac-sha3", "HMAC-SHA256\n", 1],
    "tls.acme.dns.lexicon_provider": ["cloudflair", "cloudflare\n", 1, ["cloudflare"]],
    "tls.acme.dns.resolver": ["dns.google", "8.8.8.8:53:53", 8],
    "tls.acme.dns.propagation_timeout": [0, 4, 3601, "60", True],
    "tls.acme.dns.ttl": [0, 86401, "60"],
    "images.haproxy": ["haproxy:3.2\n", "haproxy 3.2", "HAProxy:3.2", "haproxy:", "haproxy:3.2;rm -rf /", "", 3.2,
                       f"haproxy:3.2{NL}", "haproxy:3.2 # x", "haproxy@sha256:short"],
    "images.photoprism": ["photoprism/photoprism:latest\n", "photoprism photoprism", "", ["x"]],
    "images.mariadb": ["mariadb:11\n", "mariadb:11:12", "", {"a": 1}],
    "pull": ["sometimes", True, "never\n"],
    "engine": ["kubernetes", "Swarm", "swarm\n", "swarm mode", 1, True, ["swarm"]],
    "photoprism.originals": ["/var/run/docker.sock:/var/run/docker.sock", "./originals:/etc:rw", "./o\n", "./o\x00",
                             "", 5, [], " ./originals", "./o\r\nx"],
    "photoprism.storage": ["./s:/photoprism/originals", "./s\n", "", {"a": 1}],
    "photoprism.import": ["./i:/etc", "./i\nx"],
    "photoprism.admin_user": ["Admin", "admin\n", "ad min", "", "a" * 65, 5],
    "photoprism.env": [
        {"PHOTOPRISM_AUTH_MODE": "public"}, {"photoprism_auth_mode": "public"}, {" PHOTOPRISM_AUTH_MODE ": "public"},
        {"PHOTOPRISM_HTTP_PORT": 1}, {"PHOTOPRISM_DEFAULT_TLS": True}, {"PHOTOPRISM_SITE_URL": "https://x.example/"},
        {"PHOTOPRISM_PUBLIC": True}, {"PHOTOPRISM_DATABASE_DSN": "x"}, {"PHOTOPRISM_ADMIN_PASSWORD": "x"},
        {"PHOTOPRISM_TRUSTED_PROXY": "0.0.0.0/0"}, {"BAD-NAME": "x"}, {"1ABC": "x"}, {"X": "a\nb"}, {"X": [1]},
        {"X": {"a": 1}}, "PHOTOPRISM_READONLY=true", {"X\nY": "1"}, {"X": "a\x00"},
    ],
    "guard.login": ["maybe", 1, ["off"], "off\n", None],
    "guard.login.failures": [0, -1, 10001, "10", 1.5, True],
    "guard.login.window": [0, 9, "5s", "2d", "10 m", "10m\n", "1w", "1.5h", -600, True, [600]],
    "guard.login.ban": [0, "0s", "8d", "10x", "", "\t10m", False],
    "guard.login.max_ban": [0, "8d", "1d ", {}],
    "exposure": ["hidden", "Public", "private\n", 1, True, ["shares"]],
    "limits.request": [0, "0s", "2h", "10s\n", "ten", True, [10]],
    "limits.body_max": [0, 1023, "2GiB", "8M", "8mb", "8 MiB", "8MiB\n", -1, 1.5, True],
    "limits.upload": [0, 59, "2d", "1h ", {}],
    "database.kind": ["postgres", 1, "sqlite\n"],
    "database.path": ["./db:/etc:rw", "./db\n", "", "/var/lib/mysql:/var/lib/mysql"],
    "network.subnet": ["10.0.0.0/8\n", "8.8.8.0/24", "172.30.1.0/29", "172.30.1.1/24", 17230, "fd00::/64",
                       "172.30.1.0/24 ", ["172.30.1.0/24"]],
}  # fmt: skip


def _with(path: str, value: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"domain": DOMAIN}
    node = data
    *parents, last = path.split(".")
    for key in parents:
        node = node.setdefault(key, {})
    node[last] = value
    return data


CASES = [(path, value) for path, values in BAD_VALUES.items() for value in values]


@pytest.mark.parametrize(("path", "value"), CASES, ids=[f"{p}={json.dumps(v)[:30]}" for p, v in CASES])
def test_bad_value_is_refused_naming_its_key(folder: Folder, path: str, value: Any) -> None:
    (folder.root / "stack.yaml").write_text(json.dumps(_with(path, value)))
    line = folder.refuses("render")
    key = path.split(".")[-1] if path != "photoprism.env" else "env"
    assert key in line or path.split(".")[0] in line, line


COMBINATIONS = [
    ({"domain": DOMAIN, "tls": {"source": "acme"}}, "tls.acme.email"),
    ({"domain": DOMAIN, "tls": {"source": "acme", "acme": {"email": "a@b.co", "directory": "letsencrypt"}}},
     "agree_tos"),
    ({"domain": DOMAIN, "ports": {"http": 8080, "https": 8080}}, "must differ"),
    ({"domain": DOMAIN, "extra": 1}, "unknown key"),
    ({"domain": DOMAIN, "ports": {"htp": 80}}, "ports.htp"),
    ({"domain": DOMAIN, "tls": {"acme": {"mail": "a@b.co"}}}, "tls.acme.mail"),
    ({"domain": DOMAIN, "photoprism": {"orginals": "./o"}}, "photoprism.orginals"),
    ({"domain": DOMAIN, "network": {"gateway": "172.30.1.1"}}, "network.gateway"),
    ({"domain": DOMAIN, "images": {"nginx": "nginx"}}, "images.nginx"),
    ({"domain": DOMAIN, "ports": 80}, "ports"),
    ({"domain": DOMAIN, "tls": "acme"}, "tls"),
    ({"domain": DOMAIN, "tls": {"source": "acme", "acme": {"email": "a@b.co", "challenge": "dns-01"}}},
     "tls.acme.dns"),
    ({"domain": DOMAIN, "tls": {"acme": {"dns": {"provider": "rfc2136", "key_name": "k"}}}}, "tls.acme.dns.server"),
    ({"domain": DOMAIN, "tls": {"acme": {"dns": {"provider": "lexicon"}}}}, "lexicon_provider"),
    ({"domain": DOMAIN, "aliases": ["*.example.com"], "tls": {"source": "acme", "acme": {"email": "a@b.co"}}},
     "dns-01"),
    ({"domain": DOMAIN, "tls": {"acme": {"dns": {"provider": "lexicon", "lexicon_provider": "cloudflair"}}}},
     "did you mean cloudflare"),
    ({"domain": DOMAIN, "images": []}, "images"),
    ({"domain": DOMAIN, "photoprism": "x"}, "photoprism"),
    ({"domain": DOMAIN, "database": 1}, "database"),
    ({"domain": DOMAIN, "network": []}, "network"),
    ({"name": "photos"}, "domain"),
    ({"domain": DOMAIN, "engine": "swarm", "ports": {"bind": "127.0.0.1"}}, "ports.bind"),
    ({"domain": DOMAIN, "engine": "swarm", "ports": {"bind": ["0.0.0.0", "::"]}}, "ports.bind"),
    ({"domain": DOMAIN, "guard": {"login": {"ban": "2h", "max_ban": "1h"}}}, "must be at least ban"),
    ({"domain": DOMAIN, "guard": {"login": {"tries": 3}}}, "guard.login.tries"),
    ({"domain": DOMAIN, "guard": {"logins": "off"}}, "guard.logins"),
    ({"domain": DOMAIN, "guard": "off"}, "guard"),
    ({"sites": [{"domain": DOMAIN, "upstream": {"url": "http://app:80"}, "guard": {"login": "on"}}]},
     "this site is not PhotoPrism"),
    ({"sites": [{"domain": DOMAIN, "photoprism": {}}], "guard": {"login": "off"}}, "belongs in a site"),
    ({"domain": DOMAIN, "exposure": "private"}, "allow: is required with exposure: private"),
    ({"domain": DOMAIN, "exposure": "shares", "allow": []}, "allow: must be a list of 1 to 1000"),
    ({"domain": DOMAIN, "allow": ["10.0.0.0/8"]}, "applies only with exposure: private or shares"),
    *(({"domain": DOMAIN, "exposure": "private", "allow": [bad]}, "allow[0]") for bad in (
        "10.0.0.1/8", "10.0.0.0/33", "10.0.0.0/8\n", " 10.0.0.0/8", "example.com", "10.0.0.0/8,10.1.0.0/16",
        "2001:db8::1/32", 10, ["10.0.0.0/8"], "", "!10.0.0.0/8", "10.0.0.0/8 # lan",
    )),
    ({"domain": DOMAIN, "exposure": "private", "allow": "10.0.0.0/8"}, "allow: must be a list"),
    ({"domain": DOMAIN, "exposure": "private", "allow": ["10.0.0.0/8"] * 1001}, "allow: must be a list"),
    ({"sites": [{"domain": DOMAIN, "upstream": {"url": "http://app:80"}, "exposure": "shares",
                 "allow": ["10.0.0.0/8"]}]}, "this site is not PhotoPrism"),
    ({"sites": [{"domain": DOMAIN, "photoprism": {}}], "exposure": "private"}, "belongs in a site"),
    ({"sites": [{"domain": DOMAIN, "photoprism": {}, "tls": {"profile": "modern"}}]},
     "sites[0].tls.profile: applies to the whole proxy"),
    ({"domain": DOMAIN, "x" * 500: 1}, "unknown key"),
    ({"domain": DOMAIN, "a\nb": 1}, "unknown key"),
]  # fmt: skip


@pytest.mark.parametrize(("data", "fragment"), COMBINATIONS, ids=[f[:20] for _, f in COMBINATIONS])
def test_bad_combination_or_structure_is_refused(folder: Folder, data: dict[str, Any], fragment: str) -> None:
    (folder.root / "stack.yaml").write_text(json.dumps(data))
    line = folder.refuses("render", fragment=fragment)
    assert len(line) < 400  # a 500-character key is not echoed whole


def test_a_long_value_is_echoed_cut_short(folder: Folder) -> None:
    (folder.root / "stack.yaml").write_text(json.dumps({"domain": "a" * 500_000}))
    line = folder.refuses("render", fragment="domain")
    assert len(line) < 300 and "500002 chars" in line


COMMANDS = [
    ["render"], ["render", "--check"], ["plan"], ["up"], ["down"], ["verify"], ["status"], ["status", "--json"],
    ["certs", "show"], ["certs", "show", "--json"], ["certs", "create"], ["certs", "renew"],
]  # fmt: skip


@pytest.mark.parametrize("command", COMMANDS, ids=[" ".join(c) for c in COMMANDS])
def test_every_command_refuses_an_injected_domain(folder: Folder, command: list[str]) -> None:
    (folder.root / "stack.yaml").write_text(json.dumps({"domain": f"{DOMAIN}{NL}"}))
    folder.refuses(*command, fragment="domain")
