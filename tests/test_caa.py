"""CAA as a CA reads it (RFC 8659, RFC 8657), decided before an order: the relevant record set of a name,
this CA's identity, the account and the challenge. The look-up itself runs against BIND in the acme tier."""

from __future__ import annotations

import pytest

from stackctl.certs.acme.caa import Applicant, CaaRecord, CaaSet, refusal

CA = "pebble.letsencrypt.org"
ACCOUNT = "https://ca.test/acct/7"
HTTP01 = Applicant((CA,), ACCOUNT, "http-01")


def _set(*records: tuple[int, str, str]) -> CaaSet:
    return CaaSet("example.test.", tuple(CaaRecord(*r) for r in records))


@pytest.mark.parametrize(
    "records",
    [
        (),
        ((0, "iodef", "mailto:security@example.test"),),  # no issue record: any CA
        ((0, "issue", CA),),
        ((0, "issue", "other-ca.example"), (0, "issue", f"{CA.upper()}; validationmethods=http-01")),
        ((0, "issue", f"{CA}; accounturi={ACCOUNT}; validationmethods=dns-01,http-01"),),
        ((0, "issuewild", ";"), (0, "issue", CA)),  # issuewild does not apply to a plain name
        ((0, "futuretag", "x"),),  # unknown, not critical: ignored
    ],
)
def test_records_that_let_this_ca_issue(records: tuple[tuple[int, str, str], ...]) -> None:
    assert refusal("photos.example.test", _set(*records) if records else None, HTTP01) is None


@pytest.mark.parametrize(
    ("name", "records", "said", "hint"),
    [
        ("photos.example.test", [(0, "issue", "other-ca.example")],
         f'(0 issue "other-ca.example") let other-ca.example issue for photos.example.test, not {CA}',
         f'add the record issue "{CA}" there'),
        ("photos.example.test", [(0, "issue", ";")], "let no CA issue", f'issue "{CA}"'),
        ("photos.example.test", [(0, "issue", f"{CA}; validationmethods=dns-01")],
         "only by dns-01, not http-01", "set tls.acme.challenge: dns-01"),
        ("photos.example.test", [(0, "issue", f"{CA}; accounturi=https://ca.test/acct/1")],
         f"only to the account https://ca.test/acct/1, and this stack's is {ACCOUNT}", "accounturi"),
        ("*.example.test", [(0, "issue", CA), (0, "issuewild", "other-ca.example")],
         "let other-ca.example issue for *.example.test", 'add the record issuewild "'),
        ("photos.example.test", [(128, "tbs", "x"), (0, "issue", CA)], "a critical tag no CA understands",
         "remove that record"),
    ],
)  # fmt: skip
def test_records_that_exclude_this_ca_the_account_or_the_challenge(
    name: str, records: list[tuple[int, str, str]], said: str, hint: str
) -> None:
    problem = refusal(name, _set(*records), HTTP01)
    assert problem is not None
    assert "the CAA records of example.test" in problem.message and said in problem.message, problem.message
    assert hint in problem.hint, problem.hint


def test_an_account_not_registered_yet_cannot_match_an_accounturi() -> None:
    new = Applicant((CA,), None, "dns-01")
    problem = refusal("photos.example.test", _set((0, "issue", f"{CA}; accounturi={ACCOUNT}")), new)
    assert problem is not None and "a new account" in problem.message
