"""The doctor's checks that need a client address of its own, sent over HAProxy's doctor listener: which
address PhotoPrism records for a request (its trusted proxy setting), and the login throttle, whose ban
on that address is lifted afterwards."""

from __future__ import annotations

import ipaddress
import json
import time
import urllib.parse
from pathlib import Path

from stackctl.config.guard_spec import LoginGuard
from stackctl.core.errors import OperationFailed
from stackctl.haproxy.guard_table import banned, forget
from stackctl.health.doctor import Failure, Finding, Login, log_out
from stackctl.health.doctor_route import Route, request

_FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def client_address_check(
    route: Route, login: Login, user: str, password: str, nonce: str, trusted_proxy: str
) -> Finding:
    """An app password made from the test address (POST /api/v1/oauth/token), then the ClientIP that
    PhotoPrism lists for it (GET /api/v1/users/<uid>/sessions); the app password is deleted again."""
    name = f"stackctl doctor {nonce}"
    form = {"grant_type": "password", "client_name": name, "username": user, "password": password, "scope": "*"}
    try:
        made = request(route, "POST", "/api/v1/oauth/token", urllib.parse.urlencode(form).encode(),
                       {**_FORM, "X-Auth-Token": login.token})  # fmt: skip
        document = json.loads(made.body) if made.status == 200 else {}
        app_token = str(document.get("access_token", "")) if isinstance(document, dict) else ""
        if not app_token:
            return Finding("client_address", "fail", f"POST /api/v1/oauth/token -> {made.status}",
                           "the admin could not make an app password; look at PhotoPrism's log")  # fmt: skip
        try:
            listed = request(route, "GET", f"/api/v1/users/{login.uid}/sessions?count=1000", None,
                             {"X-Auth-Token": login.token})  # fmt: skip
        finally:
            log_out(route, app_token)
    except (*Failure, ValueError) as e:
        return Finding("client_address", "fail", f"asking PhotoPrism which address it sees failed: {e}",
                       "run stackctl status")  # fmt: skip
    seen = _client_ip(listed.body, name)
    if seen is None:
        return Finding("client_address", "fail", f"GET /api/v1/users/{login.uid}/sessions -> {listed.status} "
                       "without the doctor's app password", "look at PhotoPrism's log")  # fmt: skip
    if _same_address(seen, route.source or ""):
        return Finding("client_address", "pass", f"PhotoPrism sees {seen}, the caller's address")
    return Finding(
        "client_address", "fail",
        f"a request from {route.source} reached PhotoPrism as {seen}: it does not trust HAProxy as its "
        "proxy, so it takes HAProxy for the client, and one person's failed logins throttle everyone",
        f"PhotoPrism's trusted proxy setting must include HAProxy's network {trusted_proxy}: stackctl sets "
        f"PHOTOPRISM_TRUSTED_PROXY={trusted_proxy}; remove any other TrustedProxy (storage/config/options.yml), "
        "then run stackctl up",
    )  # fmt: skip


def _client_ip(body: bytes, client_name: str) -> str | None:
    try:
        sessions = json.loads(body)
    except ValueError:
        return None
    for session in sessions if isinstance(sessions, list) else []:
        if isinstance(session, dict) and session.get("ClientName") == client_name:
            return str(session.get("ClientIP", ""))
    return None


def throttle_check(route: Route, guard: LoginGuard | None, table: str, runtime: Path, nonce: str) -> Finding:
    """Wrong passwords for a user that does not exist, from the test address, until HAProxy answers 429
    and its table shows the ban; the ban and the failures are then forgotten."""
    if guard is None:
        return Finding("throttle", "skip", "guard.login is off for this site")
    source = route.source or ""
    try:
        finding = _until_banned(route, guard, table, runtime, nonce)
    finally:
        try:
            forget(runtime, table, source, int(time.time()))
        except OperationFailed as e:
            finding = Finding("throttle", "fail", f"the doctor's ban on {source} could not be lifted: {e.message}",
                              f"run stackctl guard unban {source}")  # fmt: skip
    return finding


def _until_banned(route: Route, guard: LoginGuard, table: str, runtime: Path, nonce: str) -> Finding:
    source = route.source or ""
    body = json.dumps({"username": f"stackctl-doctor-{nonce}", "password": f"wrong-{nonce}"}).encode()
    try:
        for attempt in range(1, guard.failures + 2):
            answer = request(route, "POST", "/api/v1/session", body, {"Content-Type": "application/json"})
            if answer.status not in (401, 403, 429):
                return Finding("throttle", "fail", f"a wrong password got {answer.status}", "look at PhotoPrism's log")
            if answer.status != 429 or not answer.header("Retry-After"):
                continue  # PhotoPrism's 401, or its own limiter's 429 (no Retry-After)
            if any(ban.address == source for ban in banned(runtime, table, int(time.time()))):
                return Finding("throttle", "pass", f"429 with Retry-After {answer.header('Retry-After')}s after "
                               f"{attempt - 1} failed logins from {source}; the ban is lifted again")  # fmt: skip
    except (*Failure, OperationFailed) as e:
        return Finding("throttle", "fail", f"the throttle could not be tried: {e}", "run stackctl status")
    return Finding(
        "throttle", "fail", f"no ban after {guard.failures + 1} failed logins from {source}",
        "HAProxy runs an older configuration: run stackctl up",
    )  # fmt: skip


def _same_address(one: str, other: str) -> bool:
    try:
        return ipaddress.ip_address(one) == ipaddress.ip_address(other)
    except ValueError:
        return False
