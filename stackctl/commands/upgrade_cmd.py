"""stackctl upgrade [--check] [SERVICE...]."""

from __future__ import annotations

import argparse

from stackctl.commands import lazy
from stackctl.commands.argtypes import seconds

OPS = "stackctl.commands.upgrade_ops"


HELP = """Pull the images in stack.yaml and compare them with what runs. Without --check, replace each
changed service in turn: the database is dumped to backups/ first, the old image is kept, and a
service that does not become healthy and pass the HTTPS check is rolled back (with its dump) by itself.

exit codes of --check: 0 every service runs its newest image, 100 an update is waiting, 1 the check
failed, 2 invalid input."""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "upgrade", help="pull newer images and replace services one by one, rolling back a failure",
        description=HELP, formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    p.add_argument("services", nargs="*", metavar="SERVICE", help="only these services (default: all)")
    p.add_argument(
        "--site", action="append", default=[], metavar="DOMAIN",
        help="only this site's app (repeatable; with SERVICE names, both)",
    )  # fmt: skip
    p.add_argument("--check", action="store_true", help="pull and compare only; exit 100 when an update is waiting")
    p.add_argument(
        "--timeout", type=seconds(1, 86400), default=300.0, help="seconds each service may take (default 300)"
    )
    p.set_defaults(handler=lazy(OPS, "run_upgrade"))
