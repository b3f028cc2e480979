"""stackctl sites [list] | add DOMAIN | rm DOMAIN: the sites of stack.yaml, edited with its comments kept.
The change reaches the running stack with `stackctl up`: new containers, then a hitless HAProxy reload."""

from __future__ import annotations

import argparse

from stackctl.commands import lazy

OPS = "stackctl.commands.sites_ops"


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sites = sub.add_parser("sites", help="list, add or remove the sites behind HAProxy")
    ssub = sites.add_subparsers(dest="sites_command", metavar="SUBCOMMAND")
    sites.add_argument("--json", action="store_true", help="print JSON")
    sites.set_defaults(handler=lazy(OPS, "run_list"))
    p = ssub.add_parser("list", help="list the sites (the default)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=lazy(OPS, "run_list"))
    p = ssub.add_parser("add", help="add a site: a PhotoPrism instance (the default) or another service")
    p.add_argument("domain", help="the site's name, e.g. media.example.com")
    p.add_argument("--alias", action="append", default=[], metavar="NAME", help="another name for it (repeatable)")
    app = p.add_mutually_exclusive_group()
    app.add_argument(
        "--upstream", metavar="URL", help="a service HAProxy reaches, e.g. http://host.docker.internal:8096"
    )
    app.add_argument("--image", help="a container image this stack runs for the site (with --port)")
    p.add_argument("--port", type=int, help="the port the --image app listens on")
    p.add_argument("--network", help="a Docker network of yours that HAProxy joins to reach the --upstream name")
    p.add_argument("--health", help="an HTTP path that answers 2xx/3xx when the app is up (default: a TCP check)")
    tls = p.add_mutually_exclusive_group()
    tls.add_argument("--ca-file", metavar="PEM", help="an https:// --upstream's CA (default: this host's trust store)")
    tls.add_argument("--no-verify", action="store_true", help="take any certificate from the https:// --upstream")
    p.set_defaults(handler=lazy(OPS, "run_add"))
    p = ssub.add_parser("rm", help="remove a site from stack.yaml; its data is kept")
    p.add_argument("domain")
    p.set_defaults(handler=lazy(OPS, "run_rm"))
