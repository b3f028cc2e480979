from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import run_cli


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true", help="rewrite tests/golden/ from the renderers")


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))


@pytest.fixture
def stack_dir(tmp_path: Path) -> Path:
    """An initialised stack folder for photos.example.com."""
    folder = tmp_path / "stack"
    folder.mkdir()
    result = run_cli("--dir", str(folder), "init", "--domain", "photos.example.com")
    assert result.code == 0, result.err
    return folder
