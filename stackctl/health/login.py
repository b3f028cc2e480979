"""Whether a PhotoPrism account logs in with a password: PhotoPrism's own session API
(POST /api/v1/session), asked through the stack's HTTPS like a browser would."""

from __future__ import annotations

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
