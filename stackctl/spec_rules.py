"""The rules of stack.yaml values: converters that return a typed value or raise SpecError with the
key path and the rule broken. Pure."""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable
from typing import Any, TypeVar

from stackctl.errors import SpecError
from stackctl.names import hostname_problem

_PROJECT_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
ACME_DIRECTORIES = {
    "letsencrypt": "https://acme-v02.api.letsencrypt.org/directory",
    "letsencrypt-staging": "https://acme-staging-v02.api.letsencrypt.org/directory",
}
# Variables stackctl sets itself; letting photoprism.env override them would break the wiring.
MANAGED_PHOTOPRISM_ENV = frozenset(
    {
        "PHOTOPRISM_SITE_URL",
        "PHOTOPRISM_TRUSTED_PROXY",
        "PHOTOPRISM_DISABLE_TLS",
        "PHOTOPRISM_ADMIN_USER",
        "PHOTOPRISM_ADMIN_PASSWORD",
        "PHOTOPRISM_DATABASE_DRIVER",
        "PHOTOPRISM_DATABASE_SERVER",
        "PHOTOPRISM_DATABASE_NAME",
        "PHOTOPRISM_DATABASE_USER",
        "PHOTOPRISM_DATABASE_PASSWORD",
    }
)


def show(value: Any) -> str:
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)


def kind(value: Any) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return show(value)


T = TypeVar("T")


class Section:
    """One mapping of stack.yaml; remembers which keys were read so leftovers are reported as unknown."""

    def __init__(self, raw: Any, path: str) -> None:
        if raw is None:
            raw = {}
        if not isinstance(raw, dict):
            raise SpecError(path or "stack.yaml", f"must be a mapping of keys, got {kind(raw)}")
        self.raw: dict[Any, Any] = raw
        self.path = path
        self._known: list[str] = []

    def key_path(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def take(self, key: str, default: T, convert: Callable[[str, Any], T]) -> T:
        self._known.append(key)
        if key not in self.raw:
            return default
        return convert(self.key_path(key), self.raw[key])

    def section(self, key: str) -> Section:
        self._known.append(key)
        return Section(self.raw.get(key), self.key_path(key))

    def finish(self) -> None:
        for key in self.raw:
            if key not in self._known:
                raise SpecError(self.key_path(str(key)), f"unknown key (known keys: {', '.join(self._known)})")


def string(path: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise SpecError(path, f"must be a non-empty string, got {kind(value)}")
    if any(c in value for c in "\n\r\0"):
        raise SpecError(path, "must be a single line")
    return value


def optional_string(path: str, value: Any) -> str | None:
    return None if value is None else string(path, value)


def boolean(path: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise SpecError(path, f"must be true or false, got {kind(value)}")
    return value


def choice(*choices: str) -> Callable[[str, Any], str]:
    def convert(path: str, value: Any) -> str:
        if value not in choices:
            raise SpecError(path, f"must be one of {', '.join(choices)}, got {kind(value)}")
        return str(value)

    return convert


def port(path: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
        raise SpecError(path, f"must be an integer from 1 to 65535, got {kind(value)}")
    return value


def hostname(path: str, value: Any) -> str:
    if not isinstance(value, str):
        raise SpecError(path, f"must be a DNS name, got {kind(value)}")
    name = value.strip().lower().rstrip(".")
    problem = hostname_problem(name)
    if problem:
        raise SpecError(path, f"{problem}, got {show(value)}")
    return name


def ip_address(path: str, value: Any) -> str:
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        raise SpecError(path, f"must be an IP address such as 0.0.0.0 or 127.0.0.1, got {kind(value)}") from None


def image(path: str, value: Any) -> str:
    text = string(path, value)
    if any(c.isspace() for c in text):
        raise SpecError(path, f"must be an image reference without spaces, got {show(value)}")
    return text


def aliases(path: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise SpecError(path, f"must be a list of DNS names, got {kind(value)}")
    names = tuple(hostname(f"{path}[{i}]", item) for i, item in enumerate(value))
    for i, name in enumerate(names):
        if name in names[:i]:
            raise SpecError(f"{path}[{i}]", f"duplicate name {show(name)}")
    return names


def project_name(path: str, value: Any) -> str:
    if not isinstance(value, str) or not _PROJECT_NAME.match(value):
        raise SpecError(
            path,
            "must start with a lowercase letter or digit and hold only lowercase letters, digits, "
            f"'-' and '_', got {kind(value)}",
        )
    return value


def subnet(path: str, value: Any) -> str:
    try:
        network = ipaddress.ip_network(value, strict=True)
    except (TypeError, ValueError):
        raise SpecError(path, f"must be an IPv4 network such as 172.30.5.0/24, got {kind(value)}") from None
    if network.version != 4 or not network.is_private or network.prefixlen > 28:
        raise SpecError(path, f"must be a private IPv4 network of /28 or larger, got {show(value)}")
    return str(network)


def admin_user(path: str, value: Any) -> str:
    text = string(path, value)
    if not re.match(r"^[a-z0-9][a-z0-9._@-]{0,63}$", text):
        raise SpecError(path, f"must be lowercase letters, digits, '.', '_', '@' or '-', got {show(value)}")
    return text


def acme_directory(path: str, value: Any) -> str:
    if value in ACME_DIRECTORIES or (isinstance(value, str) and value.startswith("https://")):
        return str(value)
    raise SpecError(path, f"must be letsencrypt, letsencrypt-staging or an https:// URL, got {kind(value)}")


def email(path: str, value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not _EMAIL.match(value):
        raise SpecError(path, f"must be an email address, got {kind(value)}")
    return value


def env_vars(path: str, value: Any) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, dict):
        raise SpecError(path, f"must be a mapping of variable names to values, got {kind(value)}")
    pairs = []
    for key, item in value.items():
        if not isinstance(key, str) or not _ENV_NAME.match(key):
            raise SpecError(f"{path}.{key}", "must be a variable name of letters, digits and '_'")
        if key in MANAGED_PHOTOPRISM_ENV:
            raise SpecError(f"{path}.{key}", "is set by stackctl; use the matching stack.yaml key instead")
        if isinstance(item, bool):
            text = "true" if item else "false"
        elif isinstance(item, (str, int, float)):
            text = str(item)
        else:
            raise SpecError(f"{path}.{key}", f"must be a string, number or boolean, got {kind(item)}")
        pairs.append((key, text))
    return tuple(sorted(pairs))
