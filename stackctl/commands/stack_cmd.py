"""stackctl up / down / verify."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

from stackctl.commands.argtypes import seconds
from stackctl.core.errors import InvalidInput, OperationFailed

if TYPE_CHECKING:
    from stackctl.commands.context import Context
    from stackctl.config.layout import StackPaths


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("up", help="render, create certificates, start the stack on Docker and verify HTTPS")
    p.add_argument(
        "--timeout", type=seconds(1, 86400), default=300.0, help="seconds to wait for everything (default 300)"
    )
    verify = p.add_mutually_exclusive_group()
    verify.add_argument("--no-verify", action="store_true", help="skip the final HTTPS verification")
    verify.add_argument("--ca-file", type=Path, help="verify against this CA file (e.g. a private ACME CA's root)")
    p.set_defaults(handler=run_up)
    p = sub.add_parser("down", help="remove the stack's containers and network (data folders are kept)")
    p.add_argument("--volumes", action="store_true", help="also remove the stack's named volumes")
    p.set_defaults(handler=run_down)
    p = sub.add_parser("verify", help="check the running stack over real HTTPS")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--ca-file", type=Path, help="trust this CA file instead of the stack CA / system store")
    p.set_defaults(handler=run_verify)


CA_FILE_MAX_BYTES = 1024 * 1024


def checked_ca_file(path: Path | None) -> Path | None:
    """--ca-file: a regular file of at most 1 MiB holding at least one PEM certificate."""
    if path is None:
        return None
    from cryptography import x509

    from stackctl.core.fsio import read_user_file

    hint = "give the PEM file of the CA that issued the served certificate"
    data = read_user_file(path, CA_FILE_MAX_BYTES, "--ca-file", hint)
    try:
        if x509.load_pem_x509_certificates(data):
            return path
    except ValueError:
        pass
    raise InvalidInput(f"--ca-file {path}: holds no PEM certificate", hint)


def run_up(ctx: Context, args: argparse.Namespace) -> int:
    ca_file = checked_ca_file(args.ca_file)  # a missing or bad --ca-file is refused before anything changes
    return up_and_report(ctx, ctx.paths, args.timeout, not args.no_verify, ca_file)


def up_and_report(ctx: Context, paths: StackPaths, timeout: float, verify: bool, ca_file: Path | None) -> int:
    """`up` in `paths` with a pull progress bar, then the verification's report; exit 1 when it failed."""
    from stackctl.config.spec import load_spec
    from stackctl.flows.up import up
    from stackctl.ui.probe_report import print_probe
    from stackctl.ui.progress import PullProgressBar

    spec = load_spec(paths.spec)
    bar = PullProgressBar(ctx.console)
    try:
        outcome = up(paths, spec, timeout, ctx.edge, ctx.say, bar, verify, ca_file)
    finally:
        bar.stop()
    if outcome.probe is None:
        ctx.say(f"Stack {outcome.project} is up ({outcome.elapsed_s:.1f}s); verification skipped.")
        return 0
    print_probe(ctx.console, outcome.probe)
    if not outcome.probe.ok:
        raise OperationFailed(
            f"the stack is running but HTTPS verification failed: {outcome.probe.failed_text()}", "see stackctl status"
        )
    ctx.say(f"Ready: {outcome.probe.url} ({outcome.elapsed_s:.1f}s)")
    return 0


def run_down(ctx: Context, args: argparse.Namespace) -> int:
    from stackctl.render.services import network_model

    spec = ctx.load_spec()
    engine = ctx.edge.engine()
    removed = engine.down(spec.name, network_model(spec).name, ctx.paths.compose_dir, args.volumes, ctx.say)
    if removed:
        ctx.say(f"Stack {spec.name} is down. Photos, storage and database folders are kept.")
    else:
        ctx.say(f"Stack {spec.name} has no containers.")
    return 0


def run_verify(ctx: Context, args: argparse.Namespace) -> int:
    from stackctl.certs.store import CertStore
    from stackctl.health.probe import probe
    from stackctl.health.target import probe_target

    spec = ctx.load_spec()
    result = probe(probe_target(spec, CertStore(ctx.paths.certs), checked_ca_file(args.ca_file)))
    if args.json:
        ctx.out.write(json.dumps(result.as_json(), indent=2) + "\n")
    else:
        from stackctl.ui.probe_report import print_probe

        ctx.say(f"Verifying {result.url}")
        print_probe(ctx.console, result)
        ctx.say("verified" if result.ok else "verification FAILED")
    return 0 if result.ok else 1
