"""stackctl up / down / verify. The implementations (stack_cmd registers the arguments)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography import x509

from stackctl.commands.ca_trust import trust_here
from stackctl.config.spec import StackSpec, load_spec
from stackctl.core.errors import ExitStatus, InvalidInput, OperationFailed, StackctlError
from stackctl.core.fsio import read_user_file
from stackctl.flows.certificates import local_ca_certificate
from stackctl.flows.down import down
from stackctl.flows.dumps import photoprism_sites
from stackctl.flows.schedule import installed_kind
from stackctl.flows.up import up
from stackctl.flows.verify import verify
from stackctl.ui.probe_report import print_probe, print_site_line
from stackctl.ui.progress import PullProgressBar

if TYPE_CHECKING:
    from stackctl.commands.context import Context
    from stackctl.config.layout import StackPaths
    from stackctl.health.probe import ProbeResult

CA_FILE_MAX_BYTES = 1024 * 1024


def checked_ca_file(path: Path | None) -> Path | None:
    """--ca-file: a regular file of at most 1 MiB holding at least one PEM certificate."""
    if path is None:
        return None

    hint = "give the PEM file of the CA that issued the served certificate"
    data = read_user_file(path, CA_FILE_MAX_BYTES, "--ca-file", hint)
    try:
        if x509.load_pem_x509_certificates(data):
            return path
    except ValueError:
        pass
    raise InvalidInput(f"--ca-file {path}: holds no PEM certificate", hint)


def run_up(ctx: Context, args: argparse.Namespace) -> ExitStatus:
    ca_file = checked_ca_file(args.ca_file)  # a missing or bad --ca-file is refused before anything changes
    return up_and_report(ctx, ctx.paths, args.timeout, not args.no_verify, ca_file)


# Measured on Docker 20.10: a client at fd00:7e57::2 reached HAProxy as itself with dockerd --ip6tables,
# and as the network's gateway (10.x.y.1) without it.
IPV6_CLIENTS = (
    "IPv6 clients keep their own address only if dockerd routes IPv6 itself: before Docker 27, start it "
    "with --experimental --ip6tables. Otherwise its userland proxy carries them, and HAProxy, PhotoPrism "
    "and the login throttle see every IPv6 client as one address, the network's gateway (README: IPv6)"
)


def up_and_report(ctx: Context, paths: StackPaths, timeout: float, verify: bool, ca_file: Path | None) -> ExitStatus:
    """`up` in `paths` with a pull progress bar, then the verification's report; exit 1 when it failed."""
    spec = load_spec(paths.spec)
    bar = PullProgressBar(ctx.console)
    try:
        outcome = up(paths, spec, timeout, ctx.edge, ctx.say, bar, verify, ca_file)
    finally:
        bar.stop()
    if outcome.probe is None:
        ctx.say(f"Stack {outcome.project} is up ({outcome.elapsed_s:.1f}s); verification skipped.")
        return ExitStatus.OK
    print_site_probes(ctx, outcome.site_probes)
    failed = {domain: r for domain, r in outcome.site_probes.items() if not r.ok}
    if failed:
        what = "; ".join(f"{domain}: {r.failed_text()}" for domain, r in failed.items())
        raise OperationFailed(f"the stack is running but HTTPS verification failed: {what}", "see stackctl status")
    urls = [r.url for r in outcome.site_probes.values()]
    shown = ", ".join(urls) if len(urls) <= 3 else f"{len(urls)} sites, {urls[0]} and {len(urls) - 1} more"
    ctx.say(f"Ready: {shown} ({outcome.elapsed_s:.1f}s)")
    if spec.ports.ipv6 and not ctx.edge.engine(spec).keeps_ipv6_clients():
        ctx.warn(IPV6_CLIENTS)
    for line in next_steps(ctx, paths, spec):
        ctx.say(line)
    return ExitStatus.OK


def next_steps(ctx: Context, paths: StackPaths, spec: StackSpec) -> list[str]:
    """What to do once the stack answers: trust its CA, log in, and whether renewal runs by itself."""
    lines = []
    if any(site.tls.source == "local-ca" for site in spec.sites):
        here = trust_here(local_ca_certificate(paths))
        lines.append(
            f"Trust the local CA on this machine: {here} (other devices: stackctl certs ca)"
            if here is not None
            else "Trust the local CA on each device that opens the sites: stackctl certs ca"
        )
    sites = photoprism_sites(spec)
    if len(sites) == 1 and sites[0].photoprism is not None:
        lines.append(f"Log in as {sites[0].photoprism.admin_user}; the password: stackctl secrets show admin")
    elif sites:
        lines.append("Log in as each site's admin user; its password: stackctl secrets show admin --site DOMAIN")
    try:
        kind = installed_kind(ctx.edge.scheduler, spec, paths)
    except StackctlError as e:  # the stack is up: an unreadable unit file only leaves this line unsure
        lines.append(f"Whether renewal runs by itself is unknown: {e.message}")
        return lines
    lines.append(
        f"Renewal runs by itself ({kind}); see: stackctl schedule status"
        if kind is not None
        else "Nothing renews the certificates yet: run stackctl schedule install (as root)"
    )
    return lines


def print_site_probes(ctx: Context, results: dict[str, ProbeResult]) -> None:
    """One site: every check. Several: a line per site, and the checks of a site that failed."""
    if len(results) == 1:
        print_probe(ctx.console, next(iter(results.values())))
        return
    for domain, result in results.items():
        print_site_line(ctx.console, domain, result)
        if not result.ok:
            print_probe(ctx.console, result)


def run_down(ctx: Context, args: argparse.Namespace) -> ExitStatus:
    spec = load_spec(ctx.paths.spec)
    removed = down(ctx.paths, spec, args.volumes, ctx.edge, ctx.say)
    if removed:
        ctx.say(f"Stack {spec.name} is down. Photos, storage and database folders are kept.")
    else:
        ctx.say(f"Stack {spec.name} has no {spec.capabilities.units}.")
    return ExitStatus.OK


def run_verify(ctx: Context, args: argparse.Namespace) -> ExitStatus:
    spec = load_spec(ctx.paths.spec)
    only = spec.site(args.site).domain if args.site else None
    ca_file = checked_ca_file(args.ca_file)
    results = verify(ctx.paths, spec, ca_file, ctx.edge, only)  # every edge node of a Swarm is checked
    first = next(iter(results.values()))
    if args.json:
        # The old keys keep their meaning (the first site, or the one asked for); `sites` has every one.
        document = {**first.as_json(), "sites": {domain: r.as_json() for domain, r in results.items()}}
        ctx.out.write(json.dumps(document, indent=2) + "\n")
    else:
        urls = [r.url for r in results.values()]
        ctx.say(f"Verifying {', '.join(urls) if len(urls) <= 3 else f'{len(urls)} sites'}")
        print_site_probes(ctx, results)
        failed = [domain for domain, r in results.items() if not r.ok]
        ctx.say(f"verification FAILED for {', '.join(failed)}" if failed else "verified")
    return ExitStatus.OK if all(r.ok for r in results.values()) else ExitStatus.FAILED
