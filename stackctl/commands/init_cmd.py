"""stackctl init: a commented stack.yaml and generated secrets."""

from __future__ import annotations

import argparse

from stackctl.commands import lazy

OPS = "stackctl.commands.init_ops"


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("init", help="write a commented stack.yaml and generate secrets")
    p.add_argument("--domain", help="the name PhotoPrism is served at, e.g. photos.example.com")
    p.add_argument(
        "--force",
        action="store_true",
        help="write a new stack.yaml over an existing one (existing passwords are always kept)",
    )
    p.set_defaults(handler=lazy(OPS, "run"))
