"""A site's backend in haproxy.cfg: retries, timeouts that fit its app, the maintenance answer when no
server is up, the health check and the server line."""

from __future__ import annotations

import ipaddress

from stackctl.config.sites import PHOTOPRISM_TIMEOUTS, Site
from stackctl.config.spec import StackSpec
from stackctl.core.names import is_ip
from stackctl.render.exposure import exposure_rules, visitors_table_section
from stackctl.render.haproxy_layout import HaproxyLayout
from stackctl.render.login_guard import guard_table_section, login_guard_rules
from stackctl.render.maintenance import error_response_name, page_names
from stackctl.render.path_limits import path_limit_rules

HOST_GATEWAY = "host.docker.internal"


def _maintenance_rules(site: Site, layout: HaproxyLayout) -> list[str]:
    folder = layout.config_dir.rstrip("/")
    html_page, json_body = page_names(site)
    no_store = "hdr Cache-Control no-store"
    return [
        "    # No server up (starting, restarting, upgrading): a maintenance answer, never a connection",
        "    # error. Browsers get a page that retries by itself, API clients JSON.",
        # srv_is_up, not nbsrv: a worker stopping after a reload counts no server, and must still proxy.
        f"    acl site_up srv_is_up({site.backend}/{site.server})",
        "    acl wants_html req.hdr(accept) -m sub text/html",
        f'    http-request return status 503 content-type "text/html; charset=utf-8" file {folder}/{html_page} '
        f"{no_store} if !site_up wants_html",
        f"    http-request return status 503 content-type application/json file {folder}/{json_body} "
        f"{no_store} if !site_up",
    ]


def _health_check(site: Site) -> list[str]:
    if site.upstream is None:
        return [
            "    option httpchk",
            "    http-check send meth GET uri /api/v1/status ver HTTP/1.1 hdr Host localhost",
            "    http-check expect status 200",
        ]
    if site.upstream.health == "tcp":
        return []
    return [
        "    option httpchk",
        f"    http-check send meth GET uri {site.upstream.health} ver HTTP/1.1 hdr Host {site.domain}",
        "    http-check expect rstatus ^[23]",
    ]


# Names are looked up in Docker's DNS. A stack network that carries IPv6 (ports.bind has, or had, an
# IPv6 address) answers AAAA too, but the apps listen on IPv4 (PhotoPrism on 0.0.0.0): ipv4@ keeps the
# lookup at start and reload to IPv4, and resolve-prefer the lookups that follow.
DOCKER_DNS = "resolvers docker resolve-prefer ipv4"


def _server(spec: StackSpec, site: Site, layout: HaproxyLayout) -> str:
    address = layout.backend_address or site.app_address
    if site.upstream is not None and site.upstream.url_host == HOST_GATEWAY and layout.backend_address is None:
        gateway = next(ipaddress.ip_network(spec.network.subnet).hosts())
        address = f"{gateway}:{site.upstream.url_port}"
    check = "check inter 2s fall 2 rise 2" + _upstream_tls(site, layout)
    by_name = not is_ip(address.rsplit(":", 1)[0])
    if site.upstream is not None and not site.upstream.runs_container:
        # An address outside the stack: resolved once by the system (host.docker.internal is in
        # /etc/hosts, not in Docker's DNS), or through Docker's DNS for a name on another network.
        if by_name and layout.backend_address is None:
            return f"    server {site.server} ipv4@{address} {check} {DOCKER_DNS} init-addr last,libc,none"
        return f"    server {site.server} {address} {check} init-addr last,libc,none"
    # The first refused connection takes the server out, instead of two failed checks later.
    return (
        f"    server {site.server} {'ipv4@' if by_name else ''}{address} {check} "
        f"observe layer4 error-limit 1 on-error mark-down {DOCKER_DNS} init-addr last,libc,none"
    )


def _upstream_tls(site: Site, layout: HaproxyLayout) -> str:
    """TLS to an https:// upstream, health checks included (they follow the server's `ssl`): SNI is its
    host name, and its certificate is checked against that name and the CA file, unless verify: false."""
    up = site.upstream
    if up is None or not up.url_tls or up.url_host is None:
        return ""
    host = up.url_host
    names = "" if is_ip(host) else f" sni str({host}) check-sni {host}"
    if not up.verify:
        return f" ssl verify none{names}"
    return (
        f" ssl verify required ca-file {layout.config_dir.rstrip('/')}/{site.upstream_ca_name}{names} verifyhost {host}"
    )


def backend_section(spec: StackSpec, site: Site, layout: HaproxyLayout) -> list[str]:
    """The site's backend: retries, timeouts, the maintenance answer, the health check and its server."""
    server_s, tunnel_s = site.timeouts
    html_page, _ = page_names(site)
    names = [] if site.legacy else [f"    # {', '.join(site.names)}"]
    timeouts = (
        []
        if site.timeouts == PHOTOPRISM_TIMEOUTS
        else [  # the defaults section's are PhotoPrism's
            f"    timeout server {_duration(server_s)}",
            f"    timeout tunnel {_duration(tunnel_s)}     # WebSocket",
        ]
    )
    return [
        f"backend {site.backend}",
        *names,
        # A refused connection is retried, and what is left is the maintenance answer. A request the app
        # took and then dropped (a crash) is not: the app may have acted on it. It gets the maintenance
        # answer too (HAProxy's 502, below). Retrying it would also copy every request (docs/performance.md).
        "    retry-on conn-failure",
        # On the stack network a live app accepts in well under a millisecond; a stopped one
        # does not answer at all, and each request would wait out the whole connect timeout.
        "    timeout connect 2s",
        *timeouts,
        *exposure_rules(site, layout),
        *path_limit_rules(site, spec.limits),
        *login_guard_rules(site),
        *_maintenance_rules(site, layout),
        # HAProxy's own 502 is sent as the 503 in this file; the log keeps the 502 and why (SH: the
        # server hung up). An app's own 502 passes unchanged.
        f"    errorfile 502 {layout.config_dir.rstrip('/')}/{error_response_name(site)}",
        f'    http-error status 503 content-type "text/html; charset=utf-8" '
        f"file {layout.config_dir.rstrip('/')}/{html_page}",
        *_health_check(site),
        _server(spec, site, layout),
        "",
        *guard_table_section(site),
        *visitors_table_section(site),
    ]


def _duration(seconds: int) -> str:
    for unit, size in (("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
