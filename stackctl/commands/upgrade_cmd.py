"""stackctl upgrade [--check] [SERVICE...]."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from stackctl.commands.argtypes import seconds
from stackctl.core.errors import ExitStatus, InvalidInput

if TYPE_CHECKING:
    from stackctl.commands.context import Context
    from stackctl.config.spec import StackSpec
    from stackctl.engines.base import ImageDetails
    from stackctl.flows.upgrade import ServiceImages

HELP = """Pull the images in stack.yaml and compare them with what runs. Without --check, replace each
changed service in turn: the database is dumped to backups/ first, the old image is kept, and a
service that does not become healthy and pass the HTTPS check is rolled back (with its dump) by itself.

exit codes of --check: 0 every service runs its newest image, 100 an update is waiting, 1 the check
failed, 2 invalid input."""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "upgrade", help="pull newer images and replace services one by one, rolling back a failure",
        description=HELP, formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    p.add_argument("services", nargs="*", metavar="SERVICE", help="only these services (default: all)")
    p.add_argument("--check", action="store_true", help="pull and compare only; exit 100 when an update is waiting")
    p.add_argument(
        "--timeout", type=seconds(1, 86400), default=300.0, help="seconds each service may take (default 300)"
    )
    p.set_defaults(handler=run_upgrade)


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


def _show(ctx: Context, found: list[ServiceImages]) -> None:
    for item in found:
        if item.available is None:
            state = "image not here (pull: never)"
        elif item.running is None:
            state = "not running"
        else:
            state = "update waiting" if item.waiting else "up to date"
        ctx.say(f"{item.service}: {state} ({item.reference})")
        ctx.say(f"  running:   {_describe(item.running)}")
        ctx.say(f"  available: {_describe(item.available)}")


def run_upgrade(ctx: Context, args: argparse.Namespace) -> ExitStatus:
    from stackctl.flows.upgrade import check_updates, upgrade_waiting
    from stackctl.ui.progress import PullProgressBar

    spec = ctx.load_spec()
    if spec.capabilities.rolls_upgrades:
        return _roll(ctx, spec, args)
    bar = PullProgressBar(ctx.console)
    try:
        found = check_updates(ctx.paths, spec, args.services, ctx.edge, bar)
    finally:
        bar.stop()
    _show(ctx, found)
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


def _roll(ctx: Context, spec: StackSpec, args: argparse.Namespace) -> ExitStatus:
    """An engine that rolls upgrades itself (Swarm) and puts a failing service back by itself."""
    from stackctl.flows.rolling_upgrade import roll_upgrade
    from stackctl.ui.progress import PullProgressBar

    refused = spec.capabilities.upgrade_check
    if args.check and refused is not None:
        raise InvalidInput(refused.rule, refused.hint)
    bar = PullProgressBar(ctx.console)
    try:
        rolled = roll_upgrade(ctx.paths, spec, args.services, args.timeout, ctx.edge, ctx.say, bar)
    finally:
        bar.stop()
    ctx.say(f"Swarm rolled {', '.join(rolled)} onto the new image" if rolled else "nothing to upgrade")
    return ExitStatus.OK
