"""argv -> command -> exit code. The only place that maps errors to exit codes and prints them."""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from stackctl import __version__
from stackctl.commands import (
    Handler,
    backup_cmd,
    certs_cmd,
    doctor_cmd,
    guard_cmd,
    init_cmd,
    notify_cmd,
    render_cmd,
    schedule_cmd,
    secrets_cmd,
    sites_cmd,
    stack_cmd,
    status_cmd,
    upgrade_cmd,
)
from stackctl.commands.argtypes import StackctlParser
from stackctl.commands.context import Context
from stackctl.config.layout import StackPaths
from stackctl.core.errors import ExitStatus, InvalidInput, StackctlError
from stackctl.flows.edges import Edges

EXIT_CODES_HELP = """exit codes:
  0    success
  1    the operation failed (or, for checks, something is not as it should be)
  2    invalid input or usage: stack.yaml, arguments, certificate files
  100  upgrade --check: an update is waiting
  130  interrupted (Ctrl-C)"""


def _add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    init_cmd.register(sub)
    render_cmd.register(sub)
    certs_cmd.register(sub)
    stack_cmd.register(sub)
    status_cmd.register(sub)
    doctor_cmd.register(sub)
    upgrade_cmd.register(sub)
    backup_cmd.register(sub)
    sites_cmd.register(sub)
    secrets_cmd.register(sub)
    schedule_cmd.register(sub)
    notify_cmd.register(sub)
    guard_cmd.register(sub)


def build_parser(out: TextIO, err: TextIO) -> argparse.ArgumentParser:
    parser = StackctlParser(
        out=out,
        err=err,
        prog="stackctl",
        description="PhotoPrism behind a TLS-terminating HAProxy on Docker: generate, run, verify, renew.",
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--dir", type=Path, default=Path("."), help="stack folder (default: current folder)")
    parser.add_argument("--debug", action="store_true", help="show the traceback of an unexpected failure")
    parser.add_argument("--version", action="version", version=f"stackctl {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    _add_commands(sub)
    _accept_global_options_after_commands(parser)
    return parser


def _accept_global_options_after_commands(parser: argparse.ArgumentParser) -> None:
    """`stackctl render --dir X` as well as `stackctl --dir X render`: every command takes --dir and
    --debug too, unless it has an option of that name of its own (restore's --dir is its target)."""
    for action in parser._actions:
        if not isinstance(action, argparse._SubParsersAction):
            continue
        for command in set(action.choices.values()):
            if "--dir" not in command._option_string_actions:
                command.add_argument(
                    "--dir", type=Path, default=argparse.SUPPRESS, help="stack folder (as before the command)"
                )
            if "--debug" not in command._option_string_actions:
                command.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
            _accept_global_options_after_commands(command)


def _stack_folder(folder: Path) -> Path:
    try:
        is_file = folder.exists() and not folder.is_dir()
    except PermissionError:
        raise InvalidInput(
            f"--dir {folder}: permission denied", "check the owner and mode of the folder and its parents"
        ) from None
    if is_file:
        raise InvalidInput(f"--dir {folder}: is a file, not a folder", "give the stack folder (it holds stack.yaml)")
    return folder


def main(
    argv: Sequence[str] | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
    edges: Edges | None = None,
) -> int:
    """Run one command. `edges` are the outside services commands reach through; the real ones by
    default, tests may pass others (see stackctl.flows.edges)."""
    out = out or sys.stdout
    err = err or sys.stderr
    debug = "--debug" in (sys.argv[1:] if argv is None else argv)
    try:
        try:
            args = build_parser(out, err).parse_args(argv)
        except SystemExit as e:  # --help and --version
            return int(e.code) if isinstance(e.code, int) else ExitStatus.INVALID
        ctx = Context(StackPaths(_stack_folder(args.dir)), out, err, debug, edges or Edges())
        handler: Handler = args.handler
        return int(handler(ctx, args))
    except StackctlError as e:  # expected: its line says all there is, also with --debug
        print(e.line(), file=err)
        return int(e.exit_status)
    except OSError as e:  # an edge that did not translate it; still one line, never a traceback
        if debug:
            traceback.print_exc(file=err)
        where = f" {e.filename}" if e.filename else ""
        print(
            f"error: failed to access{where}: {e.strerror or type(e).__name__} — "
            "check the stack folder's permissions, or run stackctl as its owner",
            file=err,
        )
        return int(ExitStatus.FAILED)
    except KeyboardInterrupt:
        print("interrupted", file=err)
        return int(ExitStatus.INTERRUPTED)
    except Exception as e:
        if debug:
            traceback.print_exc(file=err)
        print(
            f"error: unexpected failure ({type(e).__name__}) — run again with --debug and report it",
            file=err,
        )
        return int(ExitStatus.FAILED)
