"""Pure renderers: StackSpec -> text. No I/O here."""

from __future__ import annotations

import dataclasses

from stackctl.config.spec import StackSpec
from stackctl.render.compose import render_compose, render_swarm_compose
from stackctl.render.haproxy import (
    BASELINE,
    CONTAINER_LAYOUT,
    EdgeFeatures,
    HaproxyLayout,
    render_haproxy,
    render_haproxy_folder,
)
from stackctl.render.header import GENERATED_HEADER
from stackctl.render.stats_password import stats_password_hash
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
    "render_swarm_compose",
    "render_swarm_stack",
]


def render_stack(
    spec: StackSpec,
    acme_thumbprint: str | None = None,
    features: EdgeFeatures = BASELINE,
    stats_password: str | None = None,
    upstream_cas: dict[str, str] | None = None,
) -> dict[str, str]:
    """Every generated file's text for containers on one host, keyed by its path relative to the stack
    folder. Without `stats_password` (no secrets yet) the stats userlist reads the environment.
    `upstream_cas`: HTTPS upstreams' CA files for HAProxy's folder (config.upstream_ca)."""
    hashed = stats_password_hash(stats_password) if stats_password else None
    layout = dataclasses.replace(CONTAINER_LAYOUT, stats_password_hash=hashed)
    haproxy_folder = {**render_haproxy_folder(spec, layout, acme_thumbprint, features), **(upstream_cas or {})}
    return _files(render_compose(spec, features), haproxy_folder)


def render_swarm_stack(
    spec: StackSpec, acme_thumbprint: str | None, secret_digests: dict[str, str], features: EdgeFeatures = BASELINE,
    upstream_cas: dict[str, str] | None = None,
) -> dict[str, str]:  # fmt: skip
    """Every generated file's text for Swarm services; compose.yaml names each secret and config by a
    digest of its value (`secret_digests`: key -> digest). `upstream_cas`: as render_stack's."""
    haproxy_folder = {**render_haproxy_folder(spec, SWARM_LAYOUT, acme_thumbprint, features), **(upstream_cas or {})}
    names = object_names(spec, haproxy_folder, secret_digests)
    return _files(render_swarm_compose(spec, sorted(haproxy_folder), names, features.http3), haproxy_folder)


def _files(compose: str, haproxy_folder: dict[str, str]) -> dict[str, str]:
    return {
        "compose/compose.yaml": compose,
        **{f"{HAPROXY_FOLDER}/{name}": text for name, text in haproxy_folder.items()},
    }
