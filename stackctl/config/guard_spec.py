"""What the edge guards for PhotoPrism: a site's `guard:` key (login throttling, `guard.login`), its
`exposure:` and `allow:` (who reaches it), and the stack's `limits:` (how long a request may take to
arrive, how large its body may be, by path). Pure."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from stackctl.config import rules as rule
from stackctl.core.errors import SpecError

DURATION = re.compile(r"([0-9]{1,7})([smhd]?)")
UNIT_SECONDS: dict[str | None, int] = {None: 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
MAX_BAN_S = 7 * 86400
Exposure = Literal["public", "private", "shares"]
EXPOSURES: tuple[Exposure, ...] = ("public", "private", "shares")
MAX_ALLOW = 1000
SIZE = re.compile(r"([0-9]{1,13})(KiB|MiB|GiB)?")
UNIT_BYTES: dict[str | None, int] = {None: 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30}


@dataclass(frozen=True)
class LoginGuard:
    """Past `failures` failed logins from one address within `window_s`, that address is refused on the
    login endpoints for `ban_s`, doubled on each repeat up to `max_ban_s`."""

    failures: int = 10
    window_s: int = 600
    ban_s: int = 600
    max_ban_s: int = 86400


def _measure(
    pattern: re.Pattern[str], units: dict[str | None, int], low: int, high: int, rule_text: str
) -> Callable[[str, Any], int]:
    """A whole number, alone or followed by one of `units`, within [low, high] once multiplied out."""

    def convert(path: str, value: Any) -> int:
        text = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
        match = pattern.fullmatch(text) if isinstance(text, str) else None
        amount = int(match.group(1)) * units[match.group(2) or None] if match else None
        if amount is None or not low <= amount <= high:
            raise SpecError(path, f"must be {rule_text}, got {rule.kind(value)}")
        return amount

    return convert


def duration(low: int, high: int) -> Callable[[str, Any], int]:
    """Seconds, written as a whole number of seconds or with a unit: 90, 90s, 10m, 1h, 1d."""
    shown = f"{high // 86400}d" if high >= 86400 else f"{high // 3600}h"
    return _measure(DURATION, UNIT_SECONDS, low, high, f"a duration from {low}s to {shown} (such as 600, 10m, 1h, 1d)")


def login_guard(section: rule.Section, photoprism: bool) -> LoginGuard | None:
    """`guard:` of a site: `login:` is a mapping of thresholds, `on` for the defaults or `off`. A
    PhotoPrism site is guarded unless told otherwise; an upstream site has no login PhotoPrism's way."""
    raw = section.raw.get("login", photoprism)
    section.take("login", None, lambda p, v: v)
    section.finish()
    path = section.key_path("login")
    if raw is False or raw == "off":  # YAML 1.1 reads a bare `off` as false
        return None
    if not photoprism:
        raise SpecError(
            path, "throttles PhotoPrism's login endpoints, and this site is not PhotoPrism",
            "remove guard: from this site",
        )  # fmt: skip
    if raw is True or raw == "on":
        return LoginGuard()
    if not isinstance(raw, dict):
        raise SpecError(path, f"must be off, on or a mapping (failures, window, ban, max_ban), got {rule.kind(raw)}")
    login = rule.Section(raw, path)
    guard = LoginGuard(
        failures=login.take("failures", LoginGuard.failures, rule.count(1, 10000)),
        window_s=login.take("window", LoginGuard.window_s, duration(10, 86400)),
        ban_s=login.take("ban", LoginGuard.ban_s, duration(1, MAX_BAN_S)),
        max_ban_s=login.take("max_ban", LoginGuard.max_ban_s, duration(1, MAX_BAN_S)),
    )
    login.finish()
    if guard.max_ban_s < guard.ban_s:
        raise SpecError(login.key_path("max_ban"), f"must be at least ban ({guard.ban_s}s), got {guard.max_ban_s}s")
    return guard


@dataclass(frozen=True)
class RequestLimits:
    """`limits:`. Upload and WebDAV paths stream without a body limit and may take PhotoPrism `upload_s`
    to answer; on every other path a request's head and body must arrive within `request_s` and its
    body may be at most `body_max` bytes."""

    request_s: int = 10
    body_max: int = 8 << 20
    upload_s: int = 3600


def size(low: int, high: int) -> Callable[[str, Any], int]:
    """Bytes, as a whole number or with a unit: 1048576, 1024KiB, 8MiB, 1GiB."""
    what = f"a size from {low >> 10}KiB to {high >> 30}GiB (bytes, or with KiB, MiB or GiB, such as 8MiB)"
    return _measure(SIZE, UNIT_BYTES, low, high, what)


def request_limits(section: rule.Section) -> RequestLimits:
    limits = RequestLimits(
        request_s=section.take("request", RequestLimits.request_s, duration(1, 3600)),
        body_max=section.take("body_max", RequestLimits.body_max, size(1 << 10, 1 << 30)),
        upload_s=section.take("upload", RequestLimits.upload_s, duration(60, 86400)),
    )
    section.finish()
    return limits


def _network(path: str, value: Any) -> str:
    """One `allow:` entry: an address or a network in CIDR form, IPv4 or IPv6, without host bits."""
    if not isinstance(value, str) or any(c.isspace() for c in value):
        raise SpecError(path, f"must be an address or a network such as 192.168.1.0/24, got {rule.kind(value)}")
    try:
        return str(ipaddress.ip_network(value, strict=True))
    except ValueError as e:
        raise SpecError(
            path, f"must be an address or a network such as 192.168.1.0/24, got {rule.show(value)} ({e})"
        ) from None


def allow_list(path: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not value or len(value) > MAX_ALLOW:
        raise SpecError(path, f"must be a list of 1 to {MAX_ALLOW} addresses or networks, got {rule.kind(value)}")
    return tuple(_network(f"{path}[{i}]", item) for i, item in enumerate(value))


def site_exposure(section: rule.Section, photoprism: bool) -> tuple[Exposure, tuple[str, ...]]:
    """A site's `exposure:` and `allow:`: public (anyone), private (only `allow:`), or shares (share
    links for anyone, the rest only for `allow:`; PhotoPrism only)."""
    exposure: Exposure = section.take("exposure", "public", rule.choice(*EXPOSURES))
    no_allow: tuple[str, ...] = ()
    allow = section.take("allow", no_allow, allow_list)
    if exposure == "shares" and not photoprism:
        raise SpecError(
            section.key_path("exposure"), "shares publishes PhotoPrism's share links, and this site is not PhotoPrism",
            "use private or public",
        )  # fmt: skip
    if exposure != "public" and not allow:
        raise SpecError(
            section.key_path("allow"), f"is required with exposure: {exposure} (the addresses that reach everything)",
            "e.g. allow: [192.168.1.0/24, 2001:db8::/64]",
        )  # fmt: skip
    if exposure == "public" and allow:
        raise SpecError(
            section.key_path("allow"), "applies only with exposure: private or shares; a public site lets everyone in",
            "set exposure: private (or shares), or remove allow:",
        )  # fmt: skip
    return exposure, allow
