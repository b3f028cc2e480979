"""stackctl status: the dashboard, once, as JSON, or refreshed in place."""

from __future__ import annotations

import argparse
import time
from typing import TYPE_CHECKING

from stackctl.commands.argtypes import UsageError, seconds
from stackctl.core.errors import ExitStatus

if TYPE_CHECKING:
    from stackctl.commands.context import Context

STATUS_EXIT_CODES = """exit codes:
  0    healthy
  1    degraded or down (also when Docker is unreachable; the verdict says why)
  2    invalid input (stack.yaml)"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "status",
        help="containers, HAProxy backends, certificates and live HTTPS at a glance",
        epilog=STATUS_EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--json", action="store_true", help="print the snapshot as JSON")
    mode.add_argument("--watch", action="store_true", help="refresh in place until Ctrl-C")
    p.add_argument(
        "--interval",
        type=seconds(0.5, 3600),
        default=None,
        help="seconds between refreshes with --watch, 0.5 to 3600 (default 2)",
    )
    p.set_defaults(handler=run)


def run(ctx: Context, args: argparse.Namespace) -> ExitStatus:
    from stackctl.flows.status import status_snapshot
    from stackctl.health.snapshot import snapshot_json
    from stackctl.ui.dashboard import build_dashboard

    spec = ctx.load_spec()
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
    from rich.live import Live

    from stackctl.flows.status import status_snapshot
    from stackctl.ui.dashboard import build_dashboard

    spec = ctx.load_spec()
    try:
        with Live(console=ctx.console, auto_refresh=False, transient=False) as live:
            while True:
                started = time.monotonic()
                live.update(build_dashboard(status_snapshot(ctx.paths, spec, ctx.edge)), refresh=True)
                time.sleep(max(0.0, interval - (time.monotonic() - started)))
    except KeyboardInterrupt:
        return ExitStatus.OK
