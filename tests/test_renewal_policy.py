"""certs/policy.decide: when a certificate is renewed, as a table of cases."""

from __future__ import annotations

import datetime as dt

import pytest

from stackctl.certs.inspect import CertInfo
from stackctl.certs.policy import Action, Current, decide, worth_asking_ari
from stackctl.config.sites import Site
from stackctl.config.spec import spec_from_data

NOW = dt.datetime(2026, 11, 28, 12, 0, tzinfo=dt.timezone.utc)
DAY = dt.timedelta(days=1)


def _cert(
    issued_days_ago: float, lifetime_days: float = 90, names: tuple[str, ...] = ("photos.example.com",)
) -> CertInfo:
    start = NOW - issued_days_ago * DAY
    return CertInfo(names, "CA", "1f", "ecdsa-p256", start, start + lifetime_days * DAY, "AA")


def _spec(source: str = "local-ca", aliases: tuple[str, ...] = ()) -> Site:
    tls: dict[str, object] = {"source": source}
    if source == "acme":
        tls["acme"] = {"email": "me@example.com"}
    return spec_from_data({"domain": "photos.example.com", "aliases": list(aliases), "tls": tls}).first_site


# (case, current (cert, stored source) or None, stack.yaml source, aliases, ari, force, action, reason)
CASES = [
    ("fresh 90-day certificate", (_cert(1), "local-ca"), "local-ca", (), None, False, Action.KEEP, "not due"),
    ("59 days into 90: not yet", (_cert(59), "local-ca"), "local-ca", (), None, False, Action.KEEP, "not due"),
    ("61 days into 90: a third left", (_cert(61), "local-ca"), "local-ca", (), None, False, Action.RENEW, "due"),
    ("7-day certificate, 5 days in", (_cert(5, 7), "acme"), "acme", (), None, False, Action.RENEW, "due"),
    ("7-day certificate, 4 days in", (_cert(4, 7), "acme"), "acme", (), None, False, Action.KEEP, "not due"),
    ("expired", (_cert(100), "local-ca"), "local-ca", (), None, False, Action.RENEW, "due"),
    ("nothing stored", None, "local-ca", (), None, False, Action.RENEW, "no certificate yet"),
    ("an alias was added", (_cert(1), "local-ca"), "local-ca", ("www.photos.example.com",), None, False,
     Action.RENEW, "names changed"),
    ("source changed to acme", (_cert(1), "local-ca"), "acme", (), None, False, Action.RENEW, "tls.source is now acme"),
    ("temporary certificate under acme", (_cert(0), "temporary"), "acme", (), None, False, Action.RENEW,
     "tls.source is now acme"),
    ("forced while fresh", (_cert(1), "local-ca"), "local-ca", (), None, True, Action.RENEW, "forced"),
    ("ARI asks for now", (_cert(1), "acme"), "acme", (), NOW - DAY, False, Action.RENEW,
     "the CA asked for an early renewal (ACME renewal information)"),
    ("ARI window later", (_cert(1), "acme"), "acme", (), NOW + 10 * DAY, False, Action.KEEP, "not due"),
    ("imported, fresh", (_cert(1), "import"), "import", (), None, False, Action.KEEP, "not due"),
    ("imported, due", (_cert(80), "import"), "import", (), None, False, Action.IMPOSSIBLE, "due"),
    ("imported, forced", (_cert(1), "import"), "import", (), None, True, Action.IMPOSSIBLE, "forced"),
    ("imported, none stored", None, "import", (), None, False, Action.IMPOSSIBLE, "no certificate yet"),
    ("switched to import keeps an old local-ca one", (_cert(1), "local-ca"), "import", (), None, False,
     Action.KEEP, "not due"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("current", "source", "aliases", "ari", "force", "action", "reason"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_decide(
    current: tuple[CertInfo, str] | None,
    source: str,
    aliases: tuple[str, ...],
    ari: dt.datetime | None,
    force: bool,
    action: Action,
    reason: str,
) -> None:
    spec = _spec(source, aliases)
    stored = Current(*current) if current else None
    decision = decide(stored, spec, NOW, ari, force)
    assert (decision.action, decision.reason) == (action, reason)
    assert decision.renew == (action is Action.RENEW)


def test_the_ca_is_asked_only_when_it_could_change_the_answer() -> None:
    acme, local = _spec("acme"), _spec("local-ca")
    fresh = Current(_cert(1), "acme")
    assert worth_asking_ari(fresh, acme, decide(fresh, acme, NOW))
    due = Current(_cert(70), "acme")
    assert not worth_asking_ari(due, acme, decide(due, acme, NOW))
    assert not worth_asking_ari(Current(_cert(1), "local-ca"), local, decide(Current(_cert(1), "local-ca"), local, NOW))
    assert not worth_asking_ari(None, acme, decide(None, acme, NOW))
