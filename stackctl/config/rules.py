"""The rules of stack.yaml values: converters that return a typed value or raise SpecError with the
key path and the rule broken. Pure."""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable
from typing import Any, Literal, TypeVar
from urllib.parse import urlsplit

from stackctl.core.errors import SpecError
from stackctl.core.names import hostname_problem

# Every pattern is used with fullmatch: `$` would also match before a final newline.
_PROJECT_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]+\.[^@\s]+")
_ADMIN_USER = re.compile(r"[a-z0-9][a-z0-9._@-]{0,63}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# A Docker image reference: [registry[:port]/]path[:tag][@digest] (distribution/reference's grammar).
_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_IMAGE = re.compile(
    rf"(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*(?::[0-9]{{1,5}})?/)?"
    rf"{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*"
    r"(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?"
    r"(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?"
)
MAX_STRING = 4096
SHOWN_CHARS = 80
ACME_DIRECTORIES = {
    "letsencrypt": "https://acme-v02.api.letsencrypt.org/directory",
    "letsencrypt-staging": "https://acme-staging-v02.api.letsencrypt.org/directory",
}
# Variables stackctl sets itself; letting photoprism.env override them would break the wiring.
# Compared after trimming and upper-casing the name. PHOTOPRISM_PUBLIC is the older switch for
# PHOTOPRISM_AUTH_MODE=public, and a DSN or socket would bypass the database and backend wiring.
MANAGED_PHOTOPRISM_ENV = frozenset(
    {
        "PHOTOPRISM_AUTH_MODE",
        "PHOTOPRISM_PUBLIC",
        "PHOTOPRISM_HTTP_PORT",
        "PHOTOPRISM_HTTP_HOST",
        "PHOTOPRISM_HTTP_SOCKET",
        "PHOTOPRISM_DEFAULT_TLS",
        "PHOTOPRISM_TLS_EMAIL",
        "PHOTOPRISM_TLS_CERT",
        "PHOTOPRISM_TLS_KEY",
        "PHOTOPRISM_DATABASE_DSN",
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
    """A value as an error line shows it: JSON-quoted (a newline shows as \\n), cut at SHOWN_CHARS."""
    if isinstance(value, (list, dict)):
        return kind(value)
    try:
        text = json.dumps(value)
    except (TypeError, ValueError):
        text = type(value).__name__
    return text if len(text) <= SHOWN_CHARS else f'{text[: SHOWN_CHARS - 12]}..." ({len(text)} chars)'


def kind(value: Any) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return show(value)


T = TypeVar("T")
C = TypeVar("C", bound=str)


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

    def section_list(self, key: str) -> list[Section]:
        """A non-empty list of mappings, each a Section of its own (`key[0]`, `key[1]`, ...)."""
        self._known.append(key)
        raw = self.raw.get(key)
        if not isinstance(raw, list) or not raw:
            raise SpecError(self.key_path(key), f"must be a non-empty list of mappings, got {kind(raw)}")
        return [Section(item, self.key_path(f"{key}[{i}]")) for i, item in enumerate(raw)]

    def finish(self) -> None:
        for key in self.raw:
            if key not in self._known:
                name = str(key) if isinstance(key, str) and _ENV_NAME.fullmatch(key) else show(key)
                raise SpecError(self.key_path(name), f"unknown key (known keys: {', '.join(self._known)})")


def string(path: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise SpecError(path, f"must be a non-empty string, got {kind(value)}")
    if _CONTROL.search(value):
        raise SpecError(path, f"must be a single line without control characters, got {show(value)}")
    if len(value) > MAX_STRING:
        raise SpecError(path, f"must be at most {MAX_STRING} characters, got {len(value)}")
    return value


def host_path(path: str, value: Any) -> str:
    """A host folder: it becomes the source of a bind mount, where `:` would start a new field."""
    text = string(path, value)
    if ":" in text:
        raise SpecError(path, f"must be a folder path without ':' (it would add mount options), got {show(value)}")
    if text != text.strip():
        raise SpecError(path, f"must not start or end with spaces, got {show(value)}")
    return text


def optional_host_path(path: str, value: Any) -> str | None:
    return None if value is None else host_path(path, value)


def optional_string(path: str, value: Any) -> str | None:
    return None if value is None else string(path, value)


def optional(convert: Callable[[str, Any], T]) -> Callable[[str, Any], T | None]:
    """`convert`, or None for a null value."""

    def convert_or_none(path: str, value: Any) -> T | None:
        return None if value is None else convert(path, value)

    return convert_or_none


def boolean(path: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise SpecError(path, f"must be true or false, got {kind(value)}")
    return value


Tristate = Literal["auto", "true", "false"]


def tristate(path: str, value: Any) -> Tristate:
    """true, false or auto, kept as text."""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value == "auto":
        return "auto"
    shown = show(value) if isinstance(value, str) else kind(value)
    raise SpecError(path, f"must be true, false or auto, got {shown}")


def choice(*choices: C) -> Callable[[str, Any], C]:
    """One of `choices`, typed as they are (a Literal's values give that Literal)."""

    def convert(path: str, value: Any) -> C:
        for known in choices:
            if value == known and isinstance(value, str):
                return known
        raise SpecError(path, f"must be one of {', '.join(choices)}, got {kind(value)}")

    return convert


def count(low: int, high: int) -> Callable[[str, Any], int]:
    def convert(path: str, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise SpecError(path, f"must be an integer from {low} to {high}, got {kind(value)}")
        return value

    return convert


def port(path: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
        raise SpecError(path, f"must be an integer from 1 to 65535, got {kind(value)}")
    return value


def hostname(path: str, value: Any) -> str:
    if not isinstance(value, str):
        raise SpecError(path, f"must be a DNS name, got {kind(value)}")
    if not value.isascii() or any(c.isspace() or not c.isprintable() for c in value):
        raise SpecError(path, f"must be a DNS name of letters, digits, '-' and '.', got {show(value)}")
    name = value.lower().removesuffix(".")
    problem = hostname_problem(name)
    if problem:
        raise SpecError(path, f"{problem}, got {show(value)}")
    return name


def ip_address(path: str, value: Any) -> str:
    """An IPv4 or IPv6 address written as a string in its plain form: an integer such as 127 would
    silently mean 0.0.0.127, and a zone (fe80::1%eth0) is not an address of the host as a whole."""
    rule = "must be an IP address written as text, such as 0.0.0.0, 127.0.0.1, :: or ::1"
    if not isinstance(value, str):
        raise SpecError(path, f"{rule}, got {kind(value)}")
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        raise SpecError(path, f"{rule}, got {show(value)}") from None
    if isinstance(address, ipaddress.IPv6Address) and address.scope_id is not None:
        raise SpecError(path, f"{rule}, without a zone, got {show(value)}")
    if str(address) != value:
        raise SpecError(path, f"{rule} (written in its plain form {address}), got {show(value)}")
    return value


BIND_ADDRESSES_MAX = 8


def bind_addresses(path: str, value: Any) -> tuple[str, ...]:
    """ports.bind: one address, or a list of them (dual stack: [0.0.0.0, "::"]). Docker publishes a port
    once per address, so two that overlap (every IPv4 address and one of them) could not both bind."""
    if not isinstance(value, list):
        return (ip_address(path, value),)
    if not 1 <= len(value) <= BIND_ADDRESSES_MAX:
        raise SpecError(path, f"must be an IP address or a list of 1 to {BIND_ADDRESSES_MAX} of them, "
                              f"got a list of {len(value)}")  # fmt: skip
    addresses = tuple(ip_address(f"{path}[{i}]", item) for i, item in enumerate(value))
    for i, text in enumerate(addresses):
        address = ipaddress.ip_address(text)
        for earlier in map(ipaddress.ip_address, addresses[:i]):
            if address == earlier:
                raise SpecError(f"{path}[{i}]", f"duplicate address {text}")
            if address.version == earlier.version and (address.is_unspecified or earlier.is_unspecified):
                wildcard = address if address.is_unspecified else earlier
                every = f"every IPv{address.version} address of this host"
                raise SpecError(f"{path}[{i}]", f"{text} overlaps {earlier}: {wildcard} is already {every}; keep one")
    return addresses


def image(path: str, value: Any) -> str:
    text = string(path, value)
    if len(text) > 255 or not _IMAGE.fullmatch(text):
        rule = "must be an image reference such as haproxy:3.2 or registry:5000/name:tag"
        raise SpecError(path, f"{rule}, got {show(value)}")
    return text


def alias(path: str, value: Any) -> str:
    """A DNS name, or a wildcard `*.` in front of one (whether a wildcard is allowed is the spec's call)."""
    if isinstance(value, str) and value.startswith("*."):
        return "*." + hostname(path, value[2:])
    return hostname(path, value)


def aliases(path: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise SpecError(path, f"must be a list of DNS names, got {kind(value)}")
    names = tuple(alias(f"{path}[{i}]", item) for i, item in enumerate(value))
    for i, name in enumerate(names):
        if name in names[:i]:
            raise SpecError(f"{path}[{i}]", f"duplicate name {show(name)}")
    return names


def project_name(path: str, value: Any) -> str:
    if not isinstance(value, str) or not _PROJECT_NAME.fullmatch(value):
        raise SpecError(
            path,
            "must start with a lowercase letter or digit and hold at most 63 lowercase letters, digits, "
            f"'-' and '_', got {kind(value)}",
        )
    return value


def subnet(path: str, value: Any) -> str:
    if not isinstance(value, str):
        raise SpecError(path, f"must be an IPv4 network such as 172.30.5.0/24, got {kind(value)}")
    try:
        network = ipaddress.ip_network(value, strict=True)
    except (TypeError, ValueError):
        raise SpecError(path, f"must be an IPv4 network such as 172.30.5.0/24, got {kind(value)}") from None
    if network.version != 4 or not network.is_private or network.prefixlen > 28:
        raise SpecError(path, f"must be a private IPv4 network of /28 or larger, got {show(value)}")
    return str(network)


def admin_user(path: str, value: Any) -> str:
    text = string(path, value)
    if not _ADMIN_USER.fullmatch(text):
        raise SpecError(path, f"must be lowercase letters, digits, '.', '_', '@' or '-', got {show(value)}")
    return text


def acme_directory(path: str, value: Any) -> str:
    if value in ACME_DIRECTORIES:
        return str(value)
    rule = "must be letsencrypt, letsencrypt-staging or an https:// URL"
    if not isinstance(value, str) or len(value) > 2048 or _CONTROL.search(value) or " " in value:
        raise SpecError(path, f"{rule}, got {kind(value)}")
    url = urlsplit(value)
    if url.scheme != "https" or not url.hostname:
        raise SpecError(path, f"{rule}, got {show(value)}")
    return value


def email(path: str, value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > 254 or not _EMAIL.fullmatch(value) or _CONTROL.search(value):
        raise SpecError(path, f"must be an email address, got {kind(value)}")
    return value


def environment(
    path: str, value: Any, check_key: Callable[[str, Any], None] | None = None
) -> tuple[tuple[str, str], ...]:
    """A mapping of variable names to one-line values, sorted; `check_key(path, key)` may refuse a key
    before its name is checked."""
    if not isinstance(value, dict):
        raise SpecError(path, f"must be a mapping of variable names to values, got {kind(value)}")
    pairs = []
    for key, item in value.items():
        if check_key is not None:
            check_key(path, key)
        if not isinstance(key, str) or not _ENV_NAME.fullmatch(key):
            raise SpecError(f"{path}[{show(key)}]", "must be a variable name of letters, digits and '_'")
        if isinstance(item, bool):
            text = "true" if item else "false"
        elif isinstance(item, (str, int, float)):
            text = string(f"{path}.{key}", str(item)) if str(item) else ""
        else:
            raise SpecError(f"{path}.{key}", f"must be a string, number or boolean, got {kind(item)}")
        pairs.append((key, text))
    return tuple(sorted(pairs))


def _not_managed(path: str, key: Any) -> None:
    if isinstance(key, str) and key.strip().upper() in MANAGED_PHOTOPRISM_ENV:
        raise SpecError(
            f"{path}.{key.strip()}",
            "is set by stackctl and cannot be overridden",
            "remove it; the matching stack.yaml key (domain, ports, database, photoprism.admin_user) sets it",
        )


def env_vars(path: str, value: Any) -> tuple[tuple[str, str], ...]:
    """PhotoPrism's extra environment: any variable but the ones stackctl sets itself."""
    return environment(path, value, _not_managed)
