"""stackctl backup / restore."""

from __future__ import annotations

import argparse
from pathlib import Path

from stackctl.commands import lazy
from stackctl.commands.argtypes import seconds

OPS = "stackctl.commands.backup_ops"


def _count(text: str) -> int:
    if not text.isdigit() or not text.isascii() or not 1 <= int(text) <= 10000:
        raise argparse.ArgumentTypeError(f"must be a whole number from 1 to 10000, got {text[:20]!r}")
    return int(text)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("backup", help="write the whole stack (config, keys, secrets, database) to one encrypted file")
    p.add_argument("--to", type=Path, help="the archive file, or a folder for it (default: backups/)")
    p.add_argument("--with-originals", action="store_true", help="include the originals (your photos)")
    p.add_argument("--passphrase-file", type=Path, help="read the passphrase from this file (default: ask)")
    p.add_argument("--no-encrypt", action="store_true", help="write a plain .tar.gz (the keys inside are readable)")
    p.add_argument("--keep", type=_count, help="keep only the newest N archives of this stack in the target folder")
    p.add_argument("--list", type=Path, metavar="FILE", help="show an archive's manifest; restore nothing")
    p.add_argument("--site", metavar="DOMAIN", help="one PhotoPrism site's database and files (default: every site)")
    p.set_defaults(handler=lazy(OPS, "run_backup"))
    p = sub.add_parser("restore", help="rebuild a stack from a backup archive, then bring it up")
    p.add_argument("archive", type=Path, metavar="FILE")
    p.add_argument("--dir", dest="restore_dir", type=Path, help="the folder to restore into (default: --dir)")
    p.add_argument("--passphrase-file", type=Path, help="read the passphrase from this file (default: ask)")
    p.add_argument("--force", action="store_true", help="restore over a folder that holds a stack (set aside first)")
    p.add_argument(
        "--originals-to",
        type=Path,
        metavar="DIR",
        help="restore the originals into DIR (stack.yaml is changed to point there)",
    )
    p.add_argument(
        "--storage-to",
        type=Path,
        metavar="DIR",
        help="restore PhotoPrism's storage folder into DIR (stack.yaml is changed to point there)",
    )
    p.add_argument(
        "--site", metavar="DOMAIN",
        help="put back this one PhotoPrism site of the running stack in --dir; the other sites keep serving",
    )  # fmt: skip
    p.add_argument("--no-up", action="store_true", help="restore the files and database only; print the up command")
    p.add_argument("--timeout", type=seconds(1, 86400), default=300.0, help="seconds for the database and up")
    p.set_defaults(handler=lazy(OPS, "run_restore"))
