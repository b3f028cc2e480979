"""A PhotoPrism site's admin login, for the person who asks for it (`secrets show admin`, and the hint
`up` ends with). Reads secrets/ with limits; prints nothing."""

from __future__ import annotations

from stackctl.config.layout import StackPaths
from stackctl.config.secrets import read_site_secrets
from stackctl.config.sites import Site
from stackctl.config.spec import StackSpec
from stackctl.core.errors import InvalidInput
from stackctl.flows.dumps import photoprism_sites

ADMIN_PASSWORD = "PHOTOPRISM_ADMIN_PASSWORD"


def photoprism_site(spec: StackSpec, domain: str | None) -> Site:
    """The PhotoPrism site `--site` names, or the only one; with several, it does not guess."""
    sites = photoprism_sites(spec, domain)
    if not sites:
        raise InvalidInput("this stack has no PhotoPrism site", "add one with: stackctl sites add DOMAIN")
    if len(sites) > 1:
        known = ", ".join(s.domain for s in sites)
        raise InvalidInput(f"stack.yaml has {len(sites)} PhotoPrism sites", f"add --site with one of {known}")
    return sites[0]


def admin_login(paths: StackPaths, site: Site) -> tuple[str, str]:
    """(user, password) of the site's PhotoPrism admin account, from its secrets file."""
    assert site.photoprism is not None
    password = read_site_secrets(paths.root, site.secrets_file)[ADMIN_PASSWORD]
    return site.photoprism.admin_user, password
