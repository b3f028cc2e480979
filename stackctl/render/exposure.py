"""Who reaches a site (`exposure:`): everyone (public), only the `allow:` networks (private), or, for
PhotoPrism, everyone to share links and what a share page loads, and only `allow:` to the rest (shares).

A share page redeems its link's token for a visitor session (POST /api/v1/session {"token": ...},
frontend/src/common/session.js) and then calls the API with that session's token in X-Auth-Token.
HAProxy lets an outside address redeem a token, records the session token PhotoPrism answers with
(its first JSON key, 48 hex digits: pkg/rnd/auth.go) in a table of the site's own, and lets outside API
calls through only with a token from that table. A password login from outside never reaches PhotoPrism."""

from __future__ import annotations

import html

from stackctl.config.sites import Site
from stackctl.render.haproxy_layout import HaproxyLayout
from stackctl.render.pages import html_page

# What a share page loads without a session (internal/server/routes_*.go, internal/api/share*.go,
# thumbnails.go, covers.go, folders_cover.go, download_*.go, video.go, svg.go): each is protected by a
# token in its URL, or is the app itself.
SHARE_PREFIXES = (
    "/s/", "/static/", "/library/albums/", "/api/v1/t/", "/api/v1/dl/", "/api/v1/videos/", "/api/v1/svg/",
    "/api/v1/folders/t/",
)  # fmt: skip
SHARE_PATHS = ("/library/albums", "/favicon.ico", "/manifest.json", "/sw.js")
# Open to every address whatever the exposure, so that `up`, `verify` and `status` can prove the site
# works from this host: PhotoPrism's health answer and its WebSocket handshake, which carries nothing
# without a session (internal/api/status.go, websocket.go).
CHECK_PATHS = ("/api/v1/status", "/api/v1/ws")
SHARE_ROUTES = r"^/api/v1/(albums|labels)/[^/]+/t/ ^/api/v1/albums/[^/]+/dl$"
REDEEM_BODY = r"""'^\{"token":"[A-Za-z0-9]{1,64}"\}$'"""
SESSION_TOKEN = r"""'^\{"access_token":"[0-9a-f]{48}"'"""
TOKEN_OFFSET, TOKEN_LENGTH = len('{"access_token":"'), 48
VISITOR_EXPIRE = "7d"  # a visitor session lives as long in PhotoPrism by default (a week)


def forbidden_page_name(site: Site) -> str:
    return f"forbidden-{site.backend}.html"


def forbidden_pages(site: Site) -> dict[str, str]:
    """The 403 page of a private or shares site (HAProxy fills in the client's address)."""
    if site.exposure == "public":
        return {}
    what = (
        "Share links work for everyone; the rest is only for the addresses its owner allows."
        if site.exposure == "shares"
        else "Only the addresses its owner allows can reach it."
    )
    page = html_page(f"{html.escape(site.domain)} is private", f"{what} Your address, %[src], is not one of them.")
    return {forbidden_page_name(site): page}


def exposure_rules(site: Site, layout: HaproxyLayout) -> list[str]:
    if site.exposure == "public":
        return []
    folder = layout.config_dir.rstrip("/")
    refuse = (
        f'    http-request return status 403 content-type "text/html; charset=utf-8" '
        f"lf-file {folder}/{forbidden_page_name(site)} hdr Cache-Control no-store"
    )
    allowed = [
        f"    acl allowed_client src {' '.join(site.allow)}",
        f"    acl check_path path {' '.join(CHECK_PATHS)}",
    ]
    if site.exposure == "private":
        return [
            "    # Private: only the allow: networks reach this site (and anyone its health check).",
            *allowed,
            f"{refuse} if !allowed_client !check_path",
            f"{refuse} if !allowed_client !METH_GET",
        ]
    redeem = "!allowed_client METH_POST { path /api/v1/session }"
    redeemed = "{ var(txn.share_redeem) -m found } { status 200 }"
    return [
        "    # Shares: share links and what a share page loads are public; the rest only for allow:.",
        *allowed,
        f"    acl share_path path_beg {' '.join(SHARE_PREFIXES)}",
        f"    acl share_path path {' '.join(SHARE_PATHS)}",
        f"    acl share_path path_reg {SHARE_ROUTES}",
        f"    acl share_visitor req.hdr(x-auth-token),in_table({site.visitors_table})",
        f"    http-request wait-for-body time 10s if {redeem}",
        f"    http-request set-var(txn.share_redeem) bool(1) if {redeem} {{ req.body -m reg {REDEEM_BODY} }}",
        "    http-request set-var(txn.share_open) bool(1) if share_path METH_GET",
        "    http-request set-var(txn.share_open) bool(1) if check_path METH_GET",
        "    http-request set-var(txn.share_open) bool(1) if { var(txn.share_redeem) -m found }",
        "    http-request set-var(txn.share_open) bool(1) if share_visitor",
        f"{refuse} if !allowed_client !{{ var(txn.share_open) -m found }}",
        # An uncompressed answer, so that HAProxy can read the session token from it.
        "    http-request del-header Accept-Encoding if { var(txn.share_redeem) -m found }",
        f"    http-response wait-for-body time 10s if {redeemed}",
        f"    http-response set-var(txn.share_visitor) res.body,bytes({TOKEN_OFFSET},{TOKEN_LENGTH}) "
        f"if {redeemed} {{ res.body -m reg {SESSION_TOKEN} }}",
        f"    http-response track-sc1 var(txn.share_visitor) table {site.visitors_table} "
        "if { var(txn.share_visitor) -m found }",
    ]


def visitors_table_section(site: Site) -> list[str]:
    if site.exposure != "shares":
        return []
    return [
        f"backend {site.visitors_table}",
        f"    stick-table type string len {TOKEN_LENGTH} size 100000 expire {VISITOR_EXPIRE}",
        "",
    ]
