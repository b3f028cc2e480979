"""A stack's subnet against the engine's other networks: `init` pins a free one, and `up` refuses an
overlap before anything changes, naming who holds the range and a free /24 instead."""

from __future__ import annotations

import ipaddress

from stackctl.config.spec import StackSpec
from stackctl.config.subnets import NetworkSubnet, free_subnet, name_subnet, overlaps
from stackctl.core.errors import InvalidInput, StackctlError
from stackctl.engines.base import Engine
from stackctl.render.services import NETWORK, network_model


def subnet_for_new_stack(engine: Engine, project_name: str) -> str:
    """A /24 no network of the engine uses; the name's own when no engine answers."""
    try:
        used = engine.network_subnets()
    except StackctlError:
        return name_subnet(project_name)
    try:
        return free_subnet(project_name, used, f"{project_name}_{NETWORK}")
    except LookupError:
        return name_subnet(project_name)


def check_subnet_free(engine: Engine, spec: StackSpec) -> None:
    network = network_model(spec)
    own = network.name
    used = engine.network_subnets()
    if network.subnet6 is not None:
        _check_ipv6(network.subnet6, used, own)
    holder = overlaps(spec.network.subnet, used, own)
    if holder is None:
        return
    try:
        hint = f"set network.subnet: {free_subnet(spec.name, used, own)} in stack.yaml (that range is free)"
    except LookupError:
        hint = "set network.subnet in stack.yaml to a range no Docker network uses"
    raise InvalidInput(f"network.subnet {spec.network.subnet} overlaps {holder.describe()}, {holder.subnet}", hint)


def _check_ipv6(subnet6: str, used: list[NetworkSubnet], own: str) -> None:
    """The stack's IPv6 range is free, and its network, if it exists, carries it: Docker cannot add
    IPv6 to a network in place."""
    holder = overlaps(subnet6, used, own)
    if holder is not None:
        raise InvalidInput(
            f"the stack's IPv6 range {subnet6} (for ports.bind's IPv6 address) overlaps "
            f"{holder.describe()}, {holder.subnet}",
            "set network.subnet in stack.yaml to another free /24: the IPv6 range follows it",
        )
    ranges = {ipaddress.ip_network(item.subnet, strict=False) for item in used if item.network == own}
    if ranges and ipaddress.ip_network(subnet6) not in ranges:
        raise InvalidInput(
            f"the stack's Docker network {own} carries no IPv6, which ports.bind's IPv6 address needs",
            "run stackctl down, then stackctl up: the network is made again with IPv6 (the containers "
            "restart; volumes, photos and certificates are kept)",
        )
