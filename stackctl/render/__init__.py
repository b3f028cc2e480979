"""Pure renderers: StackSpec -> text. No I/O here."""

from __future__ import annotations

from stackctl.config.spec import StackSpec
from stackctl.render.compose import render_compose
from stackctl.render.haproxy import (
    CONTAINER_LAYOUT,
    NO_HTTP3,
    HaproxyLayout,
    Http3,
    render_haproxy,
    render_haproxy_folder,
)
from stackctl.render.header import GENERATED_HEADER
from stackctl.render.swarm import SWARM_LAYOUT, object_names

HAPROXY_FOLDER = "compose/haproxy"  # mounted as a folder: an atomic write there reaches the container

__all__ = [
    "CONTAINER_LAYOUT",
    "GENERATED_HEADER",
    "HAPROXY_FOLDER",
    "HaproxyLayout",
    "render_compose",
    "render_haproxy",
    "render_haproxy_folder",
    "render_stack",
]


def render_stack(
    spec: StackSpec, acme_thumbprint: str | None = None, http3: Http3 = NO_HTTP3,
    secret_digests: dict[str, str] | None = None,
) -> dict[str, str]:  # fmt: skip
    """Every generated file's text, keyed by its path relative to the stack folder. A Swarm stack's
    compose.yaml names its secrets by `secret_digests` (key -> digest of the value)."""
    if spec.engine == "swarm":
        haproxy_folder = render_haproxy_folder(spec, SWARM_LAYOUT, acme_thumbprint, NO_HTTP3)
        if secret_digests is None:
            raise ValueError("a swarm stack's compose.yaml needs the digests of its secrets")
        names = object_names(spec, haproxy_folder, secret_digests)
        compose = render_compose(spec, NO_HTTP3, (sorted(haproxy_folder), names))
    else:
        haproxy_folder = render_haproxy_folder(spec, CONTAINER_LAYOUT, acme_thumbprint, http3)
        compose = render_compose(spec, http3)
    return {
        "compose/compose.yaml": compose,
        **{f"{HAPROXY_FOLDER}/{name}": text for name, text in haproxy_folder.items()},
    }
