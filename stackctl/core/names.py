"""Pure checks of DNS names and of RFC 6125 wildcard matching."""

from __future__ import annotations

import ipaddress
import re

_LABEL = re.compile(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?")


def hostname_problem(name: str) -> str | None:
    """Return the rule `name` breaks as a DNS host name, or None when it is a valid one."""
    if not name:
        return "must not be empty"
    try:
        ipaddress.ip_address(name)
        return "must be a DNS name, not an IP address"
    except ValueError:
        pass
    if len(name) > 253:
        return f"must be at most 253 characters, got {len(name)}"
    labels = name.split(".")
    for label in labels:
        if len(label) > 63:
            return f"each label must be at most 63 characters, got one of {len(label)}"
        if not _LABEL.fullmatch(label):
            return "each label must hold only letters, digits and hyphens and not start or end with a hyphen"
    if labels[-1].isdigit():
        return "the last label must not be all digits"
    return None


def wildcard_covers(pattern: str, name: str) -> bool:
    """RFC 6125 6.4.3: `*` stands for exactly one whole left-most label."""
    pattern, name = pattern.lower().rstrip("."), name.lower().rstrip(".")
    if not pattern.startswith("*."):
        return pattern == name
    suffix = pattern[1:]
    if not name.endswith(suffix):
        return False
    first_label = name[: -len(suffix)]
    return bool(first_label) and "." not in first_label


def uncovered(names: tuple[str, ...] | list[str], patterns: list[str]) -> list[str]:
    """Names that none of `patterns` covers."""
    return [n for n in names if not any(wildcard_covers(p, n) for p in patterns)]


def is_ip(host: str) -> bool:
    """An IPv4 or IPv6 address (not a name)."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
