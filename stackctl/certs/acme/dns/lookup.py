"""DNS look-ups for DNS-01 with dnspython: the zone of a name, where a CNAME points, the zone's
authoritative servers, and what one server answers. Errors become OperationFailed in the user's terms."""

from __future__ import annotations

from dataclasses import dataclass

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdatatype
import dns.resolver

from stackctl.core.errors import OperationFailed

QUERY_TIMEOUT_S = 3.0


def address_and_port(server: str, default_port: int = 53) -> tuple[str, int]:
    address, _, port = server.partition(":")
    return address, int(port) if port else default_port


def make_resolver(server: str | None) -> dns.resolver.Resolver:
    """The resolver stack.yaml names (tls.acme.dns.resolver), or the system's."""
    if server is None:
        resolver = dns.resolver.Resolver()
    else:
        resolver = dns.resolver.Resolver(configure=False)
        address, port = address_and_port(server)
        resolver.nameservers = [address]
        resolver.port = port
    resolver.lifetime = 10.0
    resolver.timeout = QUERY_TIMEOUT_S
    return resolver


def _where(resolver: dns.resolver.Resolver) -> str:
    return ", ".join(str(n) for n in resolver.nameservers) or "the system resolver"


def follow_cname(resolver: dns.resolver.Resolver, name: str, hops: int = 8) -> str:
    """Where TXT records for `name` really live: CNAME delegation (acme-dns style) is followed."""
    current = dns.name.from_text(name)
    for _ in range(hops):
        try:
            answer = resolver.resolve(current, "CNAME", raise_on_no_answer=False)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoNameservers):
            return current.to_text()
        except dns.exception.DNSException as e:
            raise OperationFailed(
                f"failed to look up {current} at {_where(resolver)}: {e}", "check tls.acme.dns.resolver"
            ) from e
        if answer.rrset is None:
            return current.to_text()
        current = answer.rrset[0].target
    raise OperationFailed(
        f"{name}: more than {hops} CNAMEs in a row", "fix the CNAME chain of the _acme-challenge name"
    )


def zone_of(resolver: dns.resolver.Resolver, name: str) -> str:
    try:
        return str(dns.resolver.zone_for_name(name, resolver=resolver).to_text())
    except dns.exception.DNSException as e:
        raise OperationFailed(
            f"no DNS zone found for {name} at {_where(resolver)} ({type(e).__name__})",
            "check the domain's spelling and tls.acme.dns.resolver: the zone's SOA must be visible there",
        ) from e


@dataclass(frozen=True)
class NameServer:
    name: str
    address: str

    def __str__(self) -> str:
        return f"{self.name.rstrip('.')} ({self.address})"


def authoritative_servers(resolver: dns.resolver.Resolver, zone: str) -> list[NameServer]:
    """Every name server of the zone (its NS set), each with each of its IPv4 addresses."""
    try:
        names = sorted(r.target.to_text() for r in resolver.resolve(zone, "NS"))
        servers = [NameServer(n, a.address) for n in names for a in resolver.resolve(n, "A")]
    except dns.exception.DNSException as e:
        raise OperationFailed(
            f"failed to find the name servers of {zone} at {_where(resolver)} ({type(e).__name__})",
            "the zone needs NS records whose names resolve to IPv4 addresses",
        ) from e
    return servers


def txt_values(server: NameServer, name: str, port: int = 53) -> set[str] | None:
    """The TXT values `server` answers for `name` itself (no recursion); None when it does not answer."""
    query = dns.message.make_query(name, dns.rdatatype.TXT)
    query.flags &= ~dns.flags.RD
    try:
        response = dns.query.udp(query, server.address, timeout=QUERY_TIMEOUT_S, port=port)
    except (dns.exception.DNSException, OSError):
        return None
    if response.rcode() not in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
        return None
    return {
        b"".join(rdata.strings).decode(errors="replace")
        for rrset in response.answer
        if rrset.rdtype == dns.rdatatype.TXT
        for rdata in rrset
    }
