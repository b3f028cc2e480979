"""stackctl certs ca | create | import | show | renew: the implementations (certs_cmd registers them)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

from stackctl.certs.history import last_renewal
from stackctl.certs.inspect import CertInfo, cert_info
from stackctl.certs.manage import (
    current_is_usable,
    issued_from_import,
    obtain,
    read_password,
    reports,
    validate_files,
)
from stackctl.certs.store import CertStore
from stackctl.config.edit import edited_spec_text
from stackctl.core.clock import utcnow
from stackctl.core.errors import InvalidInput, OperationFailed
from stackctl.core.fsio import atomic_write

if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Callable

    from cryptography import x509

    from stackctl.certs.issuers import Issued
    from stackctl.commands.context import Context
    from stackctl.config.sites import Site
    from stackctl.config.spec import StackSpec
    from stackctl.flows.replace_certificate import Replaced


def _date(info_moment: object) -> str:
    import datetime as dt

    assert isinstance(info_moment, dt.datetime)
    return f"{info_moment:%-d %B %Y}"


def _describe_new(ctx: Context, store: CertStore, domain: str, info: CertInfo, verb: str) -> None:
    site = store.site_dir(domain)

    def rel(path: Path) -> Path:
        return path.relative_to(ctx.paths.root) if path.is_relative_to(ctx.paths.root) else path

    ctx.say(f"{verb} a new certificate valid for the following names:")
    for name in info.names:
        ctx.say(f' - "{name}"')
    ctx.say(f'The certificate is at "{rel(site / "cert.pem")}" and the key at "{rel(site / "key.pem")}".')
    ctx.say(f'HAProxy loads "{rel(store.bundle(domain))}".')
    days = info.days_left(utcnow())
    ctx.say(f"It expires on {_date(info.not_after)} (in {days} days); renewal is due from {_date(info.renew_after)}.")


def _replace(ctx: Context, spec: StackSpec, source: Callable[[], tuple[Issued, str]], reason: str) -> Replaced:
    """Write the new certificate and, on a running stack, serve it live and prove it is served."""
    from stackctl.flows.replace_certificate import replace_certificate

    replaced = replace_certificate(ctx.paths, spec, source, reason, ctx.edge)
    for note in replaced.issued.notes:
        ctx.say(note)
    if replaced.path != "disk":
        how = "the runtime API" if replaced.path == "runtime-api" else "a seamless reload"
        ctx.say(
            f"Serving the new certificate (serial {replaced.new_serial}) via {how}, "
            f"{replaced.duration_s:.2f}s after the start."
        )
    return replaced


def run_ca(ctx: Context, args: argparse.Namespace) -> int:
    store = CertStore(ctx.paths.certs)
    if not store.ca_cert.exists():
        raise OperationFailed(f"no local CA in {store.ca_cert.parent} yet", 'run "stackctl certs create" first')
    path = store.ca_cert.resolve()
    if args.path:
        ctx.say(str(path))
        return 0
    ctx.say(f"The local CA certificate is at {path}")
    ctx.say("Trust it on each device that opens PhotoPrism (the key stays in certs/ca/ca.key):")
    ctx.say(
        f"  Debian/Ubuntu: sudo cp {path} /usr/local/share/ca-certificates/stackctl.crt && sudo update-ca-certificates"
    )
    ctx.say(f"  Fedora/RHEL:   sudo cp {path} /etc/pki/ca-trust/source/anchors/stackctl.crt && sudo update-ca-trust")
    ctx.say(
        f"  macOS:         sudo security add-trusted-cert -d -r trustRoot -k /Library/Keychains/System.keychain {path}"
    )
    ctx.say(f"  Windows:       certutil -addstore -f ROOT {path.name}   (in an administrator prompt)")
    ctx.say("  Firefox:       Settings > Privacy & Security > Certificates > View Certificates > Authorities > Import")
    ctx.say("  Android/iOS:   copy the file to the device and install it as a CA certificate in the settings")
    return 0


def _views(spec: StackSpec, site: str | None) -> list[StackSpec]:
    """The stack as seen from the site --site names, or from each site in turn."""
    return [spec.site_view(spec.site(site))] if site else spec.site_views()


def _each_site(ctx: Context, args: argparse.Namespace, work: Callable[[Context, StackSpec], int]) -> int:
    """`work` for each site: one that fails does not stop the others; the exit code is the worst."""
    views = _views(ctx.load_spec(), args.site)
    if len(views) == 1:
        return work(ctx, views[0])
    failed: list[str] = []
    code = 0
    for view in views:
        try:
            code = max(code, work(ctx, view))
        except OperationFailed as e:
            ctx.warn(f"{view.domain}: {e.message}")
            failed.append(view.domain)
    if failed:
        raise OperationFailed(f"failed for {', '.join(failed)} (every other site is done)", "see the lines above")
    return code


def run_create(ctx: Context, args: argparse.Namespace) -> int:
    return _each_site(ctx, args, lambda c, view: _create(c, view, args))


def _create(ctx: Context, spec: StackSpec, args: argparse.Namespace) -> int:
    store = CertStore(ctx.paths.certs)
    now = utcnow()
    if args.staging:
        return _trial_issuance(ctx, spec, store)
    site = store.read_site(spec.domain)
    if site is not None and not args.force and current_is_usable(store, spec, now):
        ctx.say(
            f"A valid certificate for {spec.domain} exists (expires {_date(site.leaf.not_valid_after_utc)}); "
            "use --force to replace it."
        )
        return 0
    reason = "create --force" if args.force else "create"
    replaced = _replace(ctx, spec, lambda: obtain(store, spec, now, ctx.edge.issuer_for), reason)
    _describe_new(ctx, store, spec.domain, cert_info(replaced.issued.leaf), "Created")
    return 0


def _trial_issuance(ctx: Context, spec: StackSpec, store: CertStore) -> int:
    from stackctl.certs.acme.issuer import AcmeSession, staging_url

    if spec.tls.source != "acme":
        raise InvalidInput("--staging is for tls.source: acme", "set tls.source: acme and tls.acme.email first")
    url = staging_url(spec)
    ctx.say(f"Trial issuance for {', '.join(spec.names)} against {url} (nothing is stored or served)")
    issued = AcmeSession(spec, store, url).order()
    info = cert_info(issued.leaf)
    ctx.say(f"OK: {info.issuer} issued serial {info.serial_hex} for {', '.join(info.names)}.")
    ctx.say("DNS and port 80 work; production issuance should succeed (stackctl up or certs renew --force).")
    return 0


def run_import(ctx: Context, args: argparse.Namespace) -> int:
    stack = ctx.load_spec()
    if args.site is None and len(stack.sites) > 1:
        known = ", ".join(s.domain for s in stack.sites)
        raise InvalidInput("certs import needs --site DOMAIN: stack.yaml has several sites", f"one of {known}")
    site = stack.site(args.site) if args.site else stack.sites[0]
    spec = stack.site_view(site)
    password = read_password(args.password_file)
    files = [args.cert] + [p for p in (args.key, args.chain) if p is not None]
    valid = validate_files(spec, files, password, utcnow())
    # The edit is made and checked before anything is written, so a stack.yaml it cannot edit changes nothing.
    where = _tls_keys(stack, site)
    switched = None if spec.tls.source == "import" else edited_spec_text(ctx.paths.spec, (*where, "source"), "import")
    for warning in valid.warnings:
        ctx.warn(warning)
    _replace(ctx, spec, lambda: (issued_from_import(valid), "import"), "import")
    _describe_new(ctx, CertStore(ctx.paths.certs), spec.domain, cert_info(valid.leaf), "Imported")
    if switched is not None:
        atomic_write(ctx.paths.spec, switched[1], ctx.paths.spec.stat().st_mode & 0o777)
        ctx.say(f"stack.yaml now says {'.'.join(map(str, where))}.source: import.")
    return 0


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


def run_show(ctx: Context, args: argparse.Namespace) -> int:
    spec = ctx.load_spec()  # an invalid stack.yaml is refused here as by every other command
    store = CertStore(ctx.paths.certs)
    found = reports(store, utcnow())
    if args.site:
        found = [r for r in found if r.domain == spec.site(args.site).domain]
    certificates = [{**r.as_json(), "last_renewal": last_renewal(ctx.paths, r.domain)} for r in found]
    if args.json:
        ctx.out.write(json.dumps({"certificates": certificates}, indent=2) + "\n")
        return 0
    if not found:
        ctx.say('No certificates yet: run "stackctl certs create" or "stackctl certs import FILE".')
        return 0
    from rich.table import Table

    for report, data in zip(found, certificates, strict=True):
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="bold")
        grid.add_column(overflow="fold")
        due = "[red]renewal due[/red]" if data["due"] else "[green]not due[/green]"
        grid.add_row("names", ", ".join(data["names"]))
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
        ctx.console.print(f"[bold]{report.domain}[/bold]")
        ctx.console.print(grid)
    return 0


def _ari_suggestion(ctx: Context, spec: StackSpec, store: CertStore, leaf: x509.Certificate) -> dt.datetime | None:
    """ACME Renewal Information (RFC 9773): the CA may ask for an earlier renewal (e.g. a revocation)."""
    from cryptography.hazmat.primitives.serialization import Encoding

    from stackctl.certs.acme.issuer import AcmeSession
    from stackctl.core.errors import StackctlError

    try:
        return AcmeSession(spec, store).renewal_time(leaf.public_bytes(Encoding.PEM))
    except StackctlError as e:
        ctx.warn(f"could not ask the CA for renewal information: {e.message}")
        return None


def run_renew(ctx: Context, args: argparse.Namespace) -> int:
    return _each_site(ctx, args, lambda c, view: _renew(c, view, args))


def _renew(ctx: Context, spec: StackSpec, args: argparse.Namespace) -> int:
    from stackctl.certs.policy import Action, Current, decide, worth_asking_ari

    store = CertStore(ctx.paths.certs)
    now = utcnow()
    site = store.read_site(spec.domain)
    info = cert_info(site.leaf) if site else None
    current = Current(info, site.source) if site and info else None
    decision = decide(current, spec, now, force=args.force)
    if site is not None and worth_asking_ari(current, spec, decision):
        decision = decide(current, spec, now, _ari_suggestion(ctx, spec, store, site.leaf), args.force)
    if decision.action is Action.KEEP:
        if not args.if_due:
            assert info is not None
            ctx.say(
                f"Not due: the certificate for {spec.domain} expires on {_date(info.not_after)}; "
                f"renewal is due from {_date(info.renew_after)}."
            )
        return 0
    if decision.action is Action.IMPOSSIBLE:
        if info is None:
            raise InvalidInput("no imported certificate yet", "run: stackctl certs import FILE")
        raise OperationFailed(
            f"cannot renew the imported certificate for {spec.domain}: it expires on {_date(info.not_after)}"
            + (" and renewal is due" if decision.due else ""),
            "get a new one from its CA and run: stackctl certs import FILE",
        )
    replaced = _replace(ctx, spec, lambda: obtain(store, spec, now, ctx.edge.issuer_for), decision.reason)
    new = cert_info(replaced.issued.leaf)
    if info is not None:
        ctx.say(f"Renewed the certificate for {spec.domain}: serial {info.serial_hex} -> {new.serial_hex}.")
    _describe_new(ctx, store, spec.domain, new, "Issued")
    return 0
