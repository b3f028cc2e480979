"""How the CLI ends a command that an edge breaks unexpectedly: one line and an exit code, never a
traceback (unless --debug). The faults are injected through Edges: an engine whose first use is
interrupted by Ctrl-C, fails with an OS error it did not translate, or with a bug."""

from __future__ import annotations

from pathlib import Path

import pytest

from stackctl.config.spec import StackSpec
from stackctl.engines.base import Engine
from stackctl.flows.edges import Edges
from tests.helpers import run_cli


def _raising(error: BaseException) -> Edges:
    def engine(spec: StackSpec) -> Engine:
        """Fake: the engine's first use raises `error` (a fault no real engine shows on demand)."""
        raise error

    return Edges(engine=engine)


@pytest.fixture
def stack(tmp_path: Path) -> Path:
    root = tmp_path / "stack"
    assert run_cli("--dir", str(root), "init", "--domain", "photos.example.com").code == 0
    return root


@pytest.mark.parametrize(
    ("error", "code", "line"),
    [
        (KeyboardInterrupt(), 130, "interrupted"),
        (PermissionError(13, "Permission denied", "/var/run/docker.sock"),
         1, "error: failed to access /var/run/docker.sock: Permission denied — check the stack folder's "
            "permissions, or run stackctl as its owner"),
        (RuntimeError("a bug"), 1, "error: unexpected failure (RuntimeError) — run again with --debug and report it"),
    ],
    ids=["ctrl-c", "os-error", "bug"],
)  # fmt: skip
def test_an_unexpected_failure_is_one_line_and_an_exit_code(
    stack: Path, error: BaseException, code: int, line: str
) -> None:
    result = run_cli("--dir", str(stack), "down", edges=_raising(error))
    assert (result.code, result.err) == (code, line + "\n")


def test_debug_adds_the_traceback_before_the_line(stack: Path) -> None:
    result = run_cli("--dir", str(stack), "--debug", "down", edges=_raising(RuntimeError("a bug")))
    assert result.code == 1 and result.err.startswith("Traceback (most recent call last):")
    assert result.err.rstrip().endswith("run again with --debug and report it")


def test_a_stopped_docker_engine_is_named_only_when_a_command_needs_it(
    stack: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path / 'docker.sock'}")  # nothing listens there
    assert run_cli("--dir", str(stack), "render").code == 0  # the engine renders without connecting
    result = run_cli("--dir", str(stack), "down")
    assert result.code == 1
    assert result.err.startswith(f"error: failed to connect to the Docker engine at unix://{tmp_path / 'docker.sock'}")
