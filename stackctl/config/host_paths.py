"""Before anything changes: every host path in stack.yaml that stackctl does not create itself exists.

A folder inside the stack folder (the defaults, ./sites/<slug>/originals and the like) is created by
`up`. One outside it (absolute, ~ or ../) must already be there, so that a typo such as /mnt/phtos is
refused instead of becoming an empty photo library. Files (an upstream's env_file, an ACME CA bundle)
must always exist."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from stackctl.core.errors import InvalidInput

if TYPE_CHECKING:
    from stackctl.config.sites import Site
    from stackctl.config.spec import StackSpec


def stack_path(root: Path, text: str) -> Path:
    """A path from stack.yaml on this host: `~` expanded, a relative one taken from the stack folder."""
    return Path(os.path.normpath(root.absolute() / os.path.expanduser(text)))


@dataclass(frozen=True)
class HostPath:
    key: str  # where stack.yaml names it, e.g. sites[1].photoprism.originals
    text: str  # as written there
    kind: Literal["folder", "file"]


def site_keys(spec: StackSpec, site: Site) -> tuple[str | int, ...]:
    """The keys of a site's section: ("sites", i), or none for the single-site form's top level."""
    if site.legacy:
        return ()
    return ("sites", [s for s in spec.sites if not s.legacy].index(site))


def site_key(spec: StackSpec, site: Site) -> str:
    """site_keys as stack.yaml's errors write it: `sites[i].`, or nothing for the top level."""
    keys = site_keys(spec, site)
    return f"sites[{keys[1]}]." if keys else ""


def host_paths(spec: StackSpec) -> list[HostPath]:
    found: list[HostPath] = []
    if spec.database.kind == "mariadb":
        found.append(HostPath("database.path", spec.database.path, "folder"))
    bundles: set[str] = set()
    for site in spec.sites:
        key = site_key(spec, site)
        if site.photoprism is not None:
            pp = site.photoprism
            for name, text in (("originals", pp.originals), ("storage", pp.storage), ("import", pp.import_path)):
                if text is not None:
                    found.append(HostPath(f"{key}photoprism.{name}", text, "folder"))
        if site.upstream is not None:
            up = site.upstream
            for index, (source, _target, _ro) in enumerate(up.volumes):
                found.append(HostPath(f"{key}upstream.volumes[{index}]", source, "folder"))
            if up.env_file is not None:
                found.append(HostPath(f"{key}upstream.env_file", up.env_file, "file"))
            if up.ca_file is not None:
                found.append(HostPath(f"{key}upstream.ca_file", up.ca_file, "file"))
        bundle = site.tls.acme.ca_bundle if site.tls.source == "acme" else None
        if bundle is not None and bundle not in bundles:
            bundles.add(bundle)
            found.append(HostPath("tls.acme.ca_bundle", bundle, "file"))
    return found


def _inside(root: Path, path: Path) -> bool:
    return path == root or root in path.parents


def check_host_paths(root: Path, spec: StackSpec) -> None:
    """Raises InvalidInput naming the first key whose path is missing (or is the wrong kind)."""
    root = root.absolute()
    for item in host_paths(spec):
        path = stack_path(root, item.text)
        missing = not path.exists() and not path.is_symlink()
        if item.kind == "folder" and (path.is_dir() or (missing and _inside(root, path))):
            continue
        if item.kind == "file" and path.is_file():
            continue
        if missing:
            create = f"create it: mkdir -p {path}" if item.kind == "folder" else "create the file"
            raise InvalidInput(f"stack.yaml: {item.key}: {item.text} does not exist", f"fix the path, or {create}")
        raise InvalidInput(f"stack.yaml: {item.key}: {item.text} is not a {item.kind}", "fix the path")
