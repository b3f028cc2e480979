"""One DNS-01 round: publish every TXT record an order needs, wait until every authoritative server of
each zone answers them (no fixed sleep), and remove them afterwards, also after a failure. Records not
yet removed are listed in certs/acme/dns-pending.json, so a run cut short (Ctrl-C) is cleaned up by
the next one."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from types import TracebackType

from stackctl.certs.acme.dns.lookup import (
    NameServer,
    authoritative_servers,
    follow_cname,
    make_resolver,
    txt_values,
    zone_of,
)
from stackctl.certs.acme.dns.writers import TxtWriter, txt_writer
from stackctl.config.dns_spec import DnsSettings
from stackctl.core.errors import OperationFailed
from stackctl.core.fsio import PRIVATE_FILE_MODE, atomic_write, read_text_if_exists

PENDING_FILE = "dns-pending.json"
POLL_S = 0.5


@dataclass(frozen=True)
class TxtRecord:
    challenge_name: str  # _acme-challenge.<name>, as the CA looks it up
    name: str  # where the record is written: the challenge name, or where its CNAME points
    zone: str
    value: str


class DnsChallenges:
    """Context manager: records published inside it are removed on the way out, whatever happened."""

    def __init__(self, settings: DnsSettings, secrets: Path, acme_folder: Path, writer: TxtWriter | None = None):
        self.settings = settings
        self.resolver = make_resolver(settings.resolver)
        self.writer = writer or txt_writer(settings, secrets)
        self.pending_path = acme_folder / PENDING_FILE
        self.published: list[TxtRecord] = []

    def __enter__(self) -> DnsChallenges:
        self._remove(self._left_over())  # a previous run cut short
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        problem = self._remove(list(self.published))
        if problem is not None and kind is None:
            raise problem

    def _left_over(self) -> list[TxtRecord]:
        text = read_text_if_exists(self.pending_path, 1 << 20)
        if not text:
            return []
        try:
            return [TxtRecord(**entry) for entry in json.loads(text)]
        except (ValueError, TypeError):
            return []

    def _save_pending(self, records: list[TxtRecord]) -> None:
        atomic_write(self.pending_path, json.dumps([asdict(r) for r in records], indent=1), PRIVATE_FILE_MODE)

    def _remove(self, records: list[TxtRecord]) -> OperationFailed | None:
        """Remove each record; the ones that could not be removed stay listed for the next run."""
        kept, problem = [], None
        for record in records:
            try:
                self.writer.remove(record.zone, record.name, record.value)
            except OperationFailed as e:
                kept.append(record)
                problem = problem or e
        self.published = [r for r in self.published if r in kept]
        if kept or self.pending_path.exists():
            self._save_pending(kept) if kept else self.pending_path.unlink(missing_ok=True)
        return problem

    def publish(self, challenge_name: str, value: str) -> TxtRecord:
        target = follow_cname(self.resolver, challenge_name)
        record = TxtRecord(challenge_name, target, zone_of(self.resolver, target), value)
        self._save_pending([*self.published, record])  # listed before it exists: a crash cannot orphan it
        self.writer.add(record.zone, record.name, record.value, self.settings.ttl)
        self.published.append(record)
        return record

    def wait_propagated(self) -> float:
        """Until every authoritative server of every zone answers every value; returns the seconds it took."""
        started = time.monotonic()
        deadline = started + self.settings.propagation_timeout
        wanted: dict[tuple[str, str], set[str]] = {}
        for record in self.published:
            wanted.setdefault((record.zone, record.name), set()).add(record.value)
        servers = {zone: authoritative_servers(self.resolver, zone) for zone, _ in wanted}
        while True:
            lagging = _lagging(wanted, servers)
            if not lagging:
                return time.monotonic() - started
            if time.monotonic() >= deadline:
                server, name, seen = lagging[0]
                answer = "no answer" if seen is None else f"{sorted(seen) or 'no TXT record'}"
                raise OperationFailed(
                    f"name server {server} still answers {answer} for {name.rstrip('.')} after "
                    f"{self.settings.propagation_timeout}s (expected the new challenge value)",
                    "check that this server receives the zone's updates (NOTIFY/transfer), or raise "
                    "tls.acme.dns.propagation_timeout",
                )
            time.sleep(POLL_S)


def _lagging(
    wanted: dict[tuple[str, str], set[str]], servers: dict[str, list[NameServer]]
) -> list[tuple[NameServer, str, set[str] | None]]:
    late = []
    for (zone, name), values in wanted.items():
        for server in servers[zone]:
            seen = txt_values(server, name)
            if seen is None or not values <= seen:
                late.append((server, name, seen))
    return late
