"""The values of a Swarm stack's secrets, read from secrets/ and certs/haproxy/ (with limits), and the
digests their Docker names carry. The digest is keyed by the stack's passwords, so a name tells nothing
about a password to someone who does not have them all."""

from __future__ import annotations

import hashlib
import hmac
import re
from pathlib import Path

from stackctl.config.secrets import read_env_file
from stackctl.config.spec import StackSpec
from stackctl.core.errors import InvalidInput
from stackctl.core.fsio import MiB, read_user_file
from stackctl.render.swarm import secret_sources

# Put inside a double-quoted HAProxy word: no quote, backslash, `$`, space or control character.
USERLIST_SAFE = re.compile(r"[A-Za-z0-9_.,:;!?@#%^&*()+=\[\]{}~-]{8,128}")
BUNDLE_MAX_BYTES = MiB
DIGEST_CHARS = 12


def secret_values(root: Path, spec: StackSpec) -> dict[str, bytes]:
    """Each secret's value by key (render.swarm.secret_sources)."""
    values: dict[str, bytes] = {}
    for source in secret_sources(spec):
        path = root / source.file
        if source.variable is None:
            hint = "run stackctl up (it creates the certificate) or stackctl certs import"
            values[source.key] = read_user_file(path, BUNDLE_MAX_BYTES, source.file, hint)
            continue
        value = read_env_file(path).get(source.variable, "")
        if source.template is not None:
            if not USERLIST_SAFE.fullmatch(value):
                raise InvalidInput(
                    f"{source.file}: {source.variable} must be 8 to 128 characters without quotes, '$', "
                    "backslashes or spaces (HAProxy reads it from a Swarm secret)",
                    'delete the file and run "stackctl init" to generate one',
                )
            value = source.template.format(value=value)
        values[source.key] = value.encode()
    return values


def secret_digests(spec: StackSpec, values: dict[str, bytes]) -> dict[str, str]:
    passwords = sorted(s.key for s in secret_sources(spec) if s.variable is not None)
    key = hashlib.sha256(b"\0".join(values[k] for k in passwords)).digest()
    return {k: hmac.new(key, v, hashlib.sha256).hexdigest()[:DIGEST_CHARS] for k, v in values.items()}
