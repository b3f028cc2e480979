"""haproxy.cfg for the stack: valid on HAProxy 2.6 through 3.2 (design.md section 4)."""

from __future__ import annotations

import hashlib

from stackctl.config.settings import DEFAULT_CERT_FILE
from stackctl.config.spec import StackSpec
from stackctl.render.exposure import forbidden_pages
from stackctl.render.haproxy_backends import backend_section
from stackctl.render.haproxy_layout import BASELINE, CONTAINER_LAYOUT, EdgeFeatures, HaproxyLayout
from stackctl.render.header import GENERATED_HEADER
from stackctl.render.maintenance import RETRY_AFTER_S, maintenance_pages

__all__ = [  # what other modules import from here; the layout types live in haproxy_layout
    "BASELINE",
    "CONFIG_ID_VARIABLE",
    "CONTAINER_LAYOUT",
    "HAPROXY_CFG",
    "EdgeFeatures",
    "HaproxyLayout",
    "config_id",
    "container_cert_path",
    "render_haproxy",
    "render_haproxy_folder",
]  # fmt: skip

# Mozilla "intermediate" (server side TLS guidelines 5.7): TLS 1.2 with ECDHE AEAD ciphers, and TLS 1.3.
MOZILLA_INTERMEDIATE_CIPHERS = ":".join(
    (
        "ECDHE-ECDSA-AES128-GCM-SHA256",
        "ECDHE-RSA-AES128-GCM-SHA256",
        "ECDHE-ECDSA-AES256-GCM-SHA384",
        "ECDHE-RSA-AES256-GCM-SHA384",
        "ECDHE-ECDSA-CHACHA20-POLY1305",
        "ECDHE-RSA-CHACHA20-POLY1305",
    )
)
MOZILLA_TLS13_CIPHERSUITES = "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"
MOZILLA_CURVES = "X25519:prime256v1:secp384r1"
# Mozilla's guideline 5.8: the hybrid post-quantum group first, where OpenSSL (3.5 or later) has it.
HYBRID_CURVES = f"X25519MLKEM768:{MOZILLA_CURVES}"
HSTS = "max-age=63072000"
PHOTOPRISM_BACKEND = "photoprism"  # the single-site form's backend and its one server
DOCKER_DNS = "127.0.0.11:53"
HAPROXY_CFG = "haproxy.cfg"
HOSTS_MAP = "hosts.map"  # exact host name -> backend
WILDCARDS_MAP = "wildcards.map"  # `.example.com` -> backend, for `*.example.com` aliases
# The Docker host, as Docker's `host-gateway` names it. HAProxy reaches it at the stack network's
# gateway, which is the host's own address on that bridge: no extra_hosts entry, so adding such a
# site never changes the HAProxy container.
# Read back over the runtime API (`show env`) to confirm that a reload runs the new configuration.
CONFIG_ID_VARIABLE = "STACKCTL_CONFIG_ID"


ALT_SVC_MAX_AGE = 86400


def container_cert_path(domain: str) -> str:
    """The name HAProxy knows a site's bundle by: its path inside the container."""
    return f"{CONTAINER_LAYOUT.certs_dir}{domain}.pem"


def _redirect_target(spec: StackSpec) -> str:
    port = "" if spec.ports.https == 443 else f":{spec.ports.https}"
    return f"https://%[req.hdr(host),host_only,lower]{port}%[pathq]"


def _acme_rules(acme_thumbprint: str | None) -> list[str]:
    if acme_thumbprint is None:
        return [
            "    # No ACME account: challenges get a plain 404, never a redirect.",
            '    http-request return status 404 content-type text/plain string "no ACME challenge pending" '
            "if is_acme_challenge",
        ]
    return [
        "    # Stateless HTTP-01: the key authorization is <token>.<account key thumbprint>.",
        r"    acl is_acme_token path_reg ^/\.well-known/acme-challenge/[A-Za-z0-9_-]+$",
        "    http-request return status 200 content-type text/plain "
        f'lf-string "%[path,field(-1,/)].{acme_thumbprint}" if is_acme_token known_host',
        '    http-request return status 404 content-type text/plain string "no such ACME challenge" '
        "if is_acme_challenge",
    ]


