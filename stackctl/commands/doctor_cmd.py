"""stackctl doctor [--site D] [--upload-size SIZE] [--json]."""

from __future__ import annotations

import argparse

from stackctl.commands import lazy
from stackctl.commands.argtypes import byte_size

OPS = "stackctl.commands.doctor_ops"

DOCTOR_EXIT_CODES = """exit codes:
  0    every check passes (a check that does not apply is skipped)
  1    a check failed; its line says what to change
  2    invalid input (stack.yaml, arguments)"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "doctor", help="check what PhotoPrism needs from the proxy, end to end",
        description="Through the running proxy: a streamed upload, WebDAV, Range, the WebSocket, the client "
        "address PhotoPrism sees, its site URL and the login throttle. Changes nothing: what it uploads is "
        "removed, its sessions are deleted and the ban it provokes on its test address is lifted.",
        epilog=DOCTOR_EXIT_CODES, formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    p.add_argument("--site", metavar="DOMAIN", help="this PhotoPrism site only (default: every one)")
    p.add_argument("--upload-size", type=byte_size(1 << 10, 64 << 30), default=1 << 30, metavar="SIZE",
                   help="how much to upload, e.g. 100MiB (default 1GiB)")  # fmt: skip
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.set_defaults(handler=lazy(OPS, "run"))
