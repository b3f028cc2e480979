"""stackctl up / down / verify."""

from __future__ import annotations

import argparse
from pathlib import Path

from stackctl.commands import lazy
from stackctl.commands.argtypes import seconds

OPS = "stackctl.commands.stack_ops"


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("up", help="render, create certificates, start the stack on Docker and verify HTTPS")
    p.add_argument(
        "--timeout", type=seconds(1, 86400), default=300.0, help="seconds to wait for everything (default 300)"
    )
    verify = p.add_mutually_exclusive_group()
    verify.add_argument("--no-verify", action="store_true", help="skip the final HTTPS verification")
    verify.add_argument("--ca-file", type=Path, help="verify against this CA file (e.g. a private ACME CA's root)")
    p.set_defaults(handler=lazy(OPS, "run_up"))
    p = sub.add_parser("down", help="remove the stack's containers and network (data folders are kept)")
    p.add_argument("--volumes", action="store_true", help="also remove the stack's named volumes")
    p.set_defaults(handler=lazy(OPS, "run_down"))
    p = sub.add_parser("verify", help="check the running stack over real HTTPS")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--ca-file", type=Path, help="trust this CA file instead of the stack CA / system store")
    p.add_argument("--site", metavar="DOMAIN", help="check this site only (default: every site)")
    p.set_defaults(handler=lazy(OPS, "run_verify"))