def _site_lookup(spec: StackSpec, layout: HaproxyLayout) -> list[str]:
    """The host name picks the site through a map: one lookup per request, however many sites."""
    folder = layout.config_dir.rstrip("/")
    host = "req.hdr(host),host_only,lower"
    lines = [f"    http-request set-var(txn.site) {host},map({folder}/{HOSTS_MAP})"]
    if any(n.startswith("*.") for site in spec.sites for n in site.names):
        lines.append(
            f"    http-request set-var(txn.site) {host},map_end({folder}/{WILDCARDS_MAP}) "
            "unless { var(txn.site) -m found }"
        )
    return [*lines, "    acl known_host var(txn.site) -m found"]


def host_maps(spec: StackSpec) -> dict[str, str]:
    """hosts.map (every exact name), and wildcards.map when a site has a `*.` alias."""
    exact = [f"{name} {site.backend}" for site in spec.sites for name in site.names if not name.startswith("*.")]
    maps = {HOSTS_MAP: "\n".join([f"# {GENERATED_HEADER}", *exact]) + "\n"}
    suffixes = [f"{name[1:]} {site.backend}" for site in spec.sites for name in site.names if name.startswith("*.")]
    if suffixes:
        maps[WILDCARDS_MAP] = "\n".join([f"# {GENERATED_HEADER}", *suffixes]) + "\n"
    return maps


def config_id(text: str) -> str | None:
    """The configuration id a rendered haproxy.cfg sets, or None for one without it."""
    prefix = f"setenv {CONFIG_ID_VARIABLE} "
    for line in text.splitlines():
        if line.strip().startswith(prefix):
            return line.strip()[len(prefix) :]
    return None


def render_haproxy_folder(
    spec: StackSpec, layout: HaproxyLayout = CONTAINER_LAYOUT, acme_thumbprint: str | None = None,
    features: EdgeFeatures = BASELINE,
) -> dict[str, str]:  # fmt: skip
    """Every file of HAProxy's configuration folder. haproxy.cfg carries an id of the whole folder, so a
    reload can be confirmed by reading it back from the new worker."""
    pages = {name: text for site in spec.sites for name, text in maintenance_pages(site).items()}
    pages.update({name: text for site in spec.sites for name, text in forbidden_pages(site).items()})
    pages.update(host_maps(spec))
    lines = _config_lines(spec, layout, acme_thumbprint, features)
    folder_digest = hashlib.sha256("\n".join([*lines, *(f"{n}\n{t}" for n, t in sorted(pages.items()))]).encode())
    at = lines.index("global") + 1
    lines.insert(at, f"    setenv {CONFIG_ID_VARIABLE} {folder_digest.hexdigest()[:16]}")
    return {HAPROXY_CFG: "\n".join(lines), **pages}


def render_haproxy(
    spec: StackSpec, layout: HaproxyLayout = CONTAINER_LAYOUT, acme_thumbprint: str | None = None,
    features: EdgeFeatures = BASELINE,
) -> str:  # fmt: skip
    return render_haproxy_folder(spec, layout, acme_thumbprint, features)[HAPROXY_CFG]


def _config_lines(
    spec: StackSpec, layout: HaproxyLayout, acme_thumbprint: str | None, features: EdgeFeatures
) -> list[str]:
    lines = [
        *_global_and_defaults(spec, layout),
        *_http_frontend(spec, layout, acme_thumbprint),
        *_https_frontend(spec, layout, HYBRID_CURVES if features.hybrid_groups else MOZILLA_CURVES),
        *(line for site in spec.sites for line in backend_section(spec, site, layout)),
        *_stats(layout),
    ]
    if features.http3:
        _add_http3(lines, spec, layout, features)
    return lines


