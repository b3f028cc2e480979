"""Login throttling in a PhotoPrism site's backend: HAProxy counts each client address's failed logins
in a stick table of the site's own, and answers 429 on the login endpoints while the address is banned
(a share link's token is still redeemed there, so that a share page opens).

The table's columns, per address: gpc(0) and gpc_rate(0) count failures (401, 403, 429 from
PhotoPrism) within the window; gpt(0) is when the ban ends (seconds since the epoch); gpt(1) is the
length of the last ban, which the next one doubles up to the ceiling."""

from __future__ import annotations

from stackctl.config.sites import Site
from stackctl.render.exposure import REDEEM_BODY

# PhotoPrism's routes that take a password or a client secret (internal/api/session_create.go and
# oauth_token.go): each answers 401 (or 403, or 429 from its own limiter) to a wrong one.
LOGIN_ROUTES = ("/api/v1/session", "/api/v1/sessions", "/api/v1/oauth/token")
FAILED_STATUSES = "401 403 429"
TABLE_SIZE = 50000  # addresses remembered per site; the oldest is dropped when full
BANNED_BODY = '{"error":"Too many failed logins from your address, try again later"}'


def login_guard_rules(site: Site) -> list[str]:
    """The site backend's rules: the ban first (before the maintenance answer), then the counting."""
    guard = site.login_guard
    if guard is None:
        return []
    attempt = "{ var(txn.login_at) -m found }"
    failed = f"{attempt} {{ status {FAILED_STATUSES} }}"
    banned = "{ var(txn.ban_left) -m int gt 0 }"
    return [
        f"    # Login throttling: past {guard.failures} failed logins from one address in {guard.window_s}s,",
        f"    # 429 on the login endpoints for {guard.ban_s}s, doubled on each repeat up to {guard.max_ban_s}s.",
        f"    acl login_route path {' '.join(LOGIN_ROUTES)}",
        # A share link's token redeemed (share pages log in this way) is no password guess: it passes.
        f"    acl share_token_redeem req.body -m reg {REDEEM_BODY}",
        f"    http-request track-sc0 src table {site.guard_table} if METH_POST login_route",
        "    http-request set-var(txn.login_at) date if METH_POST login_route",
        f"    http-request set-var(txn.ban_left) sc_get_gpt(0,0),sub(txn.login_at) if {attempt}",
        # The body is read first: HAProxy 2.6 otherwise cancels the HTTP/2 stream of its early answer.
        f"    http-request wait-for-body time 5s if {banned}",
        "    http-request return status 429 content-type application/json hdr Retry-After "
        f"\"%[var(txn.ban_left)]\" hdr Cache-Control no-store string '{BANNED_BODY}' if {banned} "
        "!share_token_redeem",
        f"    http-response sc-inc-gpc(0,0) if {failed}",
        # Another response may have set a ban since this request came in: that one stands.
        f"    http-response set-var(txn.ban_left) sc_get_gpt(0,0),sub(txn.login_at) if {failed}",
        f"    http-response set-var(txn.ban_s) sc_get_gpt(1,0),mul(2) if {failed} "
        f"{{ sc_gpc_rate(0,0) ge {guard.failures} }} !{banned}",
        f"    http-response set-var(txn.ban_s) int({guard.ban_s}) if {{ var(txn.ban_s) -m int lt {guard.ban_s} }}",
        f"    http-response set-var(txn.ban_s) int({guard.max_ban_s}) "
        f"if {{ var(txn.ban_s) -m int gt {guard.max_ban_s} }}",
        "    http-response sc-set-gpt(1,0) var(txn.ban_s) if { var(txn.ban_s) -m found }",
        "    http-response sc-set-gpt(0,0) var(txn.login_at),add(txn.ban_s) if { var(txn.ban_s) -m found }",
    ]


def guard_table_section(site: Site) -> list[str]:
    guard = site.login_guard
    if guard is None:
        return []
    # An address is forgotten (its failures and its last ban's length) once it is quiet for this long.
    expire = guard.window_s + guard.max_ban_s
    return [
        f"backend {site.guard_table}",
        f"    stick-table type ipv6 size {TABLE_SIZE} expire {expire}s "
        f"store gpt(2),gpc(1),gpc_rate(1,{guard.window_s}s)",
        "",
    ]
