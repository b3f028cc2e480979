"""stackctl upgrade [--check] [SERVICE...]. The implementations (upgrade_cmd registers the arguments)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from stackctl.config.spec import load_spec
from stackctl.core.errors import ExitStatus, InvalidInput
from stackctl.flows.rolling_upgrade import roll_upgrade
from stackctl.flows.upgrade import check_updates, upgrade_waiting
from stackctl.ui.progress import PullProgressBar

if TYPE_CHECKING:
    from stackctl.commands.context import Context
    from stackctl.config.spec import StackSpec
    from stackctl.flows.upgrade import ImageDetails, ServiceImages


def _describe(details: ImageDetails | None) -> str:
    if details is None:
        return "-"
    parts = [details.id.removeprefix("sha256:")[:12]]
    if details.version:
        parts.append(f"version {details.version}")
    if details.digest:
        parts.append(details.digest[:19])
    if details.created:
        parts.append(f"created {details.created}")
    return ", ".join(parts)


def _show(ctx: Context, spec: StackSpec, found: list[ServiceImages]) -> None:
    serves = {site.backend: site.domain for site in spec.sites if site.service is not None}
    for item in found:
        if item.available is None:
            state = "image not here (pull: never)"
        elif item.running is None:
            state = "not running"
        else:
            state = "update waiting" if item.waiting else "up to date"
        site = f" for {serves[item.service]}" if item.service in serves else ""
        ctx.say(f"{item.service}: {state} ({item.reference}){site}")
        ctx.say(f"  running:   {_describe(item.running)}")
        ctx.say(f"  available: {_describe(item.available)}")


def run_upgrade(ctx: Context, args: argparse.Namespace) -> ExitStatus:
    spec = load_spec(ctx.paths.spec)
    names = [*args.services, *(_site_service(spec, domain) for domain in args.site)]
    if spec.capabilities.rolls_upgrades and not args.check:
        return _roll(ctx, spec, args, names)
    bar = PullProgressBar(ctx.console)
    try:
        found = check_updates(ctx.paths, spec, names, ctx.edge, bar)
    finally:
        bar.stop()
    _show(ctx, spec, found)
    waiting = [item.service for item in found if item.waiting]
    if args.check:
        ctx.say(f"update waiting: {', '.join(waiting)}" if waiting else "every service runs its newest image")
        return ExitStatus.UPDATES_WAITING if waiting else ExitStatus.OK
    if not waiting:
        ctx.say("nothing to upgrade")
        return ExitStatus.OK
    done = upgrade_waiting(ctx.paths, spec, found, args.timeout, ctx.edge, ctx.say)
    ctx.say(f"Upgraded {', '.join(item.service for item in done)}; HTTPS verified.")
    return ExitStatus.OK


def _site_service(spec: StackSpec, domain: str) -> str:
    """--site D: the service of that site's app."""
    site = spec.site(domain)
    if site.service is None:
        raise InvalidInput(
            f"--site {domain}: {site.domain} is reached at an address; stackctl runs no image for it",
            "name a site whose app stackctl runs (see: stackctl sites)",
        )
    return site.service


def _roll(ctx: Context, spec: StackSpec, args: argparse.Namespace, names: list[str]) -> ExitStatus:
    """An engine that rolls upgrades itself (Swarm) and puts a failing service back by itself."""
    bar = PullProgressBar(ctx.console)
    try:
        rolled = roll_upgrade(ctx.paths, spec, names, args.timeout, ctx.edge, ctx.say, bar)
    finally:
        bar.stop()
    ctx.say(f"Swarm rolled {', '.join(rolled)} onto the new image" if rolled else "nothing to upgrade")
    return ExitStatus.OK
