"""Whether a password logs in: a PhotoPrism account through PhotoPrism's own session API (POST
/api/v1/session) over the stack's HTTPS like a browser, and HAProxy's stats page with basic auth."""

from __future__ import annotations

import base64
import http.client
import json
import ssl

from stackctl.core.errors import OperationFailed
from stackctl.health.probe import Target, https_request

SESSION_PATH = "/api/v1/session"


def logs_in(target: Target, username: str, password: str) -> bool:
    """True on 200, False on 401 or 403; raises OperationFailed when the question cannot be asked."""
    body = json.dumps({"username": username, "password": password}).encode()
    try:
        status, _ = https_request(target, "POST", SESSION_PATH, body, {"Content-Type": "application/json"})
    except (OSError, ssl.SSLError, http.client.HTTPException) as e:
        raise OperationFailed(
            f"could not ask {target.domain} whether {username} logs in: {e}", "run stackctl status"
        ) from e
    if status in (401, 403):
        return False
    if status != 200:
        raise OperationFailed(f"{target.domain} answered {status} to a login of {username}", "run stackctl status")
    return True


def stats_login_status(port: int, password: str, timeout: float = 5.0) -> int:
    """The status HAProxy's stats page on 127.0.0.1:port answers user admin with `password` (200 or 401)."""
    token = base64.b64encode(f"admin:{password}".encode()).decode()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", "/", headers={"Authorization": f"Basic {token}"})
        response = conn.getresponse()
        response.read()
        return response.status
    except (OSError, http.client.HTTPException) as e:
        raise OperationFailed(
            f"HAProxy's stats page on 127.0.0.1:{port} did not answer: {e}", "run stackctl status"
        ) from e
    finally:
        conn.close()
