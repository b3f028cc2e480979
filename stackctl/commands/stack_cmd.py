"""stackctl up / down / verify."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import TYPE_CHECKING

from stackctl.commands.argtypes import seconds
from stackctl.errors import InvalidInput, OperationFailed

if TYPE_CHECKING:
    from stackctl.context import Context
    from stackctl.probe import ProbeResult
    from stackctl.spec import StackSpec


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

    from stackctl.fsio import read_user_file

    hint = "give the PEM file of the CA that issued the served certificate"
    data = read_user_file(path, CA_FILE_MAX_BYTES, "--ca-file", hint)
    try:
        if x509.load_pem_x509_certificates(data):
            return path
    except ValueError:
        pass
    raise InvalidInput(f"--ca-file {path}: holds no PEM certificate", hint)


def print_probe(ctx: Context, result: ProbeResult) -> None:
    for check in result.checks:
        mark = "[green]ok[/green]  " if check.ok else "[red]FAIL[/red]"
        ctx.console.print(f"  {mark} {check.name:<19}", end="")
        ctx.say(check.detail)


def verify_until(ctx: Context, deadline_s: float, ca_file: Path | None = None) -> ProbeResult:
    """Probe until every check passes or the time is up (HAProxy marks PhotoPrism UP after its checks)."""
    from stackctl.certs.store import CertStore
    from stackctl.probe import probe
    from stackctl.stack_target import probe_target

    spec = ctx.load_spec()
    target = probe_target(spec, CertStore(ctx.paths.certs), checked_ca_file(ca_file))
    end = time.monotonic() + deadline_s
    while True:
        result = probe(target)
        if result.ok or time.monotonic() >= end:
            return result
        time.sleep(0.25)


def run_up(ctx: Context, args: argparse.Namespace) -> int:
    from stackctl.stackup import bring_up

    checked_ca_file(args.ca_file)  # a missing or bad --ca-file is refused before anything changes
    started = time.monotonic()
    outcome = bring_up(ctx, args.timeout)
    spec = ctx.load_spec()
    if spec.tls.source == "acme":
        _obtain_acme_live(ctx, spec)
    if args.no_verify:
        ctx.say(f"Stack {outcome.project} is up ({time.monotonic() - started:.1f}s); verification skipped.")
        return 0
    left = max(1.0, args.timeout - (time.monotonic() - started))
    result = verify_until(ctx, left, args.ca_file)
    print_probe(ctx, result)
    if not result.ok:
        failed = ", ".join(f"{c.name} ({c.detail})" for c in result.failures())
        raise OperationFailed(f"the stack is running but HTTPS verification failed: {failed}", "see stackctl status")
    ctx.say(f"Ready: {result.url} ({time.monotonic() - started:.1f}s)")
    return 0


def _obtain_acme_live(ctx: Context, spec: StackSpec) -> None:
    """With HAProxy answering challenges, get the real certificate and swap it in live."""
    from stackctl.certs.manage import utcnow
    from stackctl.certs.store import CertStore
    from stackctl.renewal_flow import replace_certificate
    from stackctl.stackup import acme_certificate_in_place

    store = CertStore(ctx.paths.certs)
    if acme_certificate_in_place(store, spec):
        return
    ctx.say(f"obtaining a certificate for {', '.join(spec.names)} from {spec.tls.acme.directory_url}")
    issuer = ctx.edge.issuer_for(spec)
    replaced = replace_certificate(
        ctx.paths, spec, lambda: (issuer.issue(spec, store, utcnow()), issuer.source), "first ACME certificate"
    )
    ctx.say(f"Serving the ACME certificate (serial {replaced.new_serial}) via {replaced.path}")


def run_down(ctx: Context, args: argparse.Namespace) -> int:
    from stackctl.engine.apply import down
    from stackctl.engine.client import connect
    from stackctl.engine.model import network_name

    spec = ctx.load_spec()
    client = connect()
    removed = down(client, spec.name, network_name(spec), ctx.paths.compose_dir, args.volumes, ctx.say)
    if removed:
        ctx.say(f"Stack {spec.name} is down. Photos, storage and database folders are kept.")
    else:
        ctx.say(f"Stack {spec.name} has no containers.")
    return 0


def run_verify(ctx: Context, args: argparse.Namespace) -> int:
    from stackctl.certs.store import CertStore
    from stackctl.probe import probe
    from stackctl.stack_target import probe_target

    spec = ctx.load_spec()
    result = probe(probe_target(spec, CertStore(ctx.paths.certs), checked_ca_file(args.ca_file)))
    if args.json:
        ctx.out.write(json.dumps(result.as_json(), indent=2) + "\n")
    else:
        ctx.say(f"Verifying {result.url}")
        print_probe(ctx, result)
        ctx.say("verified" if result.ok else "verification FAILED")
    return 0 if result.ok else 1
