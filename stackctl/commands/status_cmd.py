"""stackctl status: the dashboard, once, as JSON, or refreshed in place."""

from __future__ import annotations

import argparse

from stackctl.commands import lazy
from stackctl.commands.argtypes import seconds

OPS = "stackctl.commands.status_ops"


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
    p.set_defaults(handler=lazy(OPS, "run"))
