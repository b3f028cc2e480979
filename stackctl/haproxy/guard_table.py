"""The login guard's stick tables over the runtime API: who is banned now, and lifting a ban."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from pathlib import Path

from stackctl.core.errors import OperationFailed
from stackctl.haproxy.runtime_api import command

# 0x55bb11c3fd58: key=::ffff:127.0.0.1 use=0 exp=1799976 gpt0=1796027270 gpt1=5 gpc0=3 gpc0_rate(600000)=3
_FIELD = re.compile(r"(\S+?)=(\S+)")


@dataclass(frozen=True)
class Ban:
    address: str
    seconds_left: int
    length_s: int  # this ban's whole length: the next one is twice as long
    failures: int  # failed logins counted since HAProxy first saw the address (or last forgot it)

    def as_json(self) -> dict[str, object]:
        return {
            "address": self.address, "seconds_left": self.seconds_left, "ban_seconds": self.length_s,
            "failures": self.failures,
        }  # fmt: skip


def shown_address(key: str) -> str:
    """A table key as people write it: an IPv4 client is stored IPv4-mapped in the IPv6 table."""
    address = ipaddress.IPv6Address(key)
    return str(address.ipv4_mapped or address)


def table_key(address: str) -> str:
    """The key an address has in the guard's IPv6 table; raises ValueError for what is not an address."""
    parsed = ipaddress.ip_address(address)
    return f"::ffff:{parsed}" if parsed.version == 4 else str(parsed)


def _entries(text: str, now: int) -> list[Ban]:
    """Every guard entry of a `show table` reply, banned or not (seconds_left 0 when not)."""
    entries = []
    for line in text.splitlines():
        fields = dict(_FIELD.findall(line)) if line.startswith("0x") else {}
        try:
            key, until, length, failures = fields["key"], int(fields["gpt0"]), int(fields["gpt1"]), int(fields["gpc0"])
        except (KeyError, ValueError):
            continue  # not one of the guard's entries
        entries.append(Ban(shown_address(key), max(0, until - now), length, failures))
    return entries


def parse_bans(text: str, now: int) -> list[Ban]:
    """The entries of `show table` whose ban ends after `now` (seconds since the epoch), longest left first."""
    bans = [entry for entry in _entries(text, now) if entry.seconds_left > 0]
    return sorted(bans, key=lambda b: (-b.seconds_left, b.address))


def _table(sock: Path, table: str, timeout: float, key: str | None = None) -> str:
    reply = command(sock, f"show table {table}" + (f" key {key}" if key else ""), timeout=timeout)
    if not reply.startswith("# table:") and not (key and not reply.strip()):  # a key it lacks: no reply
        raise OperationFailed(f"HAProxy has no table {table}: {reply.strip()[:200]}", "run stackctl up")
    return reply


def banned(sock: Path, table: str, now: int, timeout: float = 2.0) -> list[Ban]:
    return parse_bans(_table(sock, table, timeout), now)


def forget(sock: Path, table: str, address: str, now: int) -> Ban | None:
    """Remove the address from the table: its ban, its failures and its last ban's length. Returns what
    the table held for it (seconds_left 0 when it was not banned), or None when it held nothing."""
    key = table_key(address)
    held = _entries(_table(sock, table, 3.0, key), now)
    reply = command(sock, f"clear table {table} key {key}", timeout=3).strip()
    if reply:
        raise OperationFailed(f"HAProxy refused to clear {address} from {table}: {reply[:200]}", "run stackctl up")
    return held[0] if held else None
