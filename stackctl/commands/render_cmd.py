"""stackctl render / plan: write or preview compose.yaml and haproxy.cfg."""

from __future__ import annotations

import argparse

from stackctl.commands import lazy

OPS = "stackctl.commands.render_ops"


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("render", help="write compose/compose.yaml and compose/haproxy/haproxy.cfg")
    p.add_argument("--check", action="store_true", help="write nothing; exit 1 when the files on disk are stale")
    p.set_defaults(handler=lazy(OPS, "run_render"))
    p = sub.add_parser(
        "plan", help="show a diff between the generated files on disk and stack.yaml, and whether haproxy reloads"
    )
    p.set_defaults(handler=lazy(OPS, "run_plan"))
