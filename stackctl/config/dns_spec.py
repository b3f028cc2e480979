"""tls.acme.dns: where DNS-01's TXT records go (RFC 2136 or a dns-lexicon provider), validated."""

from __future__ import annotations

import difflib
import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from stackctl.config import rules as rule
from stackctl.config.rules import choice, kind, show
from stackctl.core.errors import SpecError


@dataclass(frozen=True)
class DnsSettings:
    """DNS-01: where the TXT records go. Secrets (TSIG_SECRET, LEXICON_*) live in secrets/dns.env."""

    provider: str = "rfc2136"  # rfc2136 | lexicon
    server: str | None = None  # rfc2136: the primary that takes dynamic updates, IP[:port]
    key_name: str | None = None  # rfc2136: the TSIG key's name
    key_algorithm: str = "hmac-sha256"
    lexicon_provider: str | None = None  # lexicon: one of dns-lexicon's providers
    resolver: str | None = None  # where zones, CNAMEs and name servers are looked up; None: the system's
    propagation_timeout: int = 120
    ttl: int = 60


def dns_server(path: str, value: Any) -> str:
    """An IPv4 address, with an optional :port (a DNS server is reached by address, not by name)."""
    rule = "must be a DNS server's IPv4 address, optionally with :port, such as 192.0.2.53 or 127.0.0.1:5353"
    if not isinstance(value, str):
        raise SpecError(path, f"{rule}, got {kind(value)}")
    address, _, port_text = value.partition(":")
    try:
        ok = str(ipaddress.IPv4Address(address)) == address
    except ValueError:
        ok = False
    if not ok or (port_text and not (port_text.isdigit() and port_text.isascii() and 1 <= int(port_text) <= 65535)):
        raise SpecError(path, f"{rule}, got {show(value)}")
    return value


def tsig_algorithm(path: str, value: Any) -> str:
    return choice("hmac-sha256", "hmac-sha384", "hmac-sha512", "hmac-sha224", "hmac-sha1", "hmac-md5")(path, value)


def seconds_between(low: int, high: int) -> Callable[[str, Any], int]:
    def convert(path: str, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise SpecError(path, f"must be a whole number of seconds from {low} to {high}, got {kind(value)}")
        return value

    return convert


def dns_settings(section: rule.Section) -> DnsSettings:
    provider = section.take("provider", "rfc2136", rule.choice("rfc2136", "lexicon"))
    dns = DnsSettings(
        provider=provider,
        server=section.take("server", None, dns_server),
        key_name=section.take("key_name", None, rule.hostname),
        key_algorithm=section.take("key_algorithm", "hmac-sha256", tsig_algorithm),
        lexicon_provider=section.take("lexicon_provider", None, lexicon_provider),
        resolver=section.take("resolver", None, dns_server),
        propagation_timeout=section.take("propagation_timeout", 120, seconds_between(5, 3600)),
        ttl=section.take("ttl", 60, seconds_between(1, 86400)),
    )
    section.finish()
    path = section.key_path
    if provider == "rfc2136" and (dns.server is None or dns.key_name is None):
        missing = "server" if dns.server is None else "key_name"
        raise SpecError(path(missing), "is required for provider rfc2136 (the primary server and the TSIG key name)")
    if provider == "lexicon" and dns.lexicon_provider is None:
        raise SpecError(path("lexicon_provider"), "is required for provider lexicon, e.g. lexicon_provider: cloudflare")
    return dns


def lexicon_provider(path: str, value: object) -> str:
    """One of dns-lexicon's providers; the list comes from the installed lexicon itself."""
    from lexicon._private.discovery import find_providers  # lexicon has no public listing

    known = sorted(find_providers())
    if not isinstance(value, str) or value not in known:
        shown = rule.show(value) if isinstance(value, str) else rule.kind(value)
        close = difflib.get_close_matches(value, known, n=3) if isinstance(value, str) else []
        hint = f"did you mean {' or '.join(close)}? " if close else ""
        raise SpecError(path, f"must be one of dns-lexicon's {len(known)} providers (e.g. cloudflare), got {shown}",
                        f"{hint}the full list: lexicon --help")  # fmt: skip
    return value
