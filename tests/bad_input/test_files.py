"""Bad files: YAML that PyYAML cannot survive, special files where a file should be (a FIFO never
blocks), files past their size cap, a --dir that is a file."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.bad_input.conftest import DOMAIN, Folder, make_fifo
from tests.helpers import hash_tree

GOOD = f"domain: {DOMAIN}\n"

BAD_YAML: list[tuple[str, bytes, str]] = [
    ("duplicate key", f"domain: {DOMAIN}\ndomain: other.example.com\n".encode(), "duplicate key"),
    ("nested 5000 deep", b"domain: " + b"[" * 5000 + b"]" * 5000 + b"\n", "nested more than"),
    ("nested mappings 100 deep", b"".join(b"  " * i + b"k:\n" for i in range(100)), "nested more than"),
    ("list as key", f"domain: {DOMAIN}\n? [1, 2]\n: x\n".encode(), "list or mapping"),
    ("mapping as key", f"domain: {DOMAIN}\n{{a: 1}}: x\n".encode(), "list or mapping"),
    ("NUL byte", f"domain: {DOMAIN}\x00\n".encode(), "character YAML does not allow"),
    ("invalid UTF-8", b"domain: photos.ex\xffample.com\n", "not UTF-8"),
    ("tab indentation", f"ports:\n\thttp: 80\ndomain: {DOMAIN}\n".encode(), "invalid YAML"),
    ("unclosed quote", b'domain: "photos.example.com\n', "invalid YAML"),
    ("unclosed flow", b"domain: [photos.example.com\n", "invalid YAML"),
    ("two documents", f"domain: {DOMAIN}\n---\ndomain: {DOMAIN}\n".encode(), "invalid YAML"),
    ("python tag", b"domain: !!python/object/apply:os.system ['true']\n", "invalid YAML"),
    ("unknown tag", b"domain: !secret photos.example.com\n", "invalid YAML"),
    ("billion laughs", b"a: &a [x, x, x, x, x, x, x, x, x]\n"
     + b"".join(f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n".encode() for i in range(9))
     + f"domain: {DOMAIN}\n".encode(), "unknown key"),
    ("more than 100000 values", b"aliases: [" + b",".join(b"a" for _ in range(100_001)) + b"]\n",
     "more than 100000 values"),
    ("a list at the top", b"- domain: photos.example.com\n", "must be a mapping"),
    ("a string at the top", b"photos.example.com\n", "must be a mapping"),
    ("empty file", b"", "domain: is required"),
    ("only a comment", b"# nothing here\n", "domain: is required"),
    ("bad date", f"domain: {DOMAIN}\nwhen: 2026-13-45\n".encode(), "cannot be read"),
    ("1.1 MiB", GOOD.encode() + b"#" * (1100 * 1024) + b"\n", "more than the limit"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "fragment"), [c[1:] for c in BAD_YAML], ids=[c[0] for c in BAD_YAML])
def test_stack_yaml_that_cannot_be_parsed_is_one_line(folder: Folder, text: bytes, fragment: str) -> None:
    (folder.root / "stack.yaml").write_bytes(text)
    folder.refuses("render", fragment=fragment)


def _fifo(path: Path) -> None:
    make_fifo(path)


def _dev_zero(path: Path) -> None:
    path.symlink_to("/dev/zero")


def _folder(path: Path) -> None:
    path.mkdir()


def _dangling(path: Path) -> None:
    path.symlink_to(path.parent / "nowhere")


def _loop(path: Path) -> None:
    path.symlink_to(path)


def _socket(path: Path) -> None:
    import socket

    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(path))
    sock.close()


SPECIAL: list[tuple[str, Callable[[Path], None], str]] = [
    ("fifo", _fifo, "FIFO"),
    ("dev-zero", _dev_zero, "character device"),
    ("folder", _folder, "folder"),
    ("dangling-symlink", _dangling, "no such file"),
    ("symlink-loop", _loop, "cannot be read"),
    ("socket", _socket, "not a regular file"),
]


@pytest.mark.parametrize(("make", "fragment"), [s[1:] for s in SPECIAL], ids=[s[0] for s in SPECIAL])
def test_stack_yaml_that_is_not_a_regular_file_is_refused_without_blocking(
    folder: Folder, make: Callable[[Path], None], fragment: str
) -> None:
    spec = folder.root / "stack.yaml"
    spec.unlink()
    make(spec)
    folder.refuses("render", fragment=fragment)


@pytest.mark.parametrize(("make", "fragment"), [s[1:] for s in SPECIAL[:3]], ids=[s[0] for s in SPECIAL[:3]])
@pytest.mark.parametrize("secret", ["photoprism.env", "haproxy.env"])
def test_a_secret_file_that_is_not_a_regular_file_is_refused(
    folder: Folder, make: Callable[[Path], None], fragment: str, secret: str
) -> None:
    path = folder.root / "secrets" / secret
    path.unlink()
    make(path)
    folder.refuses("render", fragment=fragment)


@pytest.mark.parametrize(("make", "fragment"), [s[1:] for s in SPECIAL[:4]], ids=[s[0] for s in SPECIAL[:4]])
@pytest.mark.parametrize("slot", ["CERT", "--key", "--chain", "--password-file"])
def test_certs_import_refuses_special_files_without_blocking(
    folder: Folder, tmp_path: Path, make: Callable[[Path], None], fragment: str, slot: str
) -> None:
    from tests.helpers import self_signed_bundle

    good = tmp_path / "site.pem"
    good.write_bytes(self_signed_bundle([DOMAIN]))
    special = tmp_path / "special"
    make(special)
    argv = [str(special)] if slot == "CERT" else [str(good), slot, str(special)]
    folder.refuses("certs", "import", *argv, fragment=fragment)


@pytest.mark.parametrize("slot", ["CERT", "--key", "--password-file"])
def test_certs_import_refuses_oversized_files(folder: Folder, tmp_path: Path, slot: str) -> None:
    big = tmp_path / "big.pem"
    big.write_bytes(b"A" * (2 * 1024 * 1024))
    good = tmp_path / "site.pem"
    good.write_bytes(b"placeholder")
    argv = [str(big)] if slot == "CERT" else [str(good), slot, str(big)]
    if slot != "CERT":  # the certificate is read after the password; give a real one
        from tests.helpers import self_signed_bundle

        good.write_bytes(self_signed_bundle([DOMAIN]))
    folder.refuses("certs", "import", *argv, fragment="limit")


@pytest.mark.parametrize("command", [["verify"], ["up", "--timeout", "5"]])
@pytest.mark.parametrize(
    ("make", "fragment"),
    [(lambda p: None, "no such file"), (_fifo, "FIFO"), (_folder, "folder"),
     (lambda p: p.write_text("not a certificate\n"), "holds no PEM certificate")],
    ids=["missing", "fifo", "folder", "garbage"],
)  # fmt: skip
def test_a_bad_ca_file_is_named(
    folder: Folder, tmp_path: Path, command: list[str], make: Callable[[Path], None], fragment: str
) -> None:
    ca = tmp_path / "root.pem"
    make(ca)
    line = folder.refuses(*command, "--ca-file", str(ca), fragment=fragment)
    assert "--ca-file" in line


def test_dir_pointing_at_a_file_is_named(tmp_path: Path) -> None:
    from tests.bad_input.conftest import assert_refused
    from tests.helpers import run_cli

    target = tmp_path / "stack.yaml"
    target.write_text(GOOD)
    for command in (["render"], ["init", "--domain", DOMAIN], ["status"]):
        result = run_cli("--dir", str(target), *command)
        assert_refused(result, 2, "is a file, not a folder", [])
    assert target.read_text() == GOOD


def test_init_refuses_to_make_secrets_for_an_invalid_stack_yaml(folder: Folder) -> None:
    (folder.root / "secrets" / "haproxy.env").unlink()
    (folder.root / "stack.yaml").write_text(f"domain: {DOMAIN}\nports: {{bind: 127}}\n")
    folder.refuses("init", fragment="ports.bind")


def test_missing_stack_yaml_says_how_to_create_it(tmp_path: Path) -> None:
    from tests.bad_input.conftest import assert_refused
    from tests.helpers import run_cli

    os.mkdir(tmp_path / "empty")
    assert_refused(run_cli("--dir", str(tmp_path / "empty"), "render"), 2, "stackctl init", [])


@pytest.mark.skipif(os.geteuid() != 0, reason="switching to another user needs root")
@pytest.mark.parametrize("mode", [0o700, 0o711])
@pytest.mark.parametrize("command", [["render"], ["status"], ["certs", "show"], ["up"]])
def test_a_stack_folder_the_user_may_not_read_is_one_line(folder: Folder, mode: int, command: list[str]) -> None:
    """Run as nobody (setpriv), as a user without access to someone else's stack folder would."""
    import subprocess
    import sys

    folder.root.chmod(mode)
    folder.root.parent.chmod(0o755)
    (folder.root / "stack.yaml").chmod(0o600)
    before = hash_tree(folder.root)
    proc = subprocess.run(
        ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable, "-m", "stackctl",
         "--dir", str(folder.root), *command],
        capture_output=True, text=True, timeout=60, cwd="/",
    )  # fmt: skip
    from tests.bad_input.conftest import assert_refused
    from tests.helpers import CliResult

    assert_refused(CliResult(proc.returncode, proc.stdout, proc.stderr), 2, "permission denied", folder.secrets())
    assert hash_tree(folder.root) == before


@pytest.mark.parametrize("generated", ["compose/compose.yaml", "compose/haproxy/haproxy.cfg"])
@pytest.mark.parametrize("command", [["render"], ["plan"], ["render", "--check"]])
def test_a_fifo_where_a_generated_file_belongs_is_refused(folder: Folder, generated: str, command: list[str]) -> None:
    path = folder.root / generated
    path.parent.mkdir(parents=True, exist_ok=True)
    make_fifo(path)
    folder.refuses(*command, fragment="FIFO")
