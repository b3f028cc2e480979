"""CAA (RFC 8659, with RFC 8657's accounturi and validationmethods) checked before an order, as the CA
will check it: for each name, the first CAA record set found climbing from the name to its parents, and
whether one of its issue (issuewild for a wildcard) records lets this CA issue, to this account, by this
challenge. A refusal names the record and what to change; the CA is asked nothing."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import dns.exception
import dns.name
import dns.rdatatype
import dns.resolver

from stackctl.core.errors import OperationFailed

CRITICAL = 128
# Tags a CA understands (RFC 8659, RFC 9495, the CA/Browser Forum's): an unknown one marked critical
# forbids issuance.
KNOWN_TAGS = frozenset({"issue", "issuewild", "iodef", "issuemail", "issuevmc", "contactemail", "contactphone"})


@dataclass(frozen=True)
class CaaRecord:
    flags: int
    tag: str
    value: str

    def __str__(self) -> str:
        return f'{self.flags} {self.tag} "{self.value}"'

    @property
    def issuer(self) -> str:
        """The issuer domain name, lower case; "" when the record lets no CA issue (";")."""
        return self.value.split(";", 1)[0].strip().lower()

    @property
    def parameters(self) -> dict[str, str]:
        found = {}
        for part in self.value.split(";")[1:]:
            key, _, value = part.partition("=")
            if key.strip():
                found[key.strip().lower()] = value.strip()
        return found


@dataclass(frozen=True)
class CaaSet:
    owner: str  # the name the records were found at: the order's name or one of its parents
    records: tuple[CaaRecord, ...]


@dataclass(frozen=True)
class Applicant:
    """Who asks: the CA's identities (its directory's caaIdentities), the account and the challenge."""

    identities: tuple[str, ...]
    account_uri: str | None  # None: no account at this CA yet
    challenge: str  # http-01 | dns-01


def refusal(name: str, found: CaaSet | None, who: Applicant) -> OperationFailed | None:
    """Why the CA would refuse `name` under these records, or None when it may issue."""
    if found is None:
        return None
    where = f"the CAA records of {found.owner.rstrip('.')}"
    for record in found.records:
        if record.flags & CRITICAL and record.tag not in KNOWN_TAGS:
            return OperationFailed(
                f"{where} hold {record}, a critical tag no CA understands, so no CA may issue for {name}",
                f"remove that record from {found.owner.rstrip('.')}",
            )
    wanted = "issuewild" if name.startswith("*.") and any(r.tag == "issuewild" for r in found.records) else "issue"
    rules = [r for r in found.records if r.tag == wanted]
    if not rules:
        return None
    mine = [r for r in rules if r.issuer and r.issuer in who.identities]
    ca = who.identities[0]
    if not mine:
        others = ", ".join(sorted({r.issuer for r in rules if r.issuer})) or "no CA"
        return OperationFailed(
            f"{where} ({'; '.join(map(str, rules))}) let {others} issue for {name}, not {ca}",
            f'add the record {wanted} "{ca}" there, or set tls.acme.directory to a CA they name',
        )
    for record in mine:
        if _allows(record, who):
            return None
    return _parameter_refusal(name, where, mine[0], who)


def _allows(record: CaaRecord, who: Applicant) -> bool:
    params = record.parameters
    if "accounturi" in params and params["accounturi"] != who.account_uri:
        return False
    methods = params.get("validationmethods")
    return methods is None or who.challenge in {m.strip() for m in methods.split(",")}


def _parameter_refusal(name: str, where: str, record: CaaRecord, who: Applicant) -> OperationFailed:
    params = record.parameters
    methods = params.get("validationmethods")
    if methods is not None and who.challenge not in {m.strip() for m in methods.split(",")}:
        other = "dns-01" if who.challenge == "http-01" else "http-01"
        return OperationFailed(
            f"{where} ({record}) let {record.issuer} issue for {name} only by {methods}, not {who.challenge}",
            f"set tls.acme.challenge: {other} if it is listed there, or add {who.challenge} to that record's "
            "validationmethods",
        )
    account = who.account_uri or "a new account (none is registered at this CA yet)"
    return OperationFailed(
        f"{where} ({record}) let {record.issuer} issue for {name} only to the account {params['accounturi']}, "
        f"and this stack's is {account}",
        "put this stack's account URI (certs/acme/account-*.json) in that record's accounturi, or remove it",
    )


def lookup(resolver: dns.resolver.Resolver, name: str) -> CaaSet | None:
    """The relevant record set of `name` (a wildcard's is its base name's): the first non-empty one from
    the name up to its top-level domain. None when there is none."""
    current = dns.name.from_text(name[2:] if name.startswith("*.") else name)
    while current != dns.name.root:
        records = _caa_at(resolver, current)
        if records:
            return CaaSet(current.to_text(), records)
        current = current.parent()
    return None


def _caa_at(resolver: dns.resolver.Resolver, name: dns.name.Name) -> tuple[CaaRecord, ...]:
    try:
        answer = resolver.resolve(name, "CAA", raise_on_no_answer=False)
    except dns.resolver.NXDOMAIN:
        return ()
    except dns.exception.DNSException as e:
        where = ", ".join(str(n) for n in resolver.nameservers) or "the system resolver"
        raise OperationFailed(
            f"failed to look up the CAA records of {name.to_text().rstrip('.')} at {where} ({type(e).__name__})",
            "the CA looks them up too and refuses while it cannot: fix the zone's DNS, or check tls.acme.dns.resolver",
        ) from e
    if answer.rrset is None:
        return ()
    return tuple(
        CaaRecord(int(r.flags), r.tag.decode("ascii", "replace").lower(), r.value.decode("utf-8", "replace"))
        for r in answer.rrset
        if answer.rrset.rdtype == dns.rdatatype.CAA
    )


def check_caa(resolver: dns.resolver.Resolver, names: Iterable[str], who: Applicant) -> None:
    """Raise the first name's refusal; return when the CA may issue for every name."""
    for name in names:
        problem = refusal(name, lookup(resolver, name), who)
        if problem is not None:
            raise problem
