"""`stackctl doctor`: every PhotoPrism site (or one) checked end to end through the running proxy, on
this node. It changes nothing in the stack: what it uploads or writes is removed, the sessions and the
app password it makes are deleted, and the ban it provokes on its test address is lifted."""

from __future__ import annotations

import ipaddress
import secrets
from pathlib import Path

from stackctl.certs.store import CertStore
from stackctl.config.layout import StackPaths
from stackctl.config.sites import Site
from stackctl.config.spec import StackSpec
from stackctl.core.errors import InvalidInput, OperationFailed, StackctlError
from stackctl.engines.base import Engine
from stackctl.flows.edges import Edges
from stackctl.flows.site_secrets import admin_login
from stackctl.haproxy.runtime_api import SOCKET_NAME
from stackctl.health.doctor import (
    Diagnosis,
    Finding,
    Login,
    log_in,
    log_out,
    range_check,
    site_url_check,
    upload_check,
    webdav_check,
    websocket,
)
from stackctl.health.doctor_edge import client_address_check, throttle_check
from stackctl.health.doctor_route import Route
from stackctl.health.target import probe_target
from stackctl.render.haproxy_layout import DOCTOR_SOCKET_NAME
from stackctl.render.services import trusted_proxy

DEFAULT_UPLOAD = 1 << 30
TEST_NETWORK = ipaddress.ip_network("192.0.2.0/24")  # RFC 5737: documentation only, never a real client
NEEDS_LOGIN = ("site_url", "webdav", "upload", "client_address", "throttle")


def doctor_sites(spec: StackSpec, domain: str | None) -> list[Site]:
    if domain is not None:
        site = spec.site(domain)
        if site.photoprism is None:
            raise InvalidInput(
                f"--site {domain}: {site.domain} is an upstream site, and the doctor checks what PhotoPrism "
                "needs from the proxy", "name a PhotoPrism site, or use stackctl verify for this one",
            )  # fmt: skip
        return [site]
    sites = [s for s in spec.sites if s.photoprism is not None]
    if not sites:
        raise InvalidInput("this stack has no PhotoPrism site, and the doctor checks PhotoPrism's needs",
                           "use stackctl verify for its sites")  # fmt: skip
    return sites


def doctor_address(site: Site, choose: secrets.SystemRandom) -> str:
    """A documentation address for a public site; for a site only `allow:` reaches, one inside it."""
    network = TEST_NETWORK if site.exposure == "public" else ipaddress.ip_network(site.allow[0])
    if network.num_addresses <= 2:
        return str(network[0])
    return str(network[choose.randrange(1, network.num_addresses - 1)])


def doctor(
    paths: StackPaths, spec: StackSpec, edges: Edges, domain: str | None, upload_size: int = DEFAULT_UPLOAD
) -> list[Diagnosis]:
    sites = doctor_sites(spec, domain)
    engine = edges.engine(spec)
    if engine.running_haproxy(spec, paths) is None:
        raise OperationFailed("the stack is not running, so there is no proxy to check", "start it with stackctl up")
    folder = engine.runtime_socket_dir(spec, paths)
    if folder is None:
        raise OperationFailed(
            "HAProxy does not run on this node, and the doctor checks the proxy it can reach",
            "start the stack with stackctl up, or run the doctor on an edge node",
        )
    if not (folder / DOCTOR_SOCKET_NAME).is_socket():
        raise OperationFailed(
            f"HAProxy has no doctor listener ({folder / DOCTOR_SOCKET_NAME}): it runs a configuration "
            "from an older stackctl", "run stackctl up, then stackctl doctor again",
        )  # fmt: skip
    store = CertStore(paths.certs)
    choose = secrets.SystemRandom()
    return [
        _diagnose(paths, spec, engine, site, Route(probe_target(spec, site, store), folder / DOCTOR_SOCKET_NAME,
                  doctor_address(site, choose)), folder / SOCKET_NAME, upload_size)
        for site in sites
    ]  # fmt: skip


def _diagnose(
    paths: StackPaths, spec: StackSpec, engine: Engine, site: Site, test: Route, runtime: Path, upload_size: int
) -> Diagnosis:
    caller = Route(test.target) if site.exposure == "public" else test  # only allow: reaches a private site
    user, password = admin_login(paths, site)
    nonce = secrets.token_hex(6)
    login, first = log_in(caller, user, password)
    findings = [first, websocket(caller), range_check(caller)]
    if login is None:
        findings += [Finding(name, "skip", "needs the admin's login") for name in NEEDS_LOGIN]
        return Diagnosis(site.domain, caller.shown, findings)
    try:
        findings.append(site_url_check(login, spec.site_url(site)))
        findings.append(webdav_check(caller, user, password, nonce))
        findings += _upload(engine, spec, site, caller, login, upload_size, nonce)
        address = client_address_check(test, login, user, password, nonce, trusted_proxy(spec))
        findings.append(address)
        if address.outcome == "fail":
            findings.append(Finding("throttle", "skip", "with the client address wrong, the failed logins it "
                                    "makes would throttle everyone in PhotoPrism's own limiter"))  # fmt: skip
        else:
            findings.append(throttle_check(test, site.login_guard, site.guard_table, runtime, nonce))
    finally:
        log_out(caller, login.token)
    return Diagnosis(site.domain, caller.shown, findings)


def _upload(
    engine: Engine, spec: StackSpec, site: Site, caller: Route, login: Login, size: int, nonce: str
) -> list[Finding]:
    """The upload, then its folder removed from PhotoPrism's storage (no API of PhotoPrism's deletes it)."""
    token = f"stackctl-doctor-{nonce}"
    uploaded = upload_check(caller, login, size, token, float(spec.limits.upload_s))
    folder = f"/photoprism/storage/users/{login.uid}/upload/*{token}"
    uploads = '/photoprism/storage/users/"$1"/upload/*"$2"'
    script = f"rm -rf -- {uploads} && ! ls -d {uploads}"
    try:
        engine.run_in(spec, site.service or "", ["sh", "-c", script + " >/dev/null 2>&1", "sh", login.uid, token])
    except StackctlError as e:
        return [uploaded, Finding("cleanup", "fail", f"the doctor's upload may remain in {folder}: {e.message}",
                                  f"remove {folder} in PhotoPrism's container")]  # fmt: skip
    return [uploaded]
