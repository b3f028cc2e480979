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
from stackctl.engines.haproxy_build import HaproxyBuild, parse_openssl_text
from stackctl.render.haproxy import EdgeFeatures

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
    """Ask the image (once per image ID) what its HAProxy can do: QUIC, and the OpenSSL it runs on (for
    the TLS groups). `ports.http3: true` on an image without QUIC is refused here, before anything is
    written."""
    details = engine.image_details(spec.images.haproxy)
    cached = _cached(paths, spec.images.haproxy)
    # an earlier stackctl's file has no "openssl": ask again
    stale = details is not None and (cached is None or cached.get("id") != details.id or "openssl" not in cached)
    if details is not None and stale:
        build = engine.haproxy_build(spec.images.haproxy)
        if spec.ports.http3 == "true" and not build.quic:
            raise _no_quic(spec)
        document = {"image": spec.images.haproxy, "id": details.id, "quic": build.quic,
                    "quic_openssl_compat": build.quic_openssl_compat, "openssl": build.openssl_text}  # fmt: skip
        atomic_write(_path(paths), json.dumps(document, indent=1) + "\n")
    edge_features(paths, spec)


def edge_features(paths: StackPaths, spec: StackSpec) -> EdgeFeatures:
    """What the config makes of the image: HTTP/3 per `ports.http3` (`true` on an image without QUIC is
    refused), and the hybrid post-quantum group when its OpenSSL has it. Before the image was first
    asked (the first up), only `ports.http3: true` turns anything on."""
    cached = _cached(paths, spec.images.haproxy) or {}
    build = HaproxyBuild(bool(cached.get("quic")), bool(cached.get("quic_openssl_compat")),
                         parse_openssl_text(cached.get("openssl")))  # fmt: skip
    if spec.ports.http3 == "true" and cached and not build.quic:
        raise _no_quic(spec)
    http3 = spec.ports.http3 == "true" or (spec.ports.http3 == "auto" and build.quic)
    compat = http3 and build.quic_openssl_compat
    return EdgeFeatures(http3, compat, build.hybrid_groups)


def _no_quic(spec: StackSpec) -> InvalidInput:
    return InvalidInput(
        f"ports.http3 is true but {spec.images.haproxy} has no QUIC (haproxy -vv lists no +QUIC)",
        "set ports.http3: auto or false, or use an image built with USE_QUIC=1 (e.g. Debian 13's haproxy)",
    )
