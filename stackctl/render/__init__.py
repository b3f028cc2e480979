"""Pure renderers: StackSpec -> text. No I/O here."""

from __future__ import annotations

from stackctl.config.spec import StackSpec
from stackctl.render.compose import render_compose
from stackctl.render.haproxy import CONTAINER_LAYOUT, HaproxyLayout, render_haproxy
from stackctl.render.header import GENERATED_HEADER

__all__ = [
    "CONTAINER_LAYOUT",
    "GENERATED_HEADER",
    "HaproxyLayout",
    "render_compose",
    "render_haproxy",
    "render_stack",
]


def render_stack(spec: StackSpec, acme_thumbprint: str | None = None) -> dict[str, str]:
    """Every generated file's text, keyed by its path relative to the stack folder."""
    return {
        "compose/compose.yaml": render_compose(spec),
        "compose/haproxy/haproxy.cfg": render_haproxy(spec, CONTAINER_LAYOUT, acme_thumbprint),
    }
