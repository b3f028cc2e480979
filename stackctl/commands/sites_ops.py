"""stackctl sites [list] | add DOMAIN | rm DOMAIN: the sites of stack.yaml, edited with its comments kept.
The change reaches the running stack with `stackctl up`: new containers, then a hitless HAProxy reload.
The implementations (sites_cmd registers the arguments)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.table import Table

from stackctl.config import rules as rule
from stackctl.config.edit import with_site_added, with_site_removed
from stackctl.config.secrets import write_missing_site_secrets
from stackctl.config.spec import StackSpec, load_spec, read_spec_text, spec_from_data
from stackctl.core.errors import ExitStatus, InvalidInput, SpecError
from stackctl.core.fsio import atomic_write
from stackctl.core.yamlload import parse_yaml

if TYPE_CHECKING:
    from stackctl.commands.context import Context
    from stackctl.config.sites import Site


def _describe(site: Site) -> dict[str, Any]:
    up = site.upstream
    if up is None:
        target = "PhotoPrism"
    elif up.runs_container:
        target = f"{up.image} (port {up.port})"
    else:
        target = str(up.url)
    return {
        "domain": site.domain,
        "aliases": list(site.aliases),
        "kind": site.kind,
        "app": target,
        "service": site.service,
        "backend": site.backend,
        "tls": site.tls.source,
    }


def run_list(ctx: Context, args: argparse.Namespace) -> ExitStatus:
    spec = load_spec(ctx.paths.spec)
    rows = [_describe(site) for site in spec.sites]
    if args.json:
        ctx.out.write(json.dumps({"sites": rows}, indent=2) + "\n")
        return ExitStatus.OK

    table = Table(box=None, padding=(0, 2), pad_edge=False)
    for column in ("domain", "aliases", "app", "tls", "container"):
        table.add_column(column)
    for row in rows:
        container = f"{spec.name}-{row['service']}-1" if row["service"] else "-"
        table.add_row(row["domain"], ", ".join(row["aliases"]) or "-", row["app"], row["tls"], container)
    ctx.console.print(table)
    return ExitStatus.OK


def _new_site(args: argparse.Namespace) -> dict[str, Any]:
    site: dict[str, Any] = {"domain": args.domain}
    if args.alias:
        site["aliases"] = list(args.alias)
    if (args.port is not None) != (args.image is not None):
        raise InvalidInput("--image and --port go together", "give both, e.g. --image nginx:1.27 --port 80")
    upstream: dict[str, Any] = {}
    if args.network and not args.upstream:
        raise InvalidInput("--network goes with --upstream", "e.g. --upstream http://jellyfin:8096 --network media")
    if (args.ca_file or args.no_verify) and not (args.upstream or "").startswith("https://"):
        flag = "--ca-file" if args.ca_file else "--no-verify"
        raise InvalidInput(
            f"{flag} goes with an https:// --upstream", "e.g. --upstream https://nas:5001 --ca-file ca.pem"
        )
    if args.upstream:
        upstream["url"] = args.upstream
        if args.network:
            upstream["network"] = args.network
        if args.ca_file:  # stack.yaml's relative paths are the stack folder's, so it is written absolute
            upstream["ca_file"] = str(Path(args.ca_file).absolute())
        if args.no_verify:
            upstream["verify"] = False
    elif args.image:
        upstream.update(image=args.image, port=args.port)
    if args.health and not upstream:
        raise InvalidInput("--health is for an --upstream or --image site", "PhotoPrism sites have their own check")
    if args.health:
        upstream["health"] = args.health
    if upstream:
        site["upstream"] = upstream
    else:
        site["photoprism"] = {}
    return site


def _checked_names(spec: StackSpec, args: argparse.Namespace) -> None:
    """DOMAIN and each --alias, refused by the argument that carries them, before stack.yaml is edited."""
    given = [("DOMAIN", args.domain, rule.hostname), *(("--alias", a, rule.alias) for a in args.alias or [])]
    for what, value, check in given:
        try:
            name = check(what, value)
        except SpecError as e:
            hint = "give a DNS name such as photos.example.com"
            raise InvalidInput(f"sites add: {what} {value}: {e.rule}", hint) from None
        owner = next((s.domain for s in spec.sites if name in s.names), None)
        if owner is not None:
            raise InvalidInput(
                f"sites add: {what} {value}: already served by the site {owner}", "give a name no site serves yet"
            )


def run_add(ctx: Context, args: argparse.Namespace) -> ExitStatus:
    _checked_names(load_spec(ctx.paths.spec), args)
    text = read_spec_text(ctx.paths.spec)
    new_text = with_site_added(text, _new_site(args), ctx.paths.spec.name)  # checked by the strict parser
    spec = spec_from_data(parse_yaml(new_text, ctx.paths.spec.name))
    site = spec.sites[-1]
    atomic_write(ctx.paths.spec, new_text, ctx.paths.spec.stat().st_mode & 0o777)
    ctx.say(f"Added {site.domain} ({_describe(site)['app']}) to stack.yaml.")
    for path in write_missing_site_secrets(ctx.paths.root, spec):
        ctx.say(f"Created {path} (0600)")
    ctx.say('Next: "stackctl up" creates what is new and reloads HAProxy without dropping a request.')
    return ExitStatus.OK


def run_rm(ctx: Context, args: argparse.Namespace) -> ExitStatus:
    spec = load_spec(ctx.paths.spec)
    site = spec.site(args.domain, given_as="sites rm: DOMAIN")
    if site.legacy:
        raise InvalidInput(
            f"{site.domain} is the stack's top-level site (domain: in stack.yaml), not one of sites:",
            "change domain: by hand, or run stackctl down to stop the whole stack",
        )
    if len(spec.sites) == 1:
        raise InvalidInput(f"{site.domain} is the only site", "a stack needs one; stop it with stackctl down")
    listed = [s for s in spec.sites if not s.legacy]
    new_text = with_site_removed(read_spec_text(ctx.paths.spec), listed.index(site), ctx.paths.spec.name)
    atomic_write(ctx.paths.spec, new_text, ctx.paths.spec.stat().st_mode & 0o777)
    ctx.say(f"Removed {site.domain} from stack.yaml. Its data is kept:")
    if site.photoprism is not None:
        pp = site.photoprism
        ctx.say(f"  originals: {pp.originals}   storage: {pp.storage}   passwords: {site.secrets_file}")
        if spec.database.kind == "mariadb":
            ctx.say(f"  database {site.database_name} on the stack's MariaDB ({spec.database.path})")
    elif site.upstream is not None and site.upstream.volumes:
        ctx.say("  " + "   ".join(source for source, _, _ in site.upstream.volumes))
    else:
        ctx.say("  (stackctl held none for it)")
    if site.service:
        ctx.say(
            f'Next: "stackctl up" stops and removes its container {spec.name}-{site.service}-1 and reloads HAProxy.'
        )
    else:
        ctx.say('Next: "stackctl up" reloads HAProxy without it.')
    return ExitStatus.OK
