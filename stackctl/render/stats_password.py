"""The stats page's password as HAProxy checks it: a bcrypt hash in haproxy.cfg (HAProxy calls the C
library's crypt()). A reload picks a new one up, where a variable of the container's environment could
only change with a new container. The salt comes from the password itself, so the same password renders
the same config; the password is 32 random characters, so neither salt nor cost needs to slow a guess,
and the lowest cost keeps each stats request at about a millisecond."""

from __future__ import annotations

import base64
import hashlib
import hmac

import bcrypt

_STANDARD = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_BCRYPT = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
COST = 4


def stats_password_hash(password: str) -> str:
    raw = hmac.new(password.encode(), b"stackctl stats password salt", hashlib.sha256).digest()[:16]
    salt = base64.b64encode(raw).decode()[:22].translate(str.maketrans(_STANDARD, _BCRYPT))
    return bcrypt.hashpw(password.encode(), f"$2b${COST:02d}${salt}".encode()).decode()
