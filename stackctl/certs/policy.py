"""When a certificate is renewed: a pure decision from what is stored, what stack.yaml asks for, the
time, the CA's renewal information (RFC 9773) and --force. No I/O."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import Enum

from stackctl.certs.inspect import CertInfo
from stackctl.config.sites import Site
from stackctl.core.names import uncovered


class Action(Enum):
    RENEW = "renew"
    KEEP = "keep"  # not due
    IMPOSSIBLE = "impossible"  # due (or forced) but stackctl cannot issue it: an imported certificate


@dataclass(frozen=True)
class Current:
    """The stored certificate as the policy sees it."""

    info: CertInfo
    source: str  # local-ca | import | acme | temporary


@dataclass(frozen=True)
class Decision:
    action: Action
    reason: str  # why, in a few words: "due", "forced", "names changed", ...
    due: bool  # whether renewal is due, whatever the action

    @property
    def renew(self) -> bool:
        return self.action is Action.RENEW


def decide(
    current: Current | None, site: Site, now: dt.datetime, ari: dt.datetime | None = None, force: bool = False
) -> Decision:
    """`ari` is the CA's suggested renewal time, when it was asked (only worth asking when not due)."""
    reason = _due_reason(current, site, now, ari)
    due = reason is not None
    if site.tls.source == "import" and (due or force):
        return Decision(Action.IMPOSSIBLE, reason or "forced", due)
    if force:
        return Decision(Action.RENEW, "forced", due)
    if reason is None:
        return Decision(Action.KEEP, "not due", False)
    return Decision(Action.RENEW, reason, True)


def _due_reason(current: Current | None, site: Site, now: dt.datetime, ari: dt.datetime | None) -> str | None:
    if current is None:
        return "no certificate yet"
    if site.tls.source != "import" and current.source != site.tls.source:
        return f"tls.source is now {site.tls.source}"
    if uncovered(site.names, list(current.info.names)):
        return "names changed"
    if current.info.due(now):
        return "due"
    if ari is not None and now >= ari:
        return "the CA asked for an early renewal (ACME renewal information)"
    return None


def worth_asking_ari(current: Current | None, site: Site, decision: Decision) -> bool:
    """Ask the CA only when it could change the answer: ACME, a stored certificate, not due yet."""
    return site.tls.source == "acme" and current is not None and decision.action is Action.KEEP
