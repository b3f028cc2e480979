"""stackctl render / plan: write or preview compose.yaml and haproxy.cfg."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from stackctl.core.errors import ExitStatus

if TYPE_CHECKING:
    from stackctl.commands.context import Context


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("render", help="write compose/compose.yaml and compose/haproxy/haproxy.cfg")
    p.add_argument("--check", action="store_true", help="write nothing; exit 1 when the files on disk are stale")
    p.set_defaults(handler=run_render)
    p = sub.add_parser(
        "plan", help="show a diff between the generated files on disk and stack.yaml, and whether haproxy reloads"
    )
    p.set_defaults(handler=run_plan)


def run_render(ctx: Context, args: argparse.Namespace) -> ExitStatus:
    from stackctl.flows.generated import stack_files, write_changed

    states = stack_files(ctx.paths, ctx.load_spec(), ctx.edge)
    if args.check:
        stale = [s.name for s in states if s.changed]
        for name in stale:
            ctx.say(f"stale: {name}")
        if not stale:
            ctx.say("up to date")
        return ExitStatus.FAILED if stale else ExitStatus.OK
    written = write_changed(ctx.paths, states)
    for state in states:
        ctx.say(f"{'wrote' if state.name in written else 'unchanged'}: {state.name}")
    return ExitStatus.OK


def run_plan(ctx: Context, args: argparse.Namespace) -> ExitStatus:
    from stackctl.core.errors import OperationFailed
    from stackctl.flows.generated import stack_files, unified_diff
    from stackctl.flows.haproxy_config import planned_change

    spec = ctx.load_spec()
    states = stack_files(ctx.paths, spec, ctx.edge)
    changed = [s for s in states if s.changed]
    for state in changed:
        ctx.out.write(unified_diff(state))
    if not changed:
        ctx.say("no changes: the generated files match stack.yaml")
    try:
        ctx.say(f"up would: {planned_change(ctx.paths, spec, states, ctx.edge).describe()}")
    except OperationFailed as e:
        ctx.say(f"up would: cannot tell what happens to haproxy ({e.message})")
    return ExitStatus.OK
