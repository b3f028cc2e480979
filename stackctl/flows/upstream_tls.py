"""HTTPS upstreams checked before `up` changes anything: a certificate HAProxy would refuse (self-signed,
another name, another CA) is refused here with what to set, instead of a site that answers 503."""

from __future__ import annotations

import socket
from pathlib import Path

from stackctl.config.host_paths import stack_path
from stackctl.config.sites import Site, UpstreamSettings
from stackctl.config.spec import StackSpec
from stackctl.config.upstream_ca import system_ca_bundle
from stackctl.core.errors import InvalidInput
from stackctl.core.names import is_ip
from stackctl.engines.base import Engine, Report
from stackctl.health.upstream_tls import upstream_handshake
from stackctl.render.haproxy_backends import HOST_GATEWAY


def _address(engine: Engine, up: UpstreamSettings, host: str, port: int) -> str | None:
    """Where this host reaches the upstream: the host itself for host.docker.internal, the container's
    address on the user's bridge network, or what this host's resolver answers."""
    if host == HOST_GATEWAY or is_ip(host):
        return "127.0.0.1" if host == HOST_GATEWAY else host
    if up.network is not None:
        found = engine.address_on_network(up.network, host)
        if found is not None:
            return found
    try:
        return str(socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][4][0])
    except OSError:
        return None


def check_https_upstreams(root: Path, spec: StackSpec, engine: Engine, report: Report) -> None:
    for site in spec.sites:
        up = site.upstream
        if up is not None and up.url_tls and up.verify and up.url_host is not None and up.url_port is not None:
            _check(root, site, up, (up.url_host, up.url_port), engine, report)


def _check(root: Path, site: Site, up: UpstreamSettings, url: tuple[str, int], engine: Engine, report: Report) -> None:
    host, port = url
    cafile = stack_path(root, up.ca_file) if up.ca_file is not None else system_ca_bundle()
    address = _address(engine, up, host, port)
    not_now = f"{site.domain}: {up.url} cannot be reached from this host, so its certificate is not checked before"
    if cafile is None or address is None:
        report(f"{not_now}; HAProxy checks it (stackctl status shows the result)")
        return
    try:
        handshake = upstream_handshake(address, port, host, cafile)
    except OSError as e:
        report(f"{not_now} ({e.strerror or e}); HAProxy checks it (stackctl status shows the result)")
        return
    if not handshake.verified:
        against = "upstream.ca_file" if up.ca_file is not None else "this host's trust store"
        raise InvalidInput(
            f"{site.domain}: the certificate of {up.url} does not verify against {against}: {handshake.detail}",
            "set upstream.ca_file to the CA that signed it, or upstream.verify: false (any certificate is taken)",
        )
