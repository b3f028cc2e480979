"""stackctl certs ...: the arguments. The work is in certs_ops, imported only when a command runs."""

from __future__ import annotations

import argparse
from pathlib import Path

from stackctl.commands import lazy

OPS = "stackctl.commands.certs_ops"
RENEW_EXIT_CODES = """exit codes:
  0    renewed, or nothing was due
  1    renewal failed, or is due but impossible (an imported certificate): alert on this
  2    invalid input (stack.yaml, arguments)"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    certs = sub.add_parser("certs", help="create, import, show and renew certificates")
    csub = certs.add_subparsers(dest="certs_command", metavar="SUBCOMMAND", required=True)
    p = csub.add_parser("ca", help="print the local CA certificate's path and how to trust it")
    p.add_argument("--path", action="store_true", help="print only the path")
    p.set_defaults(handler=lazy(OPS, "run_ca"))
    p = csub.add_parser("create", help="issue a certificate from the configured source if none is valid")
    p.add_argument("--force", action="store_true", help="issue a new one even if the current one is valid")
    p.add_argument(
        "--staging",
        action="store_true",
        help="ACME only: a trial issuance against the staging directory (checks DNS and port 80; stores nothing)",
    )
    _site_option(p)
    p.set_defaults(handler=lazy(OPS, "run_create"))
    p = csub.add_parser("import", help="import a certificate (PEM, DER or PKCS#12) and its key")
    p.add_argument("cert", type=Path, help="certificate file; may also hold the key and chain, or be .p12/.pfx")
    p.add_argument("--key", type=Path, help="private key file, when not inside CERT")
    p.add_argument("--chain", type=Path, help="intermediate certificates, when not inside CERT")
    p.add_argument("--password-file", type=Path, help="file holding the password of the key or PKCS#12 file")
    _site_option(p, "the site the certificate is for (required when stack.yaml has several)")
    p.set_defaults(handler=lazy(OPS, "run_import"))
    p = csub.add_parser("show", help="list certificates: names, issuer, expiry, renewal date")
    p.add_argument("--json", action="store_true", help="print JSON")
    _site_option(p)
    p.set_defaults(handler=lazy(OPS, "run_show"))
    p = csub.add_parser(
        "renew",
        help="renew when due (a third of the lifetime left)",
        epilog=RENEW_EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    when = p.add_mutually_exclusive_group()
    when.add_argument("--force", action="store_true", help="renew even when not due")
    when.add_argument("--if-due", action="store_true", help="print nothing and exit 0 when nothing is due (for cron)")
    _site_option(p)
    p.set_defaults(handler=lazy(OPS, "run_renew"))


def _site_option(p: argparse.ArgumentParser, text: str = "only this site (default: every site)") -> None:
    p.add_argument("--site", metavar="DOMAIN", help=text)
