"""stack.yaml -> StackSpec: defaults, and one clear line for each kind of bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from stackctl.config.spec import spec_from_data
from tests.helpers import hash_tree, run_cli


def test_domain_alone_is_a_complete_spec() -> None:
    spec = spec_from_data({"domain": "Photos.Example.com"})
    site = spec.first_site
    assert site.domain == "photos.example.com" and site.legacy
    assert spec.name == "photoprism"
    assert (spec.ports.http, spec.ports.https, spec.ports.bind, spec.ports.stats) == (
        80,
        443,
        ("0.0.0.0",),
        8404,
    )
    assert site.tls.source == "local-ca" and site.tls.key_type == "ecdsa-p256"
    assert spec.images.haproxy == "haproxy:3.2"
    assert spec.pull == "missing" and spec.database.kind == "mariadb" and spec.log == "errors"
    assert spec.site_url(site) == "https://photos.example.com/"


def test_ports_bind_takes_an_ipv6_address_or_a_list_and_the_stack_is_checked_on_each_family() -> None:
    def bound(value: object) -> tuple[tuple[str, ...], tuple[str, ...]]:
        ports = spec_from_data({"domain": "photos.example.com", "ports": {"bind": value}}).ports
        return ports.bind, ports.local_addresses

    assert bound("::1") == (("::1",), ("::1",))
    assert bound("::") == (("::",), ("::1",))
    assert bound(["0.0.0.0", "::"]) == (("0.0.0.0", "::"), ("127.0.0.1", "::1"))
    assert bound(["192.0.2.7", "2001:db8::7"]) == (("192.0.2.7", "2001:db8::7"), ("192.0.2.7", "2001:db8::7"))
    assert bound(["127.0.0.1"]) == (("127.0.0.1",), ("127.0.0.1",))


def test_spec_is_frozen() -> None:
    spec = spec_from_data({"domain": "photos.example.com"})
    with pytest.raises(AttributeError):
        spec.name = "other"  # type: ignore[misc]


def test_site_url_names_a_custom_https_port() -> None:
    spec = spec_from_data({"domain": "photos.example.com", "ports": {"https": 8443}})
    assert spec.site_url(spec.first_site) == "https://photos.example.com:8443/"


# (stack.yaml text, the key path the error must name, a fragment of the rule)
BAD_SPECS = [
    (
        'domain: photos.example.com\nports: {https: "44x"}\n',
        "ports.https",
        'must be an integer from 1 to 65535, got "44x"',
    ),
    ("domain: photos.example.com\nports: {https: 0}\n", "ports.https", "from 1 to 65535, got 0"),
    ("domain: photos.example.com\nports: {http: 70000}\n", "ports.http", "got 70000"),
    (
        "domain: photos.example.com\nports: {http: 8443, https: 8443}\n",
        "ports.https",
        "must differ from ports.http",
    ),
    ("domain: photos.example.com\nports: {stats: 443}\n", "ports.stats", "must differ"),
    ("domain: photos.example.com\nports: {bind: localhost}\n", "ports.bind", "must be an IP address"),
    ("domain: photos.example.com\nport: {https: 443}\n", "port", "unknown key"),
    ("domain: photos.example.com\ntls: {sorce: acme}\n", "tls.sorce", "unknown key"),
    ('domain: ""\n', "domain", "must not be empty"),
    ("domain: photo_s.example.com\n", "domain", "letters, digits and hyphens"),
    (f"domain: {'a' * 64}.example.com\n", "domain", "at most 63 characters"),
    (f"domain: {'.'.join(['abcdefghi'] * 26)}.com\n", "domain", "at most 253 characters"),
    ("domain: 192.168.1.10\n", "domain", "not an IP address"),
    ("domain: 42\n", "domain", "must be a DNS name"),
    ("name: photoprism\n", "domain", "is required"),
    ("domain: photos.example.com\naliases: [a.example.com, a.example.com]\n", "aliases[1]", "duplicate"),
    ("domain: photos.example.com\naliases: [photos.example.com]\n", "aliases[0]", "duplicate of domain"),
    ("domain: photos.example.com\naliases: a.example.com\n", "aliases", "must be a list"),
    (
        "domain: photos.example.com\ntls: {source: letsencrypt}\n",
        "tls.source",
        "must be one of local-ca, import, acme",
    ),
    ("domain: photos.example.com\ntls: {key_type: rsa-1024}\n", "tls.key_type", "must be one of"),
    (
        "domain: photos.example.com\ntls: {acme: {profile: shortlived-ish}}\n",
        "tls.acme.profile",
        "must be one of classic, tlsserver, shortlived",
    ),
    ("domain: photos.example.com\ntls: {acme: {profile: 6}}\n", "tls.acme.profile", "must be one of classic"),
    ("domain: photos.example.com\npull: sometimes\n", "pull", "must be one of always, missing, never"),
    ("domain: photos.example.com\nlog: Full\n", "log", "must be one of errors, full"),
    ("domain: photos.example.com\nlog: true\n", "log", "must be one of errors, full"),
    (
        "domain: photos.example.com\ndatabase: {kind: postgres}\n",
        "database.kind",
        "must be one of mariadb, sqlite",
    ),
    ("domain: photos.example.com\nname: Photo Prism\n", "name", "lowercase"),
    ("domain: photos.example.com\nnetwork: {subnet: 8.8.8.0/24}\n", "network.subnet", "private IPv4"),
    (
        "domain: photos.example.com\nphotoprism: {env: {PHOTOPRISM_SITE_URL: x}}\n",
        "photoprism.env.PHOTOPRISM_SITE_URL",
        "set by stackctl",
    ),
    ("domain: photos.example.com\nphotoprism: [1, 2]\n", "photoprism", "must be a mapping"),
    ("domain: photos.example.com\ntls: {source: acme}\n", "tls.acme.email", "required"),
    (
        "domain: photos.example.com\ntls: {source: acme, acme: {email: a@b.org, directory: letsencrypt}}\n",
        "tls.acme.agree_tos",
        "must be true",
    ),
    ("domain: photos.example.com\nimages: {haproxy: ''}\n", "images.haproxy", "non-empty string"),
    ("- domain: photos.example.com\n", "stack.yaml", "must be a mapping of keys, got a list"),
    ("domain: photos.example.com\nports: {https: 443\n", "stack.yaml", "invalid YAML at line"),
    ("domain: photos.example.com\ndomain: other.example.com\n", "stack.yaml", "duplicate key 'domain'"),
]


@pytest.mark.parametrize(("text", "path", "rule"), BAD_SPECS, ids=[b[1] + ":" + b[2][:20] for b in BAD_SPECS])
def test_bad_stack_yaml_is_one_clear_line_and_changes_nothing(stack_dir: Path, text: str, path: str, rule: str) -> None:
    (stack_dir / "stack.yaml").write_text(text)
    before = hash_tree(stack_dir)
    result = run_cli("--dir", str(stack_dir), "render")
    assert result.code == 2
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    assert "Traceback" not in result.err
    assert lines[0].startswith(f"error: stack.yaml: {path}") or lines[0].startswith(f"error: {path}"), lines[0]
    assert rule in lines[0]
    assert hash_tree(stack_dir) == before


def _missing_secret(stack_dir: Path) -> None:
    (stack_dir / "secrets" / "mariadb.env").unlink()


def _stack_yaml_is_folder(stack_dir: Path) -> None:
    (stack_dir / "stack.yaml").unlink()
    (stack_dir / "stack.yaml").mkdir()


def _stack_yaml_not_utf8(stack_dir: Path) -> None:
    (stack_dir / "stack.yaml").write_bytes(b"domain: \xff\xfe.example.com\n")


def _no_stack_yaml(stack_dir: Path) -> None:
    (stack_dir / "stack.yaml").unlink()


def _empty_secret(stack_dir: Path) -> None:
    (stack_dir / "secrets" / "haproxy.env").write_text("STATS_PASSWORD=\n")


@pytest.mark.parametrize(
    ("breaker", "fragment"),
    [
        (_missing_secret, "secrets/mariadb.env: missing"),
        (_empty_secret, "STATS_PASSWORD is missing or empty"),
        (_stack_yaml_is_folder, "stack.yaml: is a folder"),
        (_stack_yaml_not_utf8, "stack.yaml: not UTF-8"),
        (_no_stack_yaml, "stack.yaml: not found"),
    ],
)
def test_unusable_stack_files_are_one_clear_line(stack_dir: Path, breaker: object, fragment: str) -> None:
    breaker(stack_dir)  # type: ignore[operator]
    before = hash_tree(stack_dir)
    result = run_cli("--dir", str(stack_dir), "render")
    assert result.code == 2, result.err
    assert len(result.err.strip().splitlines()) == 1
    assert fragment in result.err
    assert hash_tree(stack_dir) == before
