"""stackctl guard unban ADDRESS [--site D]."""

from __future__ import annotations

import argparse

from stackctl.commands import lazy
from stackctl.commands.argtypes import ip_address

OPS = "stackctl.commands.guard_ops"


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("guard", help="the edge's login throttling (stack.yaml's guard.login)")
    actions = p.add_subparsers(dest="guard_command", required=True, metavar="{unban}")
    u = actions.add_parser(
        "unban", help="lift a login ban now (stackctl status lists the banned addresses)",
        description="Lift the ban on an address and forget its failed logins, in the running HAProxy. "
        "Nothing is written to disk, and no request fails.",
    )  # fmt: skip
    u.add_argument("address", type=ip_address, help="the client's IP address, IPv4 or IPv6, as status shows it")
    u.add_argument("--site", metavar="DOMAIN", help="this site only (default: every site with its guard on)")
    u.set_defaults(handler=lazy(OPS, "run_unban"))