def _add_http3(lines: list[str], spec: StackSpec, layout: HaproxyLayout, features: EdgeFeatures) -> None:
    """The QUIC listener beside the TCP one: same certificates (so a hot swap covers both), same
    routing; every HTTPS answer announces it with Alt-Svc."""
    if features.limited_quic:
        lines.insert(lines.index("global") + 1, "    limited-quic  # QUIC on an OpenSSL without its QUIC API")
    tcp_bind = f"    bind {_listen(spec, layout, layout.https_port)} ssl"
    https = next(i for i, line in enumerate(lines) if line.startswith(tcp_bind))
    quic = [f"quic4@{layout.public_bind}:{layout.https_port}"]
    if _dual_stack(spec, layout):
        quic.append(f"quic6@:::{layout.https_port} v6only")
    lines[https + 1 : https + 1] = [
        *(f"    bind {address} ssl {_certificates(layout)} alpn h3" for address in quic),
        f"    http-after-response set-header Alt-Svc 'h3=\":{spec.ports.https}\"; ma={ALT_SVC_MAX_AGE}'",
    ]


def _dual_stack(spec: StackSpec, layout: HaproxyLayout) -> bool:
    """In the container, on a stack published on an IPv6 address: its network carries IPv6 too."""
    return spec.ports.ipv6 and not layout.public_bind


def _listen(spec: StackSpec, layout: HaproxyLayout, port: int) -> str:
    """A public listener's address: every IPv4 address of the container, and every IPv6 one too (one
    socket for both) when the stack is dual stack."""
    return f":::{port} v4v6" if _dual_stack(spec, layout) else f"{layout.public_bind}:{port}"


def _tls_defaults(spec: StackSpec) -> list[str]:
    """Mozilla's "intermediate" (TLS 1.2 with ECDHE AEAD ciphers, and 1.3) or "modern" (TLS 1.3 only)."""
    if spec.tls_profile == "modern":
        return [
            f"    ssl-default-bind-ciphersuites {MOZILLA_TLS13_CIPHERSUITES}",
            "    ssl-default-bind-options prefer-client-ciphers ssl-min-ver TLSv1.3 no-tls-tickets",
        ]
    return [
        f"    ssl-default-bind-ciphers {MOZILLA_INTERMEDIATE_CIPHERS}",
        f"    ssl-default-bind-ciphersuites {MOZILLA_TLS13_CIPHERSUITES}",
        "    ssl-default-bind-options prefer-client-ciphers ssl-min-ver TLSv1.2 no-tls-tickets",
    ]


def _global_and_defaults(spec: StackSpec, layout: HaproxyLayout) -> list[str]:
    return [
        f"# {GENERATED_HEADER}",
        *_title(spec),
        "",
        "global",
        "    log stdout format raw local0 info",
        # Runtime API for hot certificate updates and status; the socket's folder is private to the owner.
        f"    stats socket {layout.socket_path} mode 660 level admin expose-fd listeners",
        "    stats timeout 30s",
        *_tls_defaults(spec),
        "",
        "defaults",
        "    mode http",
        "    log global",
        "    option dontlognull",
        "    option redispatch",
        "    retries 3",
        "    timeout connect 5s",
        f"    timeout http-request {spec.limits.request_s}s       # whole request head; stops slowloris",
        "    timeout http-keep-alive 30s",
        "    timeout client 5m              # idle client during long uploads",
        "    timeout server 10m             # video transcoding and large imports can think for a while",
        "    timeout tunnel 1h              # WebSocket /api/v1/ws; PhotoPrism pings every 15 s",
        "    timeout client-fin 30s",
        "    timeout queue 30s",
        "",
        "resolvers docker",
        f"    nameserver docker {DOCKER_DNS}",
        "    resolve_retries 3",
        "    timeout resolve 1s",
        "    timeout retry 1s",
        "    hold valid 10s",
        "    hold other 10s",
        "    hold refused 10s",
        "    hold nx 10s",
        "    hold timeout 10s",
        "    hold obsolete 10s",
        "",
    ]


def _http_frontend(spec: StackSpec, layout: HaproxyLayout, acme_thumbprint: str | None) -> list[str]:
    return [
        "frontend http",
        f"    bind {_listen(spec, layout, layout.http_port)}",
        "    option httplog",
        *_site_lookup(spec, layout),
        "    acl is_acme_challenge path_beg /.well-known/acme-challenge/",
        *_quiet_redirects(spec),
        *_acme_rules(acme_thumbprint),
        f'    http-request redirect location "{_redirect_target(spec)}" code 301 if known_host',
        '    http-request return status 404 content-type text/plain string "unknown host" if !known_host',
        "",
    ]


