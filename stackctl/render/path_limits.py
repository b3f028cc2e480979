"""Limits by path in a PhotoPrism site's backend: uploads and WebDAV stream without a body limit and may
take PhotoPrism long to answer; every other request must arrive quickly and carry a small body, so a
slow client cannot hold connections open (slowloris, slow POST)."""

from __future__ import annotations

from stackctl.config.guard_spec import RequestLimits
from stackctl.config.sites import Site

# PhotoPrism's routes that take files (internal/api/users_upload.go, users_avatar.go, import.go) and
# its WebDAV folders (internal/server/routes_webdav.go): PUT, MOVE, PROPFIND, ... of any size.
UPLOAD_ROUTE = r"^/api/v1/users/[^/]+/(upload/[^/]+|avatar)$"
LONG_PATH_PREFIXES = ("/api/v1/import/", "/originals/", "/import/")
WEBDAV_ROOTS = ("/originals", "/import")


def path_limit_rules(site: Site, limits: RequestLimits) -> list[str]:
    if site.photoprism is None:
        return []  # another app's paths are its own
    return [
        f"    # Uploads and WebDAV: no body limit, and PhotoPrism may take {limits.upload_s}s to answer. Any other",
        f"    # request's body must arrive within {limits.request_s}s (or 408) and be at most {limits.body_max} "
        "bytes (or 413).",
        f"    acl long_path path {' '.join(WEBDAV_ROOTS)}",
        f"    acl long_path path_beg {' '.join(LONG_PATH_PREFIXES)}",
        f"    acl long_path path_reg {UPLOAD_ROUTE}",
        # GET and HEAD carry no body, and a download's server sends all along: the method is checked
        # first, so that they skip the rest (the regular expression included).
        f"    http-request set-timeout server {limits.upload_s}s if !METH_GET long_path",
        f"    http-request deny deny_status 413 if !METH_GET !long_path {{ req.body_size gt {limits.body_max} }}",
        f"    http-request wait-for-body time {limits.request_s}s if !METH_GET !long_path",
    ]
