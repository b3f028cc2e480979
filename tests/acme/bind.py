"""A real DNS server for the DNS-01 tests: Debian's BIND (`named`) on 127.0.0.2:53 and 127.0.0.3:53.

Zones (ns1 = 127.0.0.2, which takes TSIG-signed updates):
- example.test     updates allowed: photos.example.test and *.example.test are issued here;
- cname.test       no updates: _acme-challenge.photos.cname.test is a CNAME into delegated.test;
- delegated.test   updates allowed: the throw-away zone the CNAME points into;
- lag.test         NS ns1 and ns2; ns2 (127.0.0.3, a view of its own) serves a copy that never
                   receives updates: the secondary that lags forever;
- caa.test         updates allowed; every name is 127.0.0.1. other.caa.test lets only another CA
                   issue, dnsonly.caa.test lets pebble issue by DNS-01 only, open.caa.test (and
                   caa.test, test) has no CAA record.
named binds only to addresses an interface has, so the fixture adds 127.0.0.2 and 127.0.0.3 to `lo`
(and removes them afterwards); that needs root, as the docker tier does.
"""

from __future__ import annotations

import base64
import contextlib
import os
import secrets
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.acme.conftest import CAA_IDENTITY
from tests.helpers import require_tool, wait_until

PRIMARY, LAGGING = "127.0.0.2", "127.0.0.3"
KEY_NAME = "stackctl-test"
ZONES = {
    "example.test": ([("ns1", "A", PRIMARY)], True),
    "cname.test": (
        [("ns1", "A", PRIMARY), ("_acme-challenge.photos", "CNAME", "photos.delegated.test.")],
        False,
    ),
    "delegated.test": ([("ns1", "A", PRIMARY)], True),
    "lag.test": ([("ns1", "A", PRIMARY), ("ns2", "A", LAGGING), ("@", "NS", "ns2.lag.test.")], True),
    "caa.test": (
        [
            ("ns1", "A", PRIMARY),
            *((name, "A", "127.0.0.1") for name in ("other", "dnsonly", "open")),
            ("other", "CAA", '0 issue "other-ca.example"'),
            ("dnsonly", "CAA", f'0 issue "{CAA_IDENTITY}; validationmethods=dns-01"'),
        ],
        True,
    ),
}


@dataclass(frozen=True)
class Bind:
    folder: Path
    tsig_secret: str
    server: str = PRIMARY


def _zone_text(zone: str, records: list[tuple[str, str, str]]) -> str:
    lines = [
        "$TTL 60",
        f"@ IN SOA ns1.{zone}. hostmaster.{zone}. 1 60 60 3600 60",
        f"@ IN NS ns1.{zone}.",
    ]
    lines += [f"{name} IN {kind} {value}" for name, kind, value in records]
    return "\n".join(lines) + "\n"


def _config(folder: Path, secret: str) -> str:
    primary, lagging = [], []
    for zone, (_, updatable) in ZONES.items():
        update = f' allow-update {{ key "{KEY_NAME}"; }};' if updatable else ""
        primary.append(f'  zone "{zone}" {{ type primary; file "{zone}.zone";{update} }};')
    lagging.append('  zone "lag.test" { type primary; file "lag.test.frozen.zone"; };')
    return "\n".join(
        [
            f'options {{ directory "{folder}"; pid-file "{folder}/named.pid";',
            f"  listen-on port 53 {{ {PRIMARY}; {LAGGING}; }}; listen-on-v6 {{ none; }};",
            "  dnssec-validation no; notify no; allow-transfer { none; }; };",
            f'key "{KEY_NAME}" {{ algorithm hmac-sha256; secret "{secret}"; }};',
            "controls { };",
            # The primary view also resolves, as the CA's resolver does: it follows a CNAME into another
            # zone. It is authoritative for a root zone of its own, so it never asks a server elsewhere.
            f'view "primary" {{ match-destinations {{ {PRIMARY}; }};',
            "  recursion yes; allow-recursion { 127.0.0.0/8; };",
            '  zone "." { type primary; file "root.zone"; };',
            *primary,
            "};",
            f'view "lagging" {{ match-destinations {{ {LAGGING}; }}; recursion no;',
            *lagging,
            "};",
            "",
        ]
    )


@contextlib.contextmanager
def _loopback_addresses(*addresses: str) -> Iterator[None]:
    added = []
    shown = subprocess.run(["ip", "-4", "addr", "show", "dev", "lo"], capture_output=True, text=True, check=True).stdout
    try:
        for address in addresses:
            if f"inet {address}/" not in shown:
                subprocess.run(["ip", "addr", "add", f"{address}/32", "dev", "lo"], check=True)
                added.append(address)
        yield
    finally:
        for address in added:
            subprocess.run(["ip", "addr", "del", f"{address}/32", "dev", "lo"], check=False)


def _answers(address: str) -> bool:
    import dns.message
    import dns.query

    try:
        dns.query.udp(dns.message.make_query("example.test", "SOA"), address, timeout=0.5)
        return True
    except Exception:
        return False


@contextlib.contextmanager
def run_bind(folder: Path) -> Iterator[Bind]:
    named = require_tool("named")
    if os.geteuid() != 0:
        import pytest

        pytest.skip("BIND on 127.0.0.2 needs root (an address on lo)")
    folder.mkdir(parents=True, exist_ok=True)
    secret = base64.b64encode(secrets.token_bytes(32)).decode()
    for zone, (records, _) in ZONES.items():
        (folder / f"{zone}.zone").write_text(_zone_text(zone, records))
    root = "$TTL 60\n@ IN SOA ns1. hostmaster. 1 60 60 3600 60\n@ IN NS ns1.\nns1. IN A 127.0.0.2\n"
    (folder / "root.zone").write_text(root)
    (folder / "lag.test.frozen.zone").write_text(_zone_text("lag.test", ZONES["lag.test"][0]))
    (folder / "named.conf").write_text(_config(folder, secret))
    with _loopback_addresses(PRIMARY, LAGGING), open(folder / "named.log", "w") as log:
        proc = subprocess.Popen([named, "-g", "-c", str(folder / "named.conf")], stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_until(lambda: _answers(PRIMARY) and _answers(LAGGING), 15, "named to answer on 127.0.0.2 and .3")
            yield Bind(folder, secret)
        finally:
            proc.terminate()
            proc.wait(timeout=10)
