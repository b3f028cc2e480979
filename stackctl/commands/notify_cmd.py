"""stackctl notify test."""

from __future__ import annotations

import argparse

from stackctl.commands import lazy

OPS = "stackctl.commands.notify_ops"


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("notify", help="the messages scheduled jobs send (stack.yaml's notify:)")
    actions = p.add_subparsers(dest="notify_command", required=True, metavar="{test}")
    actions.add_parser("test", help="send one test message to every channel of notify:").set_defaults(
        handler=lazy(OPS, "run_test")
    )
