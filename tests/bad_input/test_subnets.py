"""Two stacks never share a subnet: `init` pins a /24 that no network of the engine uses, and `up`
refuses an overlap before anything changes, naming the network that holds the range and a free one."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest
import yaml

from stackctl.config.subnets import STACK_RANGES, NetworkSubnet, free_subnet, ipv6_subnet, name_subnet, overlaps
from stackctl.core.errors import OperationFailed
from tests.bad_input.conftest import assert_refused
from tests.fakes import FakeEngine, FakeSwarmEngine, fake_edges
from tests.helpers import hash_tree, run_cli

DOMAIN = "photos.example.com"
DEFAULT = name_subnet("photoprism")


def _taken(subnet: str, network: str = "other_photoprism", stack: str | None = "other") -> NetworkSubnet:
    return NetworkSubnet(network, stack, subnet)


def test_the_names_subnet_is_kept_when_free_else_the_next_free_one() -> None:
    assert free_subnet("photoprism", [], "photoprism_photoprism") == DEFAULT
    third = int(DEFAULT.split(".")[2])
    taken = [_taken(DEFAULT), _taken(f"172.30.{(third + 1) % 256}.0/24")]
    assert free_subnet("photoprism", taken, "photoprism_photoprism") == f"172.30.{(third + 2) % 256}.0/24"
    # A wider range that covers the /24s is an overlap too; the stack's own network is not.
    assert overlaps(DEFAULT, [_taken("172.30.0.0/16")], "photoprism_photoprism") is not None
    assert overlaps(DEFAULT, [_taken(DEFAULT, "photoprism_photoprism")], "photoprism_photoprism") is None
    assert overlaps(DEFAULT, [_taken("fd00::/64")], "x") is None


def test_init_pins_a_subnet_no_network_of_the_engine_uses(tmp_path: Path) -> None:
    engine = FakeEngine(tmp_path, networks=[_taken(DEFAULT)])
    result = run_cli("--dir", str(tmp_path), "init", "--domain", DOMAIN, edges=fake_edges(engine))
    assert result.code == 0, result.err
    subnet = yaml.safe_load((tmp_path / "stack.yaml").read_text())["network"]["subnet"]
    assert subnet != DEFAULT and overlaps(subnet, engine.networks, "photoprism_photoprism") is None


class _NoEngine(FakeEngine):
    def network_subnets(self) -> list[NetworkSubnet]:
        raise OperationFailed("cannot reach the Docker engine", "start it")


def test_init_falls_back_to_the_names_subnet_when_no_engine_answers(tmp_path: Path) -> None:
    result = run_cli("--dir", str(tmp_path), "init", "--domain", DOMAIN, edges=fake_edges(_NoEngine(tmp_path)))
    assert result.code == 0, result.err
    assert yaml.safe_load((tmp_path / "stack.yaml").read_text())["network"]["subnet"] == DEFAULT


@pytest.mark.parametrize("engine_class", [FakeEngine, FakeSwarmEngine])
@pytest.mark.parametrize("form", ["sites", "single-site"])
def test_up_refuses_an_overlap_before_anything_changes_naming_holder_and_a_free_subnet(
    tmp_path: Path, engine_class: type[FakeEngine], form: str
) -> None:
    root = tmp_path / "stack"
    assert run_cli("--dir", str(root), "init", "--domain", DOMAIN, edges=fake_edges(FakeEngine(root))).code == 0
    if form == "single-site":
        (root / "stack.yaml").write_text(f"domain: {DOMAIN}\nnetwork: {{subnet: {DEFAULT}}}\n")
    if engine_class is FakeSwarmEngine:
        (root / "stack.yaml").write_text((root / "stack.yaml").read_text() + "engine: swarm\n")
    engine = engine_class(root, networks=[_taken("172.30.0.0/16", "family_photoprism", "family")])
    before = hash_tree(root)
    result = run_cli("--dir", str(root), "up", edges=fake_edges(engine))
    assert_refused(result, 2, f"network.subnet {DEFAULT} overlaps Docker network family_photoprism (stack family)", [])
    assert f"set network.subnet: 172.31.{DEFAULT.split('.')[2]}.0/24 in stack.yaml" in result.err
    assert hash_tree(root) == before
    assert engine.applied == [] and not any(c.startswith("images") for c in engine.calls)


def test_up_names_the_free_subnet_to_use(tmp_path: Path) -> None:
    root = tmp_path / "stack"
    assert run_cli("--dir", str(root), "init", "--domain", DOMAIN, edges=fake_edges(FakeEngine(root))).code == 0
    engine = FakeEngine(root, networks=[_taken(DEFAULT)])
    result = run_cli("--dir", str(root), "up", edges=fake_edges(engine))
    free = free_subnet("photoprism", engine.networks, "photoprism_photoprism")
    assert result.code == 2 and f"set network.subnet: {free} in stack.yaml" in result.err


@pytest.mark.parametrize("form", ["sites", "single-site"])
def test_up_refuses_an_ipv6_address_while_the_stacks_network_has_no_ipv6_naming_down_then_up(
    tmp_path: Path, form: str
) -> None:
    """Docker cannot add IPv6 to a network in place: the first `up` with an IPv6 address in ports.bind
    on a stack whose network exists says how to make it again, and changes nothing."""
    root = tmp_path / "stack"
    assert run_cli("--dir", str(root), "init", "--domain", DOMAIN, edges=fake_edges(FakeEngine(root))).code == 0
    spec = root / "stack.yaml"
    if form == "single-site":
        spec.write_text(f"domain: {DOMAIN}\nnetwork: {{subnet: {DEFAULT}}}\nports: {{bind: 0.0.0.0}}\n")
    spec.write_text(spec.read_text().replace("bind: 0.0.0.0", 'bind: [0.0.0.0, "::"]', 1))
    subnet = yaml.safe_load((root / "stack.yaml").read_text())["network"]["subnet"]
    engine = FakeEngine(root, networks=[_taken(subnet, "photoprism_photoprism", "photoprism")])
    before = hash_tree(root)
    result = run_cli("--dir", str(root), "up", edges=fake_edges(engine))
    assert_refused(
        result, 2, "the stack's Docker network photoprism_photoprism carries no IPv6, which ports.bind's IPv6 "
        "address needs", [],
    )  # fmt: skip
    assert "run stackctl down, then stackctl up" in result.err
    assert hash_tree(root) == before and engine.applied == []

    # Its IPv6 range follows network.subnet; another network holding it is named.
    engine = FakeEngine(root, networks=[_taken("fd73:746b:6374::/48", "lab", None)])
    result = run_cli("--dir", str(root), "up", edges=fake_edges(engine))
    assert_refused(result, 2, f"the stack's IPv6 range {ipv6_subnet(subnet)}", [])
    assert "overlaps Docker network lab, fd73:746b:6374::/48" in result.err
    assert hash_tree(root) == before and engine.applied == []


def test_the_ipv6_range_differs_whenever_the_ipv4_range_does() -> None:
    ranges = {ipv6_subnet(f"{prefix}.{third}.0/24") for prefix in STACK_RANGES for third in range(256)}
    assert len(ranges) == len(STACK_RANGES) * 256
    assert all(ipaddress.ip_network(r).subnet_of(ipaddress.ip_network("fc00::/7")) for r in ranges)
