"""stackctl render / plan: write or preview compose.yaml and haproxy.cfg. The implementations
(render_cmd registers the arguments)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from stackctl.config.host_paths import check_host_paths
from stackctl.config.spec import load_spec
from stackctl.core.errors import ExitStatus, OperationFailed
from stackctl.flows.generated import stack_files, unified_diff, write_changed
from stackctl.flows.haproxy_config import planned_change

if TYPE_CHECKING:
    from stackctl.commands.context import Context


def run_render(ctx: Context, args: argparse.Namespace) -> ExitStatus:
    spec = load_spec(ctx.paths.spec)
    check_host_paths(ctx.paths.root, spec)
    states = stack_files(ctx.paths, spec, ctx.edge)
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
    spec = load_spec(ctx.paths.spec)
    check_host_paths(ctx.paths.root, spec)
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
