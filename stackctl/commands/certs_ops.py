"""stackctl certs ca | create | import | show | renew: the implementations (certs_cmd registers them)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stackctl.commands.ca_trust import trust_commands
from stackctl.config.edit import edited_spec_text
from stackctl.config.spec import load_spec
from stackctl.core.clock import utcnow
from stackctl.core.errors import ExitStatus, InvalidInput, OperationFailed
from stackctl.core.fsio import atomic_write
from stackctl.flows.certificates import (
    CertInfo,
    Replaced,
    certificate_files,
    certificate_rows,
    create,
    import_valid,
    imported_info,
    local_ca_certificate,
    long_date,
    renew,
    trial_issuance,
    validated_import,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from stackctl.commands.context import Context
    from stackctl.config.sites import Site
    from stackctl.config.spec import StackSpec


def _describe_new(ctx: Context, domain: str, info: CertInfo, verb: str) -> None:
    files = certificate_files(ctx.paths, domain)

    def rel(path: Path) -> Path:
        return path.relative_to(ctx.paths.root) if path.is_relative_to(ctx.paths.root) else path

    ctx.say(f"{verb} a new certificate valid for the following names:")
    for name in info.names:
        ctx.say(f' - "{name}"')
    ctx.say(f'The certificate is at "{rel(files.cert)}" and the key at "{rel(files.key)}".')
    ctx.say(f'HAProxy loads "{rel(files.bundle)}".')
    days = info.days_left(utcnow())
    ctx.say(
        f"It expires on {long_date(info.not_after)} (in {days} days); "
        f"renewal is due from {long_date(info.renew_after)}."
    )


HOW_SERVED = {
    "runtime-api": "the runtime API",
    "reload": "a seamless reload",
    "swarm-roll": "a rolling update of HAProxy's tasks",
}


def _say_replaced(ctx: Context, replaced: Replaced) -> None:
    """What the replacement did: notes from the issuer, and how a running stack got the certificate."""
    for note in replaced.issued.notes:
        ctx.say(note)
    if replaced.note is not None:
        ctx.warn(replaced.note)
    if replaced.path != "disk":
        how = HOW_SERVED.get(replaced.path, replaced.path)
        ctx.say(
            f"Serving the new certificate (serial {replaced.new_serial}) via {how}, "
            f"{replaced.duration_s:.2f}s after the start."
        )


def run_ca(ctx: Context, args: argparse.Namespace) -> ExitStatus:
    path = local_ca_certificate(ctx.paths)
    if args.path:
        ctx.say(str(path))
        return ExitStatus.OK
    ctx.say(f"The local CA certificate is at {path}")
    ctx.say("Trust it on each device that opens PhotoPrism (the key stays in certs/ca/ca.key):")
    for system, command in trust_commands(path):
        ctx.say(f"  {system + ':':<14} {command}")
    return ExitStatus.OK


def _sites(spec: StackSpec, site: str | None) -> list[Site]:
    """The site --site names, or every site."""
    return [spec.site(site)] if site else list(spec.sites)


def _each_site(ctx: Context, args: argparse.Namespace, work: Callable[[Context, StackSpec, Site], None]) -> ExitStatus:
    """`work` for each site: one that fails does not stop the others; the exit code is the worst."""
    spec = load_spec(ctx.paths.spec)
    sites = _sites(spec, args.site)
    if len(sites) == 1:
        work(ctx, spec, sites[0])
        return ExitStatus.OK
    failed: list[str] = []
    for site in sites:
        try:
            work(ctx, spec, site)
        except OperationFailed as e:
            ctx.warn(f"{site.domain}: {e.message}")
            failed.append(site.domain)
    if failed:
        raise OperationFailed(f"failed for {', '.join(failed)} (every other site is done)", "see the lines above")
    return ExitStatus.OK


def run_create(ctx: Context, args: argparse.Namespace) -> ExitStatus:
    return _each_site(ctx, args, lambda c, spec, site: _create(c, spec, site, args))


def _create(ctx: Context, spec: StackSpec, site: Site, args: argparse.Namespace) -> None:
    if args.staging:
        info = trial_issuance(ctx.paths, spec, site, ctx.edge, ctx.say)
        ctx.say(f"OK: {info.issuer} issued serial {info.serial_hex} for {', '.join(info.names)}.")
        ctx.say("DNS and port 80 work; production issuance should succeed (stackctl up or certs renew --force).")
        return
    created = create(ctx.paths, spec, site, args.force, ctx.edge)
    if created.replaced is None:
        assert created.existing is not None
        ctx.say(
            f"A valid certificate for {site.domain} exists (expires {long_date(created.existing.not_after)}); "
            "use --force to replace it."
        )
        return
    _say_replaced(ctx, created.replaced)
    _describe_new(ctx, site.domain, created.info, "Created")


def run_import(ctx: Context, args: argparse.Namespace) -> ExitStatus:
    stack = load_spec(ctx.paths.spec)
    if args.site is None and len(stack.sites) > 1:
        known = ", ".join(s.domain for s in stack.sites)
        raise InvalidInput("certs import needs --site DOMAIN: stack.yaml has several sites", f"one of {known}")
    site = stack.site(args.site) if args.site else stack.sites[0]
    files = [args.cert] + [p for p in (args.key, args.chain) if p is not None]
    valid = validated_import(site, files, args.password_file)
    # The edit is made and checked before anything is written, so a stack.yaml it cannot edit changes nothing.
    where = _tls_keys(stack, site)
    switched = None if site.tls.source == "import" else edited_spec_text(ctx.paths.spec, (*where, "source"), "import")
    for warning in valid.warnings:
        ctx.warn(warning)
    _say_replaced(ctx, import_valid(ctx.paths, stack, site, valid, ctx.edge))
    _describe_new(ctx, site.domain, imported_info(valid), "Imported")
    if switched is not None:
        atomic_write(ctx.paths.spec, switched[1], ctx.paths.spec.stat().st_mode & 0o777)
        ctx.say(f"stack.yaml now says {'.'.join(map(str, where))}.source: import.")
    return ExitStatus.OK


def _tls_keys(stack: StackSpec, site: Site) -> tuple[str | int, ...]:
    """Where in stack.yaml a site's tls is: top-level for the single-site form's site, else its entry."""
    if not site.legacy:
        listed = [s for s in stack.sites if not s.legacy]
        return ("sites", listed.index(site), "tls")
    if len(stack.sites) > 1 and site.tls.source != "import":
        raise InvalidInput(
            f"{site.domain}'s tls is the top-level tls, which the sites below inherit: switching it to import "
            "would switch them too",
            "set tls.source: import yourself and tls: {source: " + site.tls.source + "} on the sites that keep "
            "theirs, then import again",
        )
    return ("tls",)


def run_show(ctx: Context, args: argparse.Namespace) -> ExitStatus:
    spec = load_spec(ctx.paths.spec)  # an invalid stack.yaml is refused here as by every other command
    certificates = certificate_rows(ctx.paths, spec, spec.site(args.site) if args.site else None)
    if args.json:
        ctx.out.write(json.dumps({"certificates": certificates}, indent=2) + "\n")
        return ExitStatus.OK
    from rich.table import Table

    for data in certificates:
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="bold")
        grid.add_column(overflow="fold")
        grid.add_row("names", ", ".join(data["names"]))
        if data["serial"] is None:
            create = "certs import FILE" if data["source"] == "import" else "certs create"
            grid.add_row("certificate", f"[red]none yet[/red]: run `stackctl up` or `stackctl {create}`")
        else:
            _certificate_rows(grid, data)
        ctx.console.print(
            f"[bold]{data['domain']}[/bold]" + ("" if data.get("in_stack_yaml", True) else " (no longer in stack.yaml)")
        )
        ctx.console.print(grid)
    return ExitStatus.OK


def _certificate_rows(grid: Any, data: dict[str, Any]) -> None:
    due = f"[red]renewal due: {data['due_reason']}[/red]" if data["due"] else "[green]not due[/green]"
    grid.add_row("source", f"{data['source']} ({data['key_type']})")
    grid.add_row("issuer", data["issuer"])
    grid.add_row("serial", data["serial"])
    grid.add_row("valid", f"{data['not_before'][:10]} to {data['not_after'][:10]} ({data['days_left']} days left)")
    grid.add_row("renew from", f"{data['renew_after'][:10]} ({due})")
    grid.add_row("sha-256", data["fingerprint_sha256"])
    grid.add_row("path", data["path"])
    last = data["last_renewal"]
    if last:
        grid.add_row(
            "last renewal",
            f"{last.get('time')}: {last.get('result')} via {last.get('path')} in {last.get('duration_s')}s",
        )


def run_renew(ctx: Context, args: argparse.Namespace) -> ExitStatus:
    return _each_site(ctx, args, lambda c, spec, site: _renew(c, spec, site, args))


def _renew(ctx: Context, spec: StackSpec, site: Site, args: argparse.Namespace) -> None:
    renewal = renew(ctx.paths, spec, site, args.force, ctx.edge, ctx.warn)
    before = renewal.before
    if renewal.served_again is not None:
        again = renewal.served_again
        ctx.say(
            f"{site.domain}: an edge node served an older certificate; serial {again.new_serial} is served again "
            f"via {HOW_SERVED.get(again.path, again.path)}."
        )
        if again.note is not None:
            ctx.warn(again.note)
    if renewal.replaced is None:
        if not args.if_due:
            assert before is not None
            ctx.say(
                f"Not due: the certificate for {site.domain} expires on {long_date(before.not_after)}; "
                f"renewal is due from {long_date(before.renew_after)}."
            )
        return
    _say_replaced(ctx, renewal.replaced)
    new = renewal.after
    assert new is not None
    if before is not None:
        ctx.say(f"Renewed the certificate for {site.domain}: serial {before.serial_hex} -> {new.serial_hex}.")
    _describe_new(ctx, site.domain, new, "Issued")