def _https_frontend(spec: StackSpec, layout: HaproxyLayout, curves: str) -> list[str]:
    return [
        "frontend https",
        f"    bind {_listen(spec, layout, layout.https_port)} ssl {_certificates(layout)} "
        f"alpn h2,http/1.1 curves {curves}",
        # `stackctl doctor` speaks HTTPS here as a test address of its choosing (the PROXY header), so
        # that it can prove the throttle and the client address without banning a real one. The
        # socket is the stack owner's alone, like the runtime API's.
        f"    bind unix@{layout.doctor_socket_path} mode 660 accept-proxy ssl {_certificates(layout)} "
        f"alpn h2,http/1.1 curves {curves}",
        "    option httplog",
        *_quiet_answers(spec),
        "    option forwardfor",
        # Only this proxy's view of the client counts; a client-supplied value would be spoofable.
        "    http-request del-header X-Forwarded-For",
        "    http-request set-header X-Forwarded-Proto https",
        # http-after-response also covers HAProxy's own responses (503, 404), unlike http-response.
        f'    http-after-response set-header Strict-Transport-Security "{HSTS}"',
        f"    http-after-response set-header Retry-After {RETRY_AFTER_S} if {{ status 503 }} "
        "!{ res.hdr(retry-after) -m found }",
        *_site_lookup(spec, layout),
        '    http-request return status 404 content-type text/plain string "unknown host" if !known_host',
        "    use_backend %[var(txn.site)]",
        "",
    ]


def _quiet_answers(spec: StackSpec) -> list[str]:
    """log: errors. The access log line costs HAProxy more CPU per keep-alive request than any rule
    here (docs/performance.md). http-response rules see only the app's answers, so HAProxy's own (403,
    404, 408, 413, 429, 503) are always logged, and so is a request that never got an answer."""
    if spec.log == "full":
        return []
    return [
        "    # log: errors. An answer of 400 or more, a timeout and an abort before the answer are logged;",
        "    # the app's answers under 400 are not (log: full logs every request).",
        "    http-response set-log-level silent if { status lt 400 }",
    ]


def _quiet_redirects(spec: StackSpec) -> list[str]:
    if spec.log == "full":
        return []
    return ["    http-request set-log-level silent if known_host !is_acme_challenge  # the redirect to https"]


def _certificates(layout: HaproxyLayout) -> str:
    """The stack's own certificate first: HAProxy serves its first one to a client whose SNI matches no
    site (or that sends none), so a scan of the address learns no site's name. Not strict-sni: that
    would end such a handshake with an alert, where this answers with the readable 404 "unknown host"."""
    return f"crt {layout.certs_dir}{DEFAULT_CERT_FILE} crt {layout.certs_dir}"


def _title(spec: StackSpec) -> list[str]:
    if spec.legacy:
        return [f"# Stack {spec.name!r}: https://{spec.first_site.domain} -> PhotoPrism, behind HAProxy."]
    return [f"# Stack {spec.name!r}: {len(spec.sites)} sites behind HAProxy; hosts.map picks the backend."]


def _stats(layout: HaproxyLayout) -> list[str]:
    if layout.stats_password_hash is not None:
        users = ["userlist stats_users", f"    user admin password {layout.stats_password_hash}", ""]
    elif layout.stats_users_file is None:
        users = ["userlist stats_users", '    user admin insecure-password "${STATS_PASSWORD}"', ""]
    else:
        users = [f"# userlist stats_users: in {layout.stats_users_file}, loaded with -f after this file", ""]
    return [
        *users,
        "listen stats",
        f"    bind {layout.stats_bind}:{layout.stats_port}",
        "    no log",
        "    http-request auth realm stackctl-stats unless { http_auth(stats_users) }",
        "    http-request use-service prometheus-exporter if { path /metrics }",
        "    stats enable",
        "    stats uri /",
        "    stats refresh 10s",
        "    stats show-node",
        "",
    ]
