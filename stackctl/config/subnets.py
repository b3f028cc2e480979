"""Which address ranges the engine's networks hold, and a free /24 for a stack: two stacks on one
machine must never share a subnet (Docker refuses the second network, naming neither stack)."""

from __future__ import annotations

import ipaddress
import zlib
from collections.abc import Iterable
from dataclasses import dataclass

# Stacks get a /24 of the first of these ranges, starting at the one the name hashes to; the others are
# for a machine whose first range is taken (by another tool's network, say).
STACK_RANGES = ("172.30", "172.31", "10.230", "10.231")
IPV6_PREFIX = 0xFD73_746B_6374  # fd73:746b:6374::/48, a unique local prefix: fd, then "stkct" in ASCII


@dataclass(frozen=True)
class NetworkSubnet:
    network: str  # the Docker network's name
    stack: str | None  # the compose project or Swarm stack it belongs to, when it has one
    subnet: str

    def describe(self) -> str:
        return f"Docker network {self.network}" + (f" (stack {self.stack})" if self.stack else "")


def name_subnet(project_name: str) -> str:
    """The /24 a stack's name hashes to: the first choice, and the answer when no engine is reachable."""
    return f"172.30.{zlib.crc32(project_name.encode()) % 256}.0/24"


def ipv6_subnet(ipv4_subnet: str) -> str:
    """The stack's IPv6 range beside its IPv4 one: a unique local /80 whose last 32 bits are the IPv4
    network's address, so stacks whose IPv4 ranges differ (as they must) never share it either."""
    ipv4 = int(ipaddress.ip_network(ipv4_subnet).network_address)
    return str(ipaddress.IPv6Network(((IPV6_PREFIX << 80) | (ipv4 << 48), 80)))


def overlaps(subnet: str, used: Iterable[NetworkSubnet], own_network: str) -> NetworkSubnet | None:
    """The first network other than the stack's own whose range overlaps `subnet`."""
    wanted = ipaddress.ip_network(subnet)
    for item in used:
        try:
            theirs = ipaddress.ip_network(item.subnet, strict=False)
        except ValueError:
            continue
        if item.network != own_network and theirs.version == wanted.version and theirs.overlaps(wanted):
            return item
    return None


def free_subnet(project_name: str, used: list[NetworkSubnet], own_network: str) -> str:
    """The name's /24 if it is free, else the next free /24 of 172.30.0.0/16 (then of the other ranges)."""
    start = int(name_subnet(project_name).split(".")[2])
    for prefix in STACK_RANGES:
        for step in range(256):
            candidate = f"{prefix}.{(start + step) % 256}.0/24"
            if overlaps(candidate, used, own_network) is None:
                return candidate
    raise LookupError(f"every /24 of {', '.join(p + '.0.0/16' for p in STACK_RANGES)} is taken")
