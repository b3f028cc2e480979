"""argv -> command -> exit code. The only place that maps errors to exit codes and prints them."""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from stackctl import __version__
from stackctl.commands import Handler
from stackctl.errors import ExitStatus, StackctlError

if TYPE_CHECKING:  # imported lazily at run time to keep --help fast
    pass

EXIT_CODES_HELP = """exit codes:
  0    success
  1    the operation failed (or, for checks, something is not as it should be)
  2    invalid input or usage: stack.yaml, arguments, certificate files
  130  interrupted (Ctrl-C)"""


def _add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from stackctl.commands import certs_cmd, init_cmd, render_cmd, stack_cmd, status_cmd

    init_cmd.register(sub)
    render_cmd.register(sub)
    certs_cmd.register(sub)
    stack_cmd.register(sub)
    status_cmd.register(sub)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="stackctl",
        description="PhotoPrism behind a TLS-terminating HAProxy on Docker: generate, run, verify, renew.",
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--dir", type=Path, default=Path("."), help="stack folder (default: current folder)")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of failures")
    parser.add_argument("--version", action="version", version=f"stackctl {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    _add_commands(sub)
    return parser


def _print_error(err: TextIO, error: StackctlError) -> None:
    message = " ".join(error.message.split())
    line = f"error: {message}"
    if error.hint:
        line += f" — {error.hint}"
    print(line, file=err)


def main(argv: Sequence[str] | None = None, out: TextIO | None = None, err: TextIO | None = None) -> int:
    from stackctl.context import Context
    from stackctl.layout import StackPaths

    out = out or sys.stdout
    err = err or sys.stderr
    parser = build_parser()
    try:
        old_out, old_err = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = out, err  # argparse prints help and usage errors there
        try:
            args = parser.parse_args(argv)
        finally:
            sys.stdout, sys.stderr = old_out, old_err
    except SystemExit as e:
        return int(e.code) if isinstance(e.code, int) else ExitStatus.INVALID
    ctx = Context(paths=StackPaths(args.dir), out=out, err=err, debug=args.debug)
    handler: Handler = args.handler
    try:
        return handler(ctx, args)
    except StackctlError as e:
        if args.debug:
            traceback.print_exc(file=err)
        _print_error(err, e)
        return int(e.exit_status)
    except KeyboardInterrupt:
        print("interrupted", file=err)
        return int(ExitStatus.INTERRUPTED)
    except Exception as e:
        if args.debug:
            traceback.print_exc(file=err)
        print(
            f"error: unexpected failure ({type(e).__name__}) — run again with --debug and report it",
            file=err,
        )
        return int(ExitStatus.FAILED)
