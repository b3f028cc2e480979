"""A stack's subnet against the engine's other networks: `init` pins a free one, and `up` refuses an
overlap before anything changes, naming who holds the range and a free /24 instead."""

from __future__ import annotations

from stackctl.config.spec import StackSpec
from stackctl.config.subnets import free_subnet, name_subnet, overlaps
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
    own = network_model(spec).name
    used = engine.network_subnets()
    holder = overlaps(spec.network.subnet, used, own)
    if holder is None:
        return
    try:
        hint = f"set network.subnet: {free_subnet(spec.name, used, own)} in stack.yaml (that range is free)"
    except LookupError:
        hint = "set network.subnet in stack.yaml to a range no Docker network uses"
    raise InvalidInput(f"network.subnet {spec.network.subnet} overlaps {holder.describe()}, {holder.subnet}", hint)
