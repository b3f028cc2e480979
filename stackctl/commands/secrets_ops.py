"""stackctl secrets rotate: the implementation (secrets_cmd registers the arguments)."""

from __future__ import annotations

import argparse
import time
from typing import TYPE_CHECKING

from stackctl.config.spec import load_spec
from stackctl.core.errors import ExitStatus, InvalidInput
from stackctl.flows.rotate import check_rotatable, rotate_database
from stackctl.flows.rotate_admin import rotate_admin
from stackctl.flows.rotate_stats import rotate_stats
from stackctl.flows.site_secrets import admin_login, photoprism_site

if TYPE_CHECKING:
    from stackctl.commands.context import Context


def run_show(ctx: Context, args: argparse.Namespace) -> ExitStatus:
    """The one password asked for, alone on stdout (to pipe into a password manager); its user on stderr."""
    spec = load_spec(ctx.paths.spec)
    site = photoprism_site(spec, args.site)
    user, password = admin_login(ctx.paths, site)
    ctx.note(f"{site.domain}: PhotoPrism's admin user is {user}; its password:")
    ctx.out.write(password + "\n")
    return ExitStatus.OK


def run_rotate(ctx: Context, args: argparse.Namespace) -> ExitStatus:
    spec = load_spec(ctx.paths.spec)
    if args.secret == "stats":
        if args.site:
            raise InvalidInput("--site: the stats password is the stack's, not a site's", "leave out --site")
        started = time.monotonic()
        rotate_stats(ctx.paths, spec, ctx.edge, ctx.say)
        ctx.say(f"Rotated the stats password in {time.monotonic() - started:.1f}s; it is in secrets/haproxy.env")
        return ExitStatus.OK
    sites = [spec.site(args.site)] if args.site else [s for s in spec.sites if s.photoprism is not None]
    if not sites:
        raise InvalidInput("this stack has no PhotoPrism site", "nothing to rotate")
    for site in sites:
        check_rotatable(spec, site, args.secret)  # every site is checked before the first one changes
    rotate = rotate_admin if args.secret == "admin" else rotate_database
    for site in sites:
        started = time.monotonic()
        rotate(ctx.paths, spec, site, ctx.edge, ctx.say, args.timeout)
        ctx.say(f"Rotated the {args.secret} password of {site.domain} in {time.monotonic() - started:.1f}s; "
                f"it is in {site.secrets_file}")  # fmt: skip
    return ExitStatus.OK
