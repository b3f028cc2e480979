"""Command-line errors come out in our one-line form with exit 2: argparse's own, bad numbers,
options that contradict each other."""

from __future__ import annotations

from pathlib import Path

import pytest

from stackctl.config.spec import load_spec
from tests.bad_input.conftest import Folder
from tests.helpers import run_cli

BAD_ARGV: list[tuple[list[str], str]] = [
    (["frobnicate"], "invalid choice"),
    ([], "required"),
    (["--bogus", "render"], "unrecognized arguments"),
    (["render", "--bogus"], "unrecognized arguments"),
    (["render", "extra"], "unrecognized arguments"),
    (["certs"], "required"),
    (["certs", "frob"], "invalid choice"),
    (["certs", "import"], "the following arguments are required: cert"),
    (["certs", "import", "a.pem", "--key"], "expected one argument"),
    (["up", "--timeout"], "expected one argument"),
    (["up", "--timeout", "-5"], "from 1 to 86400"),
    (["up", "--timeout", "nan"], "from 1 to 86400"),
    (["up", "--timeout", "inf"], "from 1 to 86400"),
    (["up", "--timeout", "0"], "from 1 to 86400"),
    (["up", "--timeout", "5s"], "must be a number of seconds"),
    (["up", "--timeout", "1e9"], "from 1 to 86400"),
    (["up", "--no-verify", "--ca-file", "root.pem"], "not allowed with"),
    (["status", "--watch", "--interval", "-1"], "from 0.5 to 3600"),
    (["status", "--watch", "--interval", "nan"], "from 0.5 to 3600"),
    (["status", "--watch", "--interval", "0.1"], "from 0.5 to 3600"),
    (["status", "--watch", "--interval", "x"], "must be a number of seconds"),
    (["status", "--watch", "--json"], "not allowed with"),
    (["status", "--interval", "5"], "--interval needs --watch"),
    (["certs", "renew", "--force", "--if-due"], "not allowed with"),
    (["init", "--domain", "photos.example.com\n.if"], "--domain"),
    (["init", "--domain", "*.example.com"], "--domain"),
    (["init", "--domain", "127.0.0.1"], "--domain"),
    (["init", "--domain", ""], "--domain"),
    (["init", "--domain", "photos.example.com:443"], "--domain"),
    (["down", "--volumes", "yes"], "unrecognized arguments"),
    (["verify", "--json", "--json", "x"], "unrecognized arguments"),
    (["guard"], "required"),
    (["guard", "unban"], "the following arguments are required: address"),
    (["guard", "unban", "10.0.0.300"], "is not an IP address"),
    (["guard", "unban", "10.0.0.3\n"], "is not an IP address"),
    (["guard", "unban", "10.0.0.0/24"], "is not an IP address"),
    (["guard", "unban", " 10.0.0.3"], "is not an IP address"),
]


@pytest.mark.parametrize(("argv", "fragment"), BAD_ARGV, ids=[" ".join(a) or "nothing" for a, _ in BAD_ARGV])
def test_bad_command_line_is_one_line_and_exit_2(folder: Folder, argv: list[str], fragment: str) -> None:
    line = folder.refuses(*argv, fragment=fragment)
    assert "usage:" not in line
    assert "--help" in line or "--domain" in line or "needs --watch" in line


def test_help_still_goes_to_standard_output(folder: Folder) -> None:
    result = folder.cli("certs", "renew", "--help")
    assert result.code == 0 and "--if-due" in result.out and result.err == ""


def test_global_options_work_after_the_command_too(folder: Folder, tmp_path: Path) -> None:
    elsewhere = run_cli("render", "--check", "--dir", str(folder.root))
    before = run_cli("--dir", str(folder.root), "render", "--check")
    assert (elsewhere.code, elsewhere.out) == (before.code, before.out)
    nested = run_cli("certs", "show", "--json", "--dir", str(folder.root))
    assert nested.code == 0 and '"certificates"' in nested.out
    assert run_cli("render", "--dir", str(tmp_path / "none"), "--check").err.startswith("error: stack.yaml: not found")


def test_debug_shows_no_traceback_for_bad_input(folder: Folder) -> None:
    result = folder.cli("status", "--interval", "5", "--debug")
    assert result.code == 2 and "Traceback" not in result.err
    assert result.err.startswith("error: stackctl status: --interval needs --watch")


BAD_SITES: list[tuple[list[str], str]] = [
    (["add", "carol.example.com:8443"], "error: sites add: DOMAIN carol.example.com:8443: each label must hold"),
    (["add", "new.example.com", "--alias", "bad..example.com"], "error: sites add: --alias bad..example.com: "),
    (["add", "{domain}"], "error: sites add: DOMAIN {domain}: already served by the site {domain}"),
    (["rm", "nobody.example.com"], "error: sites rm: DOMAIN nobody.example.com: no such site in stack.yaml"),
]


@pytest.mark.parametrize(("argv", "start"), BAD_SITES, ids=["domain", "alias", "twice", "rm-unknown"])
def test_a_bad_sites_argument_is_named_as_the_argument_not_as_stack_yaml(
    folder: Folder, argv: list[str], start: str
) -> None:
    domain = load_spec(folder.root / "stack.yaml").first_site.domain
    line = folder.refuses("sites", *[a.format(domain=domain) for a in argv])
    assert line.startswith(start.format(domain=domain)) and "stack.yaml:" not in line
