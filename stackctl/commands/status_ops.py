"""stackctl status: the dashboard, once, as JSON, or refreshed in place. The implementations
(status_cmd registers the arguments)."""

from __future__ import annotations

import argparse
import time
from typing import TYPE_CHECKING

from rich.live import Live

from stackctl.commands.argtypes import UsageError
from stackctl.config.spec import load_spec
from stackctl.core.errors import ExitStatus
from stackctl.flows.status import status_snapshot
from stackctl.health.snapshot import snapshot_json
from stackctl.ui.dashboard import build_dashboard

if TYPE_CHECKING:
    from stackctl.commands.context import Context


def run(ctx: Context, args: argparse.Namespace) -> ExitStatus:
    spec = load_spec(ctx.paths.spec)
    if args.interval is not None and not args.watch:
        raise UsageError("stackctl status: --interval needs --watch", 'add --watch, or see "stackctl status --help"')
    if args.watch:
        return _watch(ctx, args.interval or 2.0)
    snapshot = status_snapshot(ctx.paths, spec, ctx.edge)
    if args.json:
        ctx.out.write(snapshot_json(snapshot) + "\n")
    else:
        ctx.console.print(build_dashboard(snapshot))
    return ExitStatus.OK if snapshot.healthy else ExitStatus.FAILED


def _watch(ctx: Context, interval: float) -> ExitStatus:
    spec = load_spec(ctx.paths.spec)
    try:
        with Live(console=ctx.console, auto_refresh=False, transient=False) as live:
            while True:
                started = time.monotonic()
                live.update(build_dashboard(status_snapshot(ctx.paths, spec, ctx.edge)), refresh=True)
                time.sleep(max(0.0, interval - (time.monotonic() - started)))
    except KeyboardInterrupt:
        return ExitStatus.OK
