"""stackctl secrets rotate {database|admin|stats} [--site D]; stackctl secrets show admin [--site D]."""

from __future__ import annotations

import argparse

from stackctl.commands import lazy
from stackctl.commands.argtypes import seconds

OPS = "stackctl.commands.secrets_ops"

HELP = """Change a PhotoPrism site's password on the running stack without a failed request.

database: MariaDB accepts the old and the new password while a new PhotoPrism container with the new
one starts beside the running one; HAProxy moves the site's requests over once it is healthy; the old
container stops; then MariaDB accepts only the new password. A failure before the move puts the old
password back everywhere (exit 1).

admin: PhotoPrism's own `photoprism passwd` sets it, a login through HTTPS proves it, and only then is
it written to secrets/; PhotoPrism's container is then replaced beside the old one, as above.

stats: haproxy.cfg holds the stats password's bcrypt hash, so a checked reload of the running HAProxy
changes it; the new password must log in and the old one must not, or both go back."""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("secrets", help="change the stack's generated passwords")
    actions = p.add_subparsers(dest="secrets_command", required=True, metavar="{rotate,show}")
    s = actions.add_parser("show", help="print a PhotoPrism site's admin password (it is never printed otherwise)")
    s.add_argument("secret", choices=["admin"], help="admin: the password of the site's PhotoPrism admin account")
    s.add_argument("--site", metavar="DOMAIN", help="the PhotoPrism site (needed when there are several)")
    s.set_defaults(handler=lazy(OPS, "run_show"))
    r = actions.add_parser(
        "rotate", help="change a password in the running service, then in secrets/",
        description=HELP, formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    r.add_argument(
        "secret",
        choices=["database", "admin", "stats"],
        help="database: a PhotoPrism site's MariaDB password; admin: its admin account's; stats: the stats page's",
    )
    r.add_argument("--site", metavar="DOMAIN", help="this PhotoPrism site only (default: each one in turn)")
    r.add_argument("--timeout", type=seconds(1, 86400), default=300.0, help="seconds it may take (default 300)")
    r.set_defaults(handler=lazy(OPS, "run_rotate"))
