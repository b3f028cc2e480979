"""The bad-input suite: every case must give exit code 2 (or 1 where the input is fine but the
operation is impossible), exactly one `error: <what> — <what to do>` line, no traceback, no secret,
and leave the stack folder byte-identical."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from stackctl.config.secrets import parse_env_file
from tests.helpers import CliResult, hash_tree, run_cli

DOMAIN = "photos.example.com"


@dataclass
class Folder:
    root: Path

    def cli(self, *argv: str) -> CliResult:
        return run_cli("--dir", str(self.root), *argv)

    def secrets(self) -> list[str]:
        values: list[str] = []
        for env in sorted((self.root / "secrets").glob("*.env")):
            if stat.S_ISREG(env.lstat().st_mode):
                values += [v for v in parse_env_file(env.read_text()).values() if len(v) >= 8]
        return values

    def refuses(self, *argv: str, code: int = 2, fragment: str | None = None) -> str:
        """Run a command that must be refused; returns the error line after checking everything."""
        before = hash_tree(self.root)
        secrets = self.secrets()
        result = self.cli(*argv)
        assert_refused(result, code, fragment, secrets)
        assert hash_tree(self.root) == before, f"{argv} changed the stack folder"
        return result.err.strip()


def assert_refused(result: CliResult, code: int, fragment: str | None, secrets: list[str]) -> None:
    lines = result.err.strip().splitlines()
    assert result.code == code, f"exit {result.code}, expected {code}: {result.err}{result.out}"
    assert len(lines) == 1, result.err
    line = lines[0]
    assert line.startswith("error: "), line
    what, sep, hint = line[len("error: ") :].partition(" — ")
    assert sep and what.strip() and hint.strip(), f"no '— what to do' part: {line}"
    assert "Traceback" not in result.err + result.out
    assert "unexpected failure" not in line, line
    assert len(line) < 600, f"error line too long ({len(line)} chars)"
    for secret in secrets:
        assert secret not in result.err + result.out, "a secret was printed"
    assert "PRIVATE KEY" not in result.err + result.out
    if fragment is not None:
        assert fragment in line, line


@pytest.fixture
def folder(tmp_path: Path) -> Iterator[Folder]:
    root = tmp_path / "stack"
    assert run_cli("--dir", str(root), "init", "--domain", DOMAIN).code == 0
    yield Folder(root)


def make_fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path
