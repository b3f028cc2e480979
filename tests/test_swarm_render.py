"""engine: swarm in stack.yaml, and the deployment rendered from it (pure: no engine)."""

from __future__ import annotations

from pathlib import Path

import jsonschema
import pytest
import yaml

from stackctl.config.spec import StackSpec, spec_from_data
from stackctl.core.errors import SpecError
from stackctl.render import render_swarm_stack
from stackctl.render.haproxy import EdgeFeatures
from stackctl.render.swarm import object_name, secret_sources, swarm_services
from tests.fakes import FakeSwarmEngine, fake_edges
from tests.helpers import run_cli
from tests.test_compose import _schema

BASE = {"domain": "photos.example.com", "engine": "swarm"}


def test_engine_defaults_to_docker_and_refuses_other_values() -> None:
    assert spec_from_data({"domain": "photos.example.com"}).engine == "docker"
    with pytest.raises(SpecError, match="engine"):
        spec_from_data({**BASE, "engine": "kubernetes"})


def test_swarm_refuses_a_bind_address() -> None:
    with pytest.raises(SpecError, match=r"ports\.bind"):
        spec_from_data({**BASE, "ports": {"bind": "127.0.0.1"}})


def test_swarm_publishes_http3_over_udp_on_each_edge_node_in_host_mode() -> None:
    spec = spec_from_data({**BASE, "ports": {"http3": True}})
    digests = {source.key: "0123456789ab" for source in secret_sources(spec)}
    files = render_swarm_stack(spec, None, digests, EdgeFeatures(True))
    compose = yaml.safe_load(files["compose/compose.yaml"])
    ports = compose["services"]["haproxy"]["ports"]
    assert {"target": 8443, "published": 443, "protocol": "udp", "mode": "host"} in ports
    assert "quic4@" in files["compose/haproxy/haproxy.cfg"]
    jsonschema.validate(compose, _schema())


def _rendered() -> tuple[dict[str, str], StackSpec]:
    spec = spec_from_data(BASE)
    digests = {source.key: "0123456789ab" for source in secret_sources(spec)}
    return render_swarm_stack(spec, None, digests), spec


def test_compose_is_a_valid_stack_file_without_secrets() -> None:
    files, _ = _rendered()
    document = yaml.safe_load(files["compose/compose.yaml"])
    jsonschema.Draft7Validator(_schema()).validate(document)
    assert all("depends_on" not in s and "container_name" not in s for s in document["services"].values())
    assert all(secret.get("external") for secret in document["secrets"].values())
    assert document["networks"]["photoprism"]["driver"] == "overlay"
    photoprism = document["services"]["photoprism"]
    assert photoprism["environment"]["PHOTOPRISM_DATABASE_PASSWORD_FILE"] == "/run/secrets/photoprism-database-password"
    assert "env_file" not in photoprism
    assert (
        photoprism["environment"]["PHOTOPRISM_TRUSTED_PROXY"]
        == document["networks"]["photoprism"]["ipam"]["config"][0]["subnet"]
    )


def test_haproxy_is_global_on_edge_nodes_with_host_ports_and_its_userlist_apart() -> None:
    files, spec = _rendered()
    haproxy = next(s for s in swarm_services(spec, ["haproxy.cfg"]) if s.name == "haproxy")
    assert haproxy.global_mode and haproxy.constraints == ("node.labels.stackctl.edge == true",)
    assert {p.container_port for p in haproxy.model.ports} == {8080, 8443}  # no stats port on the nodes
    assert "STATS_PASSWORD" not in files["compose/haproxy/haproxy.cfg"]
    assert "-f" in (haproxy.model.command or ())


def test_object_names_fit_dockers_limit() -> None:
    name = object_name("photoprism", "tls-" + "a" * 80 + ".example.com", "0123456789ab")
    assert len(name) <= 64 and name.endswith("-0123456789ab")


def test_backup_on_a_swarm_node_without_the_data_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    (tmp_path / "stack.yaml").write_text("domain: photos.example.com\nengine: swarm\n")
    assert run_cli("--dir", str(tmp_path), "init").code == 0
    before = sorted(p.name for p in tmp_path.iterdir())
    engine = FakeSwarmEngine(tmp_path, elsewhere={"mariadb"})
    result = run_cli("--dir", str(tmp_path), "backup", "--no-encrypt", "--to", str(tmp_path / "out"),
                     edges=fake_edges(engine))  # fmt: skip
    assert result.code == 1
    assert "\nerror: mariadb has no running task on this node: " in result.err
    assert "run stackctl on the node labeled stackctl.data=true" in result.err
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_restoring_one_site_on_swarm_is_refused_with_the_reason(tmp_path: Path) -> None:
    (tmp_path / "stack.yaml").write_text("domain: photos.example.com\nengine: swarm\n")
    archive = tmp_path / "a.tar.gz"
    archive.write_bytes(b"not read")
    result = run_cli("--dir", str(tmp_path), "restore", str(archive), "--site", "photos.example.com")
    assert result.code == 2 and "error: restore --site is not available with engine: swarm" in result.err
