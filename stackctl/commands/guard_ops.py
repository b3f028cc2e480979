"""stackctl guard unban: the implementation (guard_cmd registers it)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from stackctl.config.spec import load_spec
from stackctl.core.errors import ExitStatus
from stackctl.flows.login_guard import unban

if TYPE_CHECKING:
    from stackctl.commands.context import Context


def run_unban(ctx: Context, args: argparse.Namespace) -> ExitStatus:
    spec = load_spec(ctx.paths.spec)
    lifted = unban(ctx.paths, spec, ctx.edge, args.address, args.site)
    several_nodes = len({entry.node for entry in lifted}) > 1
    for entry in lifted:
        ctx.say(entry.describe(several_nodes))
    return ExitStatus.OK
