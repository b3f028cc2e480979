"""compose.yaml: schema-valid, no secrets, no published PhotoPrism port, pinned subnet, right site URL."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from stackctl.render import render_compose
from tests.helpers import run_cli
from tests.specs import EXAMPLES, example

# A copy of shared/compose-spec/compose-spec.json (the official schema, unchanged; see its README).
SCHEMA_PATH = Path(__file__).parent / "data" / "compose-spec.json"


def _schema() -> dict[str, Any]:
    return dict(json.loads(SCHEMA_PATH.read_text()))


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_compose_validates_against_the_official_schema(name: str) -> None:
    document = yaml.safe_load(render_compose(example(name)))
    jsonschema.Draft7Validator(_schema()).validate(document)
    assert document["name"] == example(name).name


def test_schema_validation_can_fail() -> None:
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft7Validator(_schema()).validate({"services": {"x": {"ports": {"bad": 1}}}})


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_photoprism_publishes_no_port_and_trusts_exactly_the_stack_subnet(name: str) -> None:
    """Each of the network's ranges: the IPv4 one, and the IPv6 one of a stack published on IPv6."""
    spec = example(name)
    document = yaml.safe_load(render_compose(spec))
    network = document["networks"]["photoprism"]
    ranges = [pool["subnet"] for pool in network["ipam"]["config"]]
    assert ranges[0] == spec.network.subnet and len(ranges) == (2 if spec.ports.ipv6 else 1)
    assert network.get("enable_ipv6", False) == spec.ports.ipv6
    subnet = ",".join(ranges)
    for site in spec.sites:
        if site.service is None:
            continue
        app = document["services"][site.service]
        assert "ports" not in app and "expose" not in app  # only HAProxy publishes ports
        if site.photoprism is not None:
            assert app["environment"]["PHOTOPRISM_TRUSTED_PROXY"] == subnet
            assert app["environment"]["PHOTOPRISM_DISABLE_TLS"] == "true"


def test_stats_port_is_published_on_loopback_only() -> None:
    ports = yaml.safe_load(render_compose(example("minimal")))["services"]["haproxy"]["ports"]
    assert "0.0.0.0:80:8080" in ports and "0.0.0.0:443:8443" in ports
    assert "127.0.0.1:8404:8404" in ports
    assert [p for p in ports if p.endswith(":8404")] == ["127.0.0.1:8404:8404"]


def test_site_url_with_and_without_custom_https_port() -> None:
    def site_url(name: str) -> str:
        document = yaml.safe_load(render_compose(example(name)))
        return str(document["services"]["photoprism"]["environment"]["PHOTOPRISM_SITE_URL"])

    assert site_url("minimal") == "https://photos.example.com/"
    assert site_url("custom-ports") == "https://photos.home.arpa:8443/"


def test_sqlite_variant_has_no_mariadb() -> None:
    document = yaml.safe_load(render_compose(example("sqlite")))
    assert set(document["services"]) == {"photoprism", "haproxy"}
    assert document["services"]["photoprism"]["environment"]["PHOTOPRISM_DATABASE_DRIVER"] == "sqlite"
    assert "depends_on" not in document["services"]["photoprism"]


def test_mariadb_has_official_flags_and_healthcheck() -> None:
    mariadb = yaml.safe_load(render_compose(example("minimal")))["services"]["mariadb"]
    assert mariadb["healthcheck"]["test"] == ["CMD", "healthcheck.sh", "--connect", "--innodb_initialized"]
    assert "--transaction-isolation=READ-COMMITTED" in mariadb["command"]


def test_rendered_compose_contains_no_secret_value(stack_dir: Path) -> None:
    assert run_cli("--dir", str(stack_dir), "render").code == 0
    compose = (stack_dir / "compose" / "compose.yaml").read_text()
    haproxy_cfg = (stack_dir / "compose" / "haproxy" / "haproxy.cfg").read_text()
    secrets = []
    for env_file in [*(stack_dir / "secrets").glob("*.env"), *(stack_dir / "secrets").glob("sites/*.env")]:
        secrets += [line.split("=", 1)[1] for line in env_file.read_text().splitlines() if "=" in line]
    assert len(secrets) == 7
    for value in secrets:
        assert value not in compose
        assert value not in haproxy_cfg
    services = yaml.safe_load(compose)["services"]
    assert services["photoprism-photos-example-com"]["env_file"] == ["../secrets/sites/photos-example-com.env"]
    assert services["mariadb"]["env_file"] == ["../secrets/mariadb.env"]


def test_every_service_restarts_after_a_crash_whatever_stopped_it_before() -> None:
    # `unless-stopped` is not enough: Docker counts a signal sent through its API as a manual stop.
    for name in EXAMPLES:
        services = yaml.safe_load(render_compose(example(name)))["services"]
        assert {s["restart"] for s in services.values()} == {"always"}, name


def test_dual_stack_publishes_http_and_https_on_each_address_and_stats_on_ipv4_loopback_only() -> None:
    ports = yaml.safe_load(render_compose(example("dual-stack")))["services"]["haproxy"]["ports"]
    assert ports == ["0.0.0.0:80:8080", "[::]:80:8080", "0.0.0.0:443:8443", "[::]:443:8443", "127.0.0.1:8404:8404"]
    assert example("dual-stack").ports.local_addresses == ("127.0.0.1", "::1")


def test_the_engine_publishes_each_address_and_a_single_one_as_before(tmp_path: Path) -> None:
    from stackctl.config.layout import StackPaths
    from stackctl.engines.model import haproxy_service

    dual = haproxy_service(example("dual-stack"), StackPaths(tmp_path))
    assert dual.sdk_ports["8443/tcp"] == [("0.0.0.0", 443), ("::", 443)]
    assert dual.sdk_ports["8404/tcp"] == ("127.0.0.1", 8404)
    single = haproxy_service(example("minimal"), StackPaths(tmp_path))
    assert single.sdk_ports["8443/tcp"] == ("0.0.0.0", 443)  # the form (and config hash) of earlier versions


def test_a_container_of_an_earlier_version_is_kept_and_a_changed_one_is_not(stack_dir: Path) -> None:
    from stackctl.config.layout import StackPaths
    from stackctl.config.spec import load_spec
    from stackctl.engines.model import services

    spec = load_spec(stack_dir / "stack.yaml")
    for service in services(spec, StackPaths(stack_dir)):
        # The hash label earlier versions wrote: the same document with their restart policy in it.
        earlier = {
            "image": service.image, "command": service.command, "environment": service.environment,
            "ports": {key: bound[0] for key, bound in service.ports.items()},  # one address each, as then
            "binds": [b.as_sdk() for b in service.binds], "healthcheck": service.healthcheck,
            "options": {**service.options, "restart_policy": {"Name": "unless-stopped"}},
        }  # fmt: skip
        label = hashlib.sha256(json.dumps(earlier, sort_keys=True).encode()).hexdigest()
        assert service.matches(label) and service.matches(service.config_hash), service.name
        changed = {**earlier, "image": "other:1"}
        assert not service.matches(hashlib.sha256(json.dumps(changed, sort_keys=True).encode()).hexdigest())
        assert not service.matches(None)
