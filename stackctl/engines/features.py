"""What the HAProxy image can do, found with `haproxy -vv` in a one-off container once per image ID and
kept in compose/.haproxy-features.json, and what `ports.http3` makes of it. Rendering reads only the
file, so `render` and `plan` agree with the last `up` without asking Docker."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from stackctl.config.layout import StackPaths
from stackctl.config.spec import StackSpec
from stackctl.core.errors import InvalidInput
from stackctl.core.fsio import atomic_write, read_text_if_exists
from stackctl.render.haproxy import NO_HTTP3, Http3

if TYPE_CHECKING:  # the engines use what the image can do when they build services
    from stackctl.engines.base import Engine

FEATURES_FILE = ".haproxy-features.json"


def _path(paths: StackPaths) -> Path:
    return paths.compose_dir / FEATURES_FILE


def _cached(paths: StackPaths, image: str) -> dict[str, object] | None:
    text = read_text_if_exists(_path(paths), 1 << 16)
    try:
        found = json.loads(text) if text else None
    except ValueError:
        return None
    return found if isinstance(found, dict) and found.get("image") == image else None


def refresh_features(engine: Engine, paths: StackPaths, spec: StackSpec) -> None:
    """Ask the image (once per image ID) whether its HAProxy has QUIC; `ports.http3: false` asks nothing.
    `true` on an image without QUIC is refused here, before anything is written."""
    if spec.ports.http3 == "false":
        return
    details = engine.image_details(spec.images.haproxy)
    cached = _cached(paths, spec.images.haproxy)
    if details is not None and (cached is None or cached.get("id") != details.id):
        quic, compat = engine.haproxy_quic_support(spec.images.haproxy)
        if spec.ports.http3 == "true" and not quic:
            raise _no_quic(spec)
        document = {"image": spec.images.haproxy, "id": details.id, "quic": quic, "quic_openssl_compat": compat}
        atomic_write(_path(paths), json.dumps(document, indent=1) + "\n")
    http3_for(paths, spec)


def http3_for(paths: StackPaths, spec: StackSpec) -> Http3:
    """`ports.http3` against what the image is known to do. `true` on an image without QUIC is refused."""
    if spec.ports.http3 == "false":
        return NO_HTTP3
    cached = _cached(paths, spec.images.haproxy)
    if cached is None:  # not asked yet (before the first up): only `true` turns it on
        return Http3(True) if spec.ports.http3 == "true" else NO_HTTP3
    if not cached.get("quic"):
        if spec.ports.http3 == "true":
            raise _no_quic(spec)
        return NO_HTTP3
    return Http3(True, bool(cached.get("quic_openssl_compat")))


def _no_quic(spec: StackSpec) -> InvalidInput:
    return InvalidInput(
        f"ports.http3 is true but {spec.images.haproxy} has no QUIC (haproxy -vv lists no +QUIC)",
        "set ports.http3: auto or false, or use an image built with USE_QUIC=1 (e.g. Debian 13's haproxy)",
    )
