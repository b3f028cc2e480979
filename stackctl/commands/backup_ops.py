"""stackctl backup / restore. The implementations (backup_cmd registers the arguments)."""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

from stackctl.commands.stack_ops import up_and_report
from stackctl.config.layout import StackPaths
from stackctl.config.spec import load_spec
from stackctl.core.errors import ExitStatus, InvalidInput
from stackctl.core.fsio import read_user_file, require_regular_file
from stackctl.flows.backup import BackupRequest, backup
from stackctl.flows.dumps import photoprism_sites
from stackctl.flows.restore import is_sealed, read_manifest, restore
from stackctl.flows.restore_site import restore_site

if TYPE_CHECKING:
    from stackctl.commands.context import Context

PASSPHRASE_MAX_BYTES = 4096


MIN_PASSPHRASE = 8


def _passphrase(path: Path | None, confirm: bool) -> bytes:
    """From a file (bounded, one trailing newline dropped) or a terminal prompt; never an argument."""
    hint = "give --passphrase-file F (a file only you can read), or run in a terminal to be asked"
    if path is not None:
        data = read_user_file(path, PASSPHRASE_MAX_BYTES, "--passphrase-file", hint).removesuffix(b"\n")
    elif sys.stdin.isatty():
        data = getpass.getpass("Passphrase: ").encode()
        if confirm and getpass.getpass("Again: ").encode() != data:
            raise InvalidInput("the two passphrases differ", "run the command again")
    else:
        raise InvalidInput("no passphrase: standard input is not a terminal", hint)
    if len(data) < MIN_PASSPHRASE:
        raise InvalidInput(f"the passphrase is shorter than {MIN_PASSPHRASE} characters", "use a longer one")
    return data


def _show_manifest(ctx: Context, manifest: dict[str, Any]) -> None:
    files = manifest["files"]
    size = sum(int(f.get("size", 0)) for f in files)
    ctx.say(f"stack {manifest.get('stack')} ({manifest.get('domain')}), written {manifest.get('created')} "
            f"by stackctl {manifest.get('stackctl')}")  # fmt: skip
    ctx.say(f"database: {manifest.get('database')}; originals included: {manifest.get('with_originals')}")
    held = manifest.get("sites")
    if isinstance(held, list):
        only = " (this site only)" if manifest.get("only_site") else ""
        ctx.say(f"PhotoPrism sites: {', '.join(str(s)[:80] for s in held) or 'none'}{only}")
    for service, image in sorted((manifest.get("images") or {}).items()):
        ctx.say(f"image {service}: {image.get('image')} {str(image.get('id') or '-')[:19]} {image.get('digest') or ''}")
    ctx.say(f"{len(files)} files, {size / 1e6:.1f} MB:")
    for f in files:
        ctx.say(f"  {int(f['mode']):04o} {int(f['size']):>12} {str(f['sha256'])[:16]}  {f['path']}")


def run_backup(ctx: Context, args: argparse.Namespace) -> ExitStatus:
    if args.list is not None:
        require_regular_file(args.list, "--list", "give a backup archive")
        sealed = is_sealed(args.list)
        _show_manifest(ctx, read_manifest(args.list, _passphrase(args.passphrase_file, False) if sealed else None))
        return ExitStatus.OK
    if args.no_encrypt and args.passphrase_file is not None:
        raise InvalidInput("--no-encrypt and --passphrase-file exclude each other", "choose one")
    spec = load_spec(ctx.paths.spec)
    if args.site is not None:
        photoprism_sites(spec, args.site)
    passphrase = None if args.no_encrypt else _passphrase(args.passphrase_file, True)
    if args.no_encrypt:
        ctx.warn("--no-encrypt: the archive holds the stack's private keys and passwords in plain form")
    return _run_backup(ctx, args, spec, passphrase)


def _run_backup(ctx: Context, args: argparse.Namespace, spec: Any, passphrase: bytes | None) -> ExitStatus:
    with Progress("backing up", BarColumn(), DownloadColumn(), TransferSpeedColumn(), console=ctx.console,
                  transient=True) as bar:  # fmt: skip
        task = bar.add_task("backup", total=None)
        request = BackupRequest(args.to, passphrase, args.with_originals, args.keep, args.site)
        result = backup(
            ctx.paths, spec, request, ctx.edge, lambda total: bar.update(task, total=total),
            lambda n: bar.advance(task, n),
        )  # fmt: skip
    rate = result.bytes_in / 1e6 / max(result.seconds, 0.001)
    ctx.say(f"Backed up {result.files} files ({result.bytes_in / 1e6:.1f} MB) to {result.path} "
            f"({result.size / 1e6:.1f} MB, {'encrypted' if result.encrypted else 'NOT encrypted'}) "
            f"in {result.seconds:.1f}s, {rate:.0f} MB/s")  # fmt: skip
    for old in result.pruned:
        ctx.say(f"removed the older archive {old}")
    return ExitStatus.OK


def run_restore(ctx: Context, args: argparse.Namespace) -> ExitStatus:
    require_regular_file(args.archive, "FILE", "give a backup archive written by stackctl backup")
    if args.site is not None:
        return _restore_site(ctx, args)
    passphrase = _passphrase(args.passphrase_file, False) if is_sealed(args.archive) else None
    root = (args.restore_dir or ctx.paths.root).absolute()
    moved = {name: path for name, path in (("originals", args.originals_to), ("storage", args.storage_to)) if path}
    for name, path in moved.items():
        if path.is_symlink() or (path.exists() and not path.is_dir()):
            raise InvalidInput(f"--{name}-to {path}: is not a folder", "give a folder; a missing one is created")
    restored = restore(args.archive, root, passphrase, args.force, ctx.edge, ctx.say, args.timeout, moved)
    ctx.say(f"Restored stack {restored.manifest.get('stack')} into {root} ({restored.seconds:.1f}s)")
    if args.no_up:
        ctx.say(f"Next: stackctl --dir {root} up")
        return ExitStatus.OK

    return up_and_report(ctx, StackPaths(root), args.timeout, True, None)


def _restore_site(ctx: Context, args: argparse.Namespace) -> ExitStatus:
    """One site of the running stack in --dir (restore's own, or the global one), put back from the
    archive while the others serve."""
    options = {"--originals-to": args.originals_to, "--storage-to": args.storage_to, "--no-up": args.no_up,
               "--force": args.force}  # fmt: skip
    given = [option for option, value in options.items() if value]
    if given:
        raise InvalidInput(
            f"--site restores into the running stack's own folders; {given[0]} does not apply",
            f"leave out {given[0]}, or restore the whole archive into a new folder (--dir) without --site",
        )
    paths = StackPaths((args.restore_dir or ctx.paths.root).absolute())
    spec = load_spec(paths.spec)
    refused = spec.capabilities.site_restore
    if refused is not None:
        raise InvalidInput(refused.rule, refused.hint)
    photoprism_sites(spec, args.site)
    passphrase = _passphrase(args.passphrase_file, False) if is_sealed(args.archive) else None
    done = restore_site(args.archive, paths, passphrase, args.site, ctx.edge, ctx.say, args.timeout)
    same = f", {done.unchanged} originals already in place" if done.unchanged else ""
    ctx.say(f"Restored {done.site.domain} from {args.archive.name}: {done.files} files{same} "
            f"({done.seconds:.1f}s); the other sites kept serving")  # fmt: skip
    return ExitStatus.OK
